"""The door's check as a tiny ASGI app for nginx's ``auth_request``, on a unix socket.

nginx sends, per request it is about to forward: ``X-Door-Route`` (the location's route name),
``X-Door-Client`` (``$remote_addr``), ``X-Door-Action`` (method and URI) and the client's
``Authorization``. The answer is 204 (with ``X-Door-User``/``X-Door-Role``), 401 (with the Basic
challenge) or 403 (``X-Door-Reason: forbidden|locked``, ``Retry-After`` when locked). Failed
logins are answered late (the throttle's delay) without holding a worker: ``asyncio.sleep``.
Every login, failure and refusal is one line of the audit log; passwords never are.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from pathlib import Path

from playlist_assets.lib.service.door import REALM, Door, UserStore

AUDIT_LOGGER = "playlist_assets.door"


class _IsoFormatter(logging.Formatter):
    """ISO 8601 local time with the offset as nginx writes it (2026-11-01T12:00:00+00:00)."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = datetime.fromtimestamp(record.created, timezone.utc).astimezone()
        return stamp.isoformat(timespec="seconds")


def audit_logger(path: Path) -> logging.Logger:
    """Lines ``<ISO time> door <event> user=... client=...`` appended to ``path``."""
    logger = logging.getLogger(AUDIT_LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(path)
    handler.setFormatter(_IsoFormatter("%(asctime)s door %(message)s"))
    logger.handlers[:] = [handler]
    return logger


def create_app(users_path: Path, audit_path: Path, door: Door | None = None):
    door = door or Door(UserStore(users_path))
    log = audit_logger(audit_path)

    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["path"] == "/health":
            await _answer(send, 200, [])
            return
        # In the event loop: a cached login takes microseconds, a new one one hash check
        # (~0.1 s); the throttle bounds how many a client can ask for.
        verdict = door.check(
            headers.get("x-door-route", ""),
            headers.get("x-door-client", "-"),
            headers.get("authorization"),
            headers.get("x-door-action", "-"),
        )
        if verdict.log:
            for line in verdict.log.splitlines():
                log.info(line)
        if verdict.delay_s:
            await asyncio.sleep(verdict.delay_s)
        extra = [(b"x-door-reason", verdict.reason.encode())]
        if verdict.user and verdict.status == 204:
            extra += [
                (b"x-door-user", verdict.user.encode()),
                (b"x-door-role", verdict.role.encode()),
            ]
        if verdict.status == 401:
            extra.append((b"www-authenticate", f'Basic realm="{REALM}", charset="UTF-8"'.encode()))
        if verdict.retry_after_s:
            extra.append((b"retry-after", str(verdict.retry_after_s).encode()))
        await _answer(send, verdict.status, extra)

    return app


async def _answer(send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def serve(socket_path: Path, users_path: Path, audit_path: Path) -> None:
    """Serve the check on ``socket_path`` until stopped (SIGTERM)."""
    import uvicorn

    socket_path.unlink(missing_ok=True)
    uvicorn.run(
        create_app(users_path, audit_path),
        uds=str(socket_path),
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
