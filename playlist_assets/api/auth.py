"""Who is calling, may they, and are they within their rate: one dependency per role.

Keys come as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. The service runs open
(no key asked, rate-limited per client address) only when it started on a loopback address with
no key in the key file and without ``--require-keys`` (what a proxy in front of it needs); even
then it refuses requests a proxy forwarded (``X-Forwarded-For``, ``Forwarded``). Once a key
exists every request needs one (a key created while the service runs takes effect at once, and
the service never goes back to open).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from playlist_assets.api.errors import ApiError
from playlist_assets.api.keys import ROLE_RANK, KeyChecker, KeyRecord
from playlist_assets.api.metrics import ApiMetrics
from playlist_assets.api.ratelimit import RateLimiter, retry_after_header

log = logging.getLogger("playlist_assets.api")

OPEN_KEY_ID = "open"


@dataclass
class RequestInfo:
    """What one request's log line, metrics and impression name; set as the request goes."""

    request_id: str
    started: float
    key_id: str | None = None
    model_version: str | None = None
    arm: str | None = None


@dataclass
class KeyUsage:
    requests: int = 0
    rate_limited: int = 0
    last_seen: float | None = None


@dataclass
class Guard:
    """Authentication, roles and rate limits of one service."""

    checker: KeyChecker
    limiter: RateLimiter
    key_checks: RateLimiter  # uncached (argon2) checks, process-wide
    metrics: ApiMetrics
    usage: dict[str, KeyUsage] = field(default_factory=dict)
    checking: dict[bytes, asyncio.Future] = field(default_factory=dict)  # sha256(key) -> check
    announced_keys: bool = False

    require_keys: bool = False  # keys even on loopback (--require-keys: behind a proxy)

    @property
    def enforced(self) -> bool:
        return self.require_keys or self.checker.ever_had_keys

    def require(self, role: str) -> Callable[[Request], Awaitable[KeyRecord | None]]:
        """A FastAPI dependency letting through keys of ``role`` or above."""

        async def dependency(request: Request) -> KeyRecord | None:
            return await self.admit(request, role)

        dependency.__name__ = f"require_{role}"
        return dependency

    async def admit(self, request: Request, role: str) -> KeyRecord | None:
        info: RequestInfo = request.scope["playlist_api"]
        self.checker.refresh()
        if not self.enforced:
            if _proxied(request):
                raise ApiError(
                    401,
                    "unauthenticated",
                    "this API runs without keys for this machine only, and the request came "
                    "through a proxy: create a key (playlist-assets api-keys create --role "
                    "client) and start it with --require-keys",
                    "authorization",
                    {"WWW-Authenticate": "Bearer"},
                )
            client = request.client.host if request.client else "unknown"
            self._limit(f"{OPEN_KEY_ID}:{client}", OPEN_KEY_ID)
            return None
        if not self.announced_keys and not self.require_keys:
            self.announced_keys = True
            log.warning("API keys are configured: every request needs a key from now on")
        token = _presented_key(request)
        if not token:
            raise ApiError(
                401,
                "unauthenticated",
                "no API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>' "
                "(playlist-assets api-keys create --role client)",
                "authorization",
                {"WWW-Authenticate": "Bearer"},
            )
        record = self.checker.cached(token)
        if record is False:
            record = await self._check(token)
        if record is None:
            raise ApiError(
                401,
                "unauthenticated",
                "unknown or revoked API key",
                "authorization",
                {"WWW-Authenticate": "Bearer"},
            )
        info.key_id = record.id
        if ROLE_RANK[record.role] < ROLE_RANK[role]:
            raise ApiError(
                403, "forbidden", f"key {record.id} has role {record.role}; this needs {role}"
            )
        self._limit(record.id, record.id)
        return record

    async def _check(self, token: str) -> KeyRecord | None:
        """The slow hash check, once per key however many requests bring it at the same time
        (an app opening 32 connections with one key pays one check, not 32)."""
        digest = hashlib.sha256(token.encode()).digest()
        pending = self.checking.get(digest)
        if pending is not None:
            return await asyncio.shield(pending)
        wait = self.key_checks.take("key-checks")
        if wait:
            raise ApiError(
                429,
                "rate_limited",
                "too many new keys to check at once; retry shortly",
                "authorization",
                {"Retry-After": retry_after_header(wait)},
            )
        future = asyncio.ensure_future(run_in_threadpool(self.checker.check, token))
        self.checking[digest] = future
        try:
            return await asyncio.shield(future)
        finally:
            if future.done():
                self.checking.pop(digest, None)
            else:
                future.add_done_callback(lambda _: self.checking.pop(digest, None))

    def _limit(self, bucket: str, key_id: str) -> None:
        usage = self.usage.setdefault(key_id, KeyUsage())
        usage.requests += 1
        usage.last_seen = time.time()
        wait = self.limiter.take(bucket)
        if wait:
            usage.rate_limited += 1
            self.metrics.rate_limited.labels(key_id).inc()
            raise ApiError(
                429,
                "rate_limited",
                f"over the rate limit of {self.limiter.rate:g} requests/s "
                f"(burst {self.limiter.burst}); retry after {wait:.2f} s",
                None,
                {"Retry-After": retry_after_header(wait)},
            )


def _proxied(request: Request) -> bool:
    """Did a proxy forward this request (so loopback says nothing about who sent it)?"""
    headers = request.headers
    return any(name in headers for name in ("x-forwarded-for", "forwarded", "x-real-ip"))


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key", "").strip() or None
