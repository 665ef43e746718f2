"""Every error the API answers: JSON naming the field, a code and one line; never a traceback.

    {"error": {"code": "invalid", "field": "k", "message": "..."}, "request_id": "..."}

``ApiError`` is raised by handlers; FastAPI's validation errors, unknown routes and anything
unexpected are turned into the same shape by the handlers ``install`` registers.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("playlist_assets.api")


class ApiError(Exception):
    """An answer other than 2xx: status, machine-readable code, the field at fault, one line."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}
        self.details = details  # more for the client (a feedback batch's every rejection)


def error_body(
    code: str,
    message: str,
    field: str | None,
    request_id: str | None,
    details: dict[str, Any] | None = None,
) -> dict:
    error = {"code": code, "field": field, "message": message, **(details or {})}
    return {"error": error, "request_id": request_id}


def request_id_of(request: Request) -> str | None:
    info = request.scope.get("playlist_api")
    return getattr(info, "request_id", None)


def error_response(request: Request, error: ApiError) -> JSONResponse:
    return JSONResponse(
        error_body(error.code, error.message, error.field, request_id_of(request), error.details),
        status_code=error.status,
        headers=error.headers,
    )


def field_name(loc: tuple[Any, ...]) -> str:
    """``("body", "seeds", 3)`` -> ``seeds[3]``; the body itself -> ``body``."""
    parts = [p for p in loc if p not in ("body", "path", "query")]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def validation_message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "json_invalid":
        return "the body is not valid JSON"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of this request"
    return str(error.get("msg", "is invalid"))


def install(app: FastAPI) -> None:
    """Route every error through ``error_body``."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = tuple(first.get("loc", ()))
        field = "body" if first.get("type") == "json_invalid" else field_name(loc)
        message = f"{field}: {validation_message(first)}"
        return error_response(request, ApiError(422, "invalid", message, field))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if exc.status_code in (404, 405):
            message = f"{request.method} {request.url.path}: {message.lower()} (see /docs)"
        return error_response(request, ApiError(exc.status_code, code, message))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error: %s: %s", type(exc).__name__, exc, exc_info=exc)
        message = "internal error; the request id names it in the service log"
        return error_response(request, ApiError(500, "internal", message))
