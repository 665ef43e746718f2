"""Request and response shapes (pydantic): validation of what comes in, ``/docs`` for the rest.

Answers are built as plain dictionaries and encoded once (``routes``); the response models here
document them in the OpenAPI schema without validating every answer a second time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from playlist_assets.api.config import DEFAULT_K, MAX_K, MAX_SEEDS, MAX_USER_CHARS
from playlist_assets.lib.recommend.names import DEFAULT_STRATEGY, STRATEGIES

Strategy = Literal[STRATEGIES]  # type: ignore[valid-type]


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
        413: "the body is over the size limit",
        422: "a field is invalid (the error names it)",
        429: "the key is over its rate limit (see Retry-After)",
        503: "no model loaded yet, or the warehouse is busy (see Retry-After)",
    }.items()
}
