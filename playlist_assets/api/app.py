"""The ASGI application: FastAPI routes behind one pure-ASGI middleware.

The middleware (cheaper than Starlette's ``BaseHTTPMiddleware``) gives each request its id
(answered as ``X-Request-ID``), refuses bodies over the size limit before they are read, and
after the answer records the metrics and writes the request's one structured log line::

    {"ts": ..., "level": "INFO", "event": "request", "request_id": ..., "method": "POST",
     "route": "/v1/recommendations", "status": 200, "key_id": "1a2b3c4d",
     "model_version": ..., "arm": "champion", "latency_ms": 4.2}

Never the key, never the body.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from playlist_assets.api import errors
from playlist_assets.api.auth import RequestInfo
from playlist_assets.api.metrics import ApiMetrics
from playlist_assets.api.routes import build_router
from playlist_assets.api.service import Service

log = logging.getLogger("playlist_assets.api")
request_log = logging.getLogger("playlist_assets.api.requests")


class BodyTooLarge(StarletteHTTPException):
    """Raised while reading a body past the limit (FastAPI lets HTTPExceptions through)."""


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, the message, and any ``fields`` given."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
        }
        fields = getattr(record, "fields", None)
        if fields:
            out.update(fields)
        else:
            out["message"] = record.getMessage()
        if record.exc_info and record.levelno >= logging.ERROR:
            out["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(out, ensure_ascii=False, default=str)


JsonLogFormatter.converter = time.gmtime  # type: ignore[assignment]


class ServiceMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        info = RequestInfo(request_id=uuid.uuid4().hex, started=time.perf_counter())
        scope["playlist_api"] = info
        status = 500
        limit = self.max_body_bytes
        seen = 0

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(413, f"the body is over the {limit}-byte limit")
            return message

        async def send_tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", info.request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        self.metrics.inflight.inc()
        try:
            if _declared_length(scope) > limit:
                await self._too_large(info, send_tagged)
            else:
                await self.app(scope, receive_limited, send_tagged)
        finally:
            self.metrics.inflight.dec()
            self._record(scope, info, status)

    async def _too_large(self, info: RequestInfo, send: Send) -> None:
        body = json.dumps(
            errors.error_body(
                "body_too_large",
                f"the body is over the {self.max_body_bytes}-byte limit",
                "body",
                info.request_id,
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope: Scope, info: RequestInfo, status: int) -> None:
        seconds = time.perf_counter() - info.started
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        self.metrics.requests.labels(template, scope["method"], str(status)).inc()
        self.metrics.latency.labels(template).observe(seconds)
        if request_log.isEnabledFor(logging.INFO):
            request_log.info(
                "request",
                extra={
                    "fields": {
                        "event": "request",
                        "request_id": info.request_id,
                        "method": scope["method"],
                        "route": template,
                        "status": status,
                        "key_id": info.key_id,
                        "model_version": info.model_version,
                        "arm": info.arm,
                        "latency_ms": round(seconds * 1000, 2),
                    }
                },
            )


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def create_app(service: Service) -> FastAPI:
    """The FastAPI app of ``service``; its lifespan starts and stops the watcher."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(
        title="playlist_assets recommendation API",
        version="1",
        description="Songs that continue a playlist, from the serving champion of the "
        "playlist_assets Dagster project. Keys: `Authorization: Bearer <key>` or `X-API-Key`.",
        lifespan=lifespan,
    )
    errors.install(app)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Any, exc: BodyTooLarge) -> Any:
        return errors.error_response(
            request, errors.ApiError(413, "body_too_large", str(exc.detail), "body")
        )

    app.include_router(build_router(service))
    app.state.service = service
    app.add_middleware(
        ServiceMiddleware, metrics=service.metrics, max_body_bytes=service.config.max_body_bytes
    )
    return app
