"""Request and response shapes (pydantic): validation of what comes in, ``/docs`` for the rest.

Answers are built as plain dictionaries and encoded once (``routes``); the response models here
document them in the OpenAPI schema without validating every answer a second time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from playlist_assets.api.config import (
    DEFAULT_K,
    MAX_FEEDBACK_EVENTS,
    MAX_K,
    MAX_SEEDS,
    MAX_USER_CHARS,
)
from playlist_assets.lib.feedback.contract import EVENTS
from playlist_assets.lib.recommend.names import DEFAULT_STRATEGY, STRATEGIES

Strategy = Literal[STRATEGIES]  # type: ignore[valid-type]
Event = Literal[EVENTS]  # type: ignore[valid-type]
MAX_ID_CHARS = 200


class RecommendationRequest(BaseModel):
    """Songs that continue a playlist given by its seeds."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"seeds": ["mpd:3", "spotify:track:4uLU6hMCjMI75M1A2tKUQC"], "k": 20}]
        },
    )

    seeds: list[str] = Field(
        min_length=1,
        max_length=MAX_SEEDS,
        description="Track ids, spotify:track: URIs or open.spotify.com track URLs; or mpd:<pid> "
        "(a playlist of the materialized playlists table) or a Spotify playlist URL (needs "
        "Spotify credentials in the service's environment).",
    )
    k: int = Field(DEFAULT_K, ge=1, le=MAX_K, description=f"songs to answer (1..{MAX_K})")
    strategy: Strategy = Field(DEFAULT_STRATEGY, description="ranking strategy")
    user: str | None = Field(
        None,
        max_length=MAX_USER_CHARS,
        description="the app's id of the listener (kept in the impressions log; decides the "
        "listener's arm when a challenger serves a share of traffic)",
    )


class FeedbackEvent(BaseModel):
    """What a listener did with one recommended song."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"request_id": "b6e5a507…", "track_id": "4uLU6hMCjMI75M1A2tKUQC", "event": "added"}
            ]
        },
    )

    request_id: str = Field(
        min_length=1, max_length=MAX_ID_CHARS, description="the recommendation's request_id"
    )
    track_id: str = Field(
        min_length=1,
        max_length=MAX_ID_CHARS,
        description="one of that answer's songs (id, spotify:track: URI or track URL)",
    )
    event: Event = Field(description="what the listener did")
    user: str | None = Field(
        None, max_length=MAX_USER_CHARS, description="the listener (default: the request's user)"
    )

    @field_validator("track_id")
    @classmethod
    def _bare_id(cls, value: str) -> str:
        from playlist_assets.lib.recommend.playlist_refs import normalize_track_id

        return normalize_track_id(value)


def feedback_body_schema() -> dict:
    """One event or a list of up to MAX_FEEDBACK_EVENTS (the route parses the body itself)."""
    event = FeedbackEvent.model_json_schema()
    batch = {"type": "array", "items": event, "minItems": 1, "maxItems": MAX_FEEDBACK_EVENTS}
    return {"anyOf": [event, batch]}


class FeedbackOutcome(BaseModel):
    request_id: str
    track_id: str
    event: str
    outcome: Literal["accepted", "duplicate"]


class FeedbackResponse(BaseModel):
    accepted: int = Field(description="events written to the feedback log")
    duplicates: int = Field(description="events already received (counted once)")
    events: list[FeedbackOutcome]


class Song(BaseModel):
    rank: int
    id: str
    name: str
    artist: str = Field(description="artists as the catalogue lists them, ';' between several")
    genre: str
    score: float
    new: bool = Field(description="landed in the hourly feed within the last 24 hours")


class Seeds(BaseModel):
    given: int = Field(description="distinct seed tracks")
    unknown: list[str] = Field(description="seeds in neither the songs base nor playlists data")
    not_in_songs_base: list[str] = Field(description="seeds known from playlists data only")


class RecommendationResponse(BaseModel):
    request_id: str
    model_version: str
    arm: str
    strategy: str
    k: int
    index: dict = Field(
        description="the songs base served: its size and the song_index / fresh_songs "
        "materializations it was loaded from"
    )
    seeds: Seeds
    cold_start: bool = Field(description="no seed is in the playlists data")
    note: str | None
    songs: list[Song]


class ErrorDetail(BaseModel):
    code: str
    field: str | None
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail
    request_id: str | None


ERROR_RESPONSES = {
    status: {"model": ErrorResponse, "description": what}
    for status, what in {
        401: "no key, or a key that is unknown or revoked",
        403: "the key's role may not do this",
        404: "not found: a song, or the request a feedback event names (not served recently)",
        413: "the body is over the size limit",
        422: "a field is invalid (the error names it)",
        429: "the key is over its rate limit (see Retry-After)",
        503: "no model loaded yet, or the warehouse is busy (see Retry-After)",
    }.items()
}
