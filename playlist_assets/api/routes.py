"""The endpoints. Ranking, encoding and the impression run in the service's ranking threads;
seeds naming a playlist are read in the general thread pool (a slow Spotify never holds a ranking
thread); the event loop only admits, parses track ids, dispatches and sends.

Feedback (``POST /v1/feedback``, issue 23) is checked against the requests this process
remembers (``feedback``) and written in the general thread pool (a slow disk never holds the
event loop or a ranking thread).
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from playlist_assets.api import answers, feedback
from playlist_assets.api.config import MAX_FEEDBACK_EVENTS
from playlist_assets.api.errors import ApiError, field_name, validation_message
from playlist_assets.api.schemas import (
    ERROR_RESPONSES,
    FeedbackEvent,
    FeedbackResponse,
    RecommendationRequest,
    RecommendationResponse,
    feedback_body_schema,
)
from playlist_assets.api.seeds import names_playlists, resolve_seeds
from playlist_assets.api.service import Service
from playlist_assets.api.state import ServingState

NOT_READY_RETRY_S = 5


def _json(content: bytes, status: int = 200) -> Response:
    return Response(content=content, status_code=status, media_type="application/json")


def _serving(state: ServingState | None, service: Service) -> ServingState:
    if state is None:
        status = service.holder.status
        why = (
            "the recommender is loading"
            if status.loading or status.last_error is None
            else f"no recommender loaded ({status.last_error})"
        )
        raise ApiError(
            503,
            "not_ready",
            f"{why}; retry shortly (GET /readyz says when it serves)",
            headers={"Retry-After": str(NOT_READY_RETRY_S)},
        )
    return state


def build_router(service: Service) -> APIRouter:
    """Every route of one service (its guard decides who may call which).

    One function because FastAPI routes are closures over the service: the route table reads in
    one place, each handler a few lines that call the service."""
    router = APIRouter()
    client = Depends(service.guard.require("client"))
    admin = Depends(service.guard.require("admin"))

    @router.post(
        "/v1/recommendations",
        tags=["recommendations"],
        summary="Songs that continue a playlist",
        responses={200: {"model": RecommendationResponse}, **ERROR_RESPONSES},
        dependencies=[client],
    )
    async def recommendations(body: RecommendationRequest, request: Request) -> Response:
        info = request.scope["playlist_api"]
        arm, state = service.holder.state_for(body.user or info.key_id)
        state = _serving(state, service)
        info.model_version, info.arm = state.model_version, arm
        if names_playlists(body.seeds):  # the warehouse or Spotify: off the ranking threads
            seeds = await run_in_threadpool(resolve_seeds, body.seeds)
        else:
            seeds = resolve_seeds(body.seeds)
        with service.admit_ranking():
            content = await asyncio.get_running_loop().run_in_executor(
                service.executor,
                answers.recommend,
                body,
                seeds,
                state,
                arm,
                info,
                service.impressions,
                service.recent,
                service.metrics,
            )
        return _json(content)

    @router.post(
        "/v1/feedback",
        tags=["feedback"],
        summary="What listeners did with recommended songs",
        description="One event or a list of up to "
        f"{MAX_FEEDBACK_EVENTS}: each names a request this service answered recently and one of "
        "its songs. A batch is taken whole or not at all; a repeated event counts once.",
        responses={200: {"model": FeedbackResponse}, **ERROR_RESPONSES},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": feedback_body_schema()}},
            }
        },
        dependencies=[client],
    )
    async def feedback_events(request: Request) -> Response:
        events, batch = _feedback_events(await request.body())
        info = request.scope["playlist_api"]
        answer = await run_in_threadpool(
            feedback.take,
            events,
            batch,
            info.key_id,
            service.recent,
            service.feedback,
            service.metrics,
        )
        return JSONResponse(answer)

    @router.get(
        "/v1/songs/{track_id}",
        tags=["songs"],
        summary="One song of the served songs base",
        responses=ERROR_RESPONSES,
        dependencies=[client],
    )
    async def songs(track_id: str, request: Request) -> Response:
        from playlist_assets.lib.recommend.playlist_refs import (
            looks_like_track_id,
            normalize_track_id,
        )

        state = _serving(service.holder.champion, service)
        request.scope["playlist_api"].model_version = state.model_version
        wanted = normalize_track_id(track_id)
        if not looks_like_track_id(wanted):
            raise ApiError(422, "invalid", f"{track_id!r} is not a Spotify track id", "track_id")
        content = answers.song(state, wanted)
        if content is None:
            raise ApiError(
                404,
                "not_found",
                f"track {wanted} is not in the songs base served by {state.model_version}",
                "track_id",
            )
        return _json(content)

    @router.get("/healthz", tags=["operations"], summary="The process is up")
    async def healthz() -> dict:
        return {"status": "ok"}

    @router.get("/readyz", tags=["operations"], summary="A recommender is loaded and serving")
    async def readyz() -> JSONResponse:
        body = service.readiness()
        return JSONResponse(body, status_code=200 if body["ready"] else 503)

    @router.get("/metrics", tags=["operations"], summary="Prometheus metrics", dependencies=[admin])
    async def metrics() -> Response:
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @router.post(
        "/v1/admin/reload",
        tags=["admin"],
        summary="Load the serving state again now",
        status_code=202,
        dependencies=[admin],
    )
    async def reload() -> dict:
        service.holder.reload()
        current = service.holder.champion
        return {"reloading": True, "model_version": current.model_version if current else None}

    @router.get("/v1/admin/usage", tags=["admin"], summary="Requests per key", dependencies=[admin])
    async def usage() -> dict:
        return service.usage()

    return router


def _feedback_events(raw: bytes) -> tuple[list[FeedbackEvent], bool]:
    """The body's events (one object or a list) and whether it was a list; 422 naming the
    first bad field (``[i].event`` in a list)."""
    from pydantic import ValidationError

    try:
        payload = json.loads(raw)
    except ValueError:
        raise ApiError(422, "invalid", "body: the body is not valid JSON", "body") from None
    batch = isinstance(payload, list)
    items = payload if batch else [payload]
    if not items or len(items) > MAX_FEEDBACK_EVENTS:
        raise ApiError(
            422, "invalid", f"body: send 1..{MAX_FEEDBACK_EVENTS} events, got {len(items)}", "body"
        )
    events = []
    for i, item in enumerate(items):
        try:
            events.append(FeedbackEvent.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = field_name(tuple(first.get("loc", ())))
            where = (f"[{i}]" + ("" if where == "body" else f".{where}")) if batch else where
            message = f"{where}: {validation_message(first)}"
            raise ApiError(422, "invalid", message, where) from None
    return events, batch
