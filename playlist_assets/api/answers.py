"""Building answers from a serving state: runs in a worker thread, never in the event loop.

One recommendation = ``Recommender.rank`` of the resolved seeds, in the state's ranking processes
(``pool``): the positions and scores that ``recommend`` would put in a DataFrame (building that
table was a fifth of a request at the sample); each song's JSON copied from the state's
pre-encoded songs (``SongColumns``); the request remembered for its feedback; the impression
appended. Everything a request reads comes from the one ``ServingState`` it was given.
"""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any

import numpy as np
import pandas as pd

from playlist_assets.api.auth import RequestInfo
from playlist_assets.api.errors import ApiError
from playlist_assets.api.feedback import RecentRequests, Served
from playlist_assets.api.hourly_log import HourlyLog, iso_ms, utc_now
from playlist_assets.api.metrics import ApiMetrics
from playlist_assets.api.schemas import RecommendationRequest
from playlist_assets.api.seeds import SeedTracks
from playlist_assets.api.state import ServingState
from playlist_assets.lib.recommend.recommender import NoUsableTracks
from playlist_assets.lib.schema import CONTINUOUS_FEATURES

log = logging.getLogger("playlist_assets.api")

SONG_FIELDS = {  # answer field -> songs table column, for GET /v1/songs/{id}
    "name": "track_name",
    "artist": "artists",
    "album": "album_name",
    "genre": "track_genre",
    "popularity": "popularity",
    "duration_ms": "duration_ms",
    "explicit": "explicit",
    "cluster": "cluster",
}


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def recommend(
    body: RecommendationRequest,
    seeds: SeedTracks,
    state: ServingState,
    arm: str,
    info: RequestInfo,
    impressions: HourlyLog | None,
    recent: RecentRequests,
    metrics: ApiMetrics,
) -> bytes:
    """The JSON answer to one recommendation request (raises ``ApiError`` for bad input)."""
    started = time.perf_counter()
    try:
        ranked = state.pool.rank(seeds.tracks, body.k, body.strategy, seeds.artists)
    except NoUsableTracks as exc:
        raise ApiError(422, "unknown_seeds", f"seeds: {exc}", "seeds") from None
    except ValueError as exc:
        raise ApiError(422, "invalid", f"strategy {body.strategy}: {exc}", "strategy") from None
    metrics.recommend_seconds.observe(time.perf_counter() - started)
    c, chosen = state.columns, ranked.chosen
    ids = c.ids[chosen].tolist()
    songs = [
        b'{"rank":%d,%s,"score":%s,"new":%s}'
        % (rank, c.fragment(position), _number(score), b"true" if new else b"false")
        for rank, position, score, new in zip(
            range(1, len(ids) + 1),
            chosen.tolist(),
            np.round(ranked.scores, 6).tolist(),
            c.new[chosen].tolist(),
            strict=True,
        )
    ]
    unknown = set(ranked.unknown)
    answer = {
        "request_id": info.request_id,
        "model_version": state.model_version,
        "classifier_version": state.classifier_version,
        "arm": arm,
        "strategy": body.strategy,
        "k": body.k,
        "index": state.index,
        "seeds": {
            "given": len(dict.fromkeys(seeds.tracks)),
            "unknown": ranked.unknown,
            "not_in_songs_base": [t for t in ranked.missing if t not in unknown],
        },
        "cold_start": ranked.cold_start,
        "note": ranked.note,
    }
    recent.remember(info.request_id, Served(tuple(ids), body.user, arm))
    if impressions is not None:
        _log_impression(impressions, metrics, body, state, arm, info, seeds.tracks, ids)
    return encode(answer)[:-1] + b',"songs":[' + b",".join(songs) + b"]}"


def _number(value: float) -> bytes:
    """A float as ``json.dumps`` writes it."""
    return (repr(value) if math.isfinite(value) else json.dumps(value)).encode()


def _log_impression(
    impressions: HourlyLog,
    metrics: ApiMetrics,
    body: RecommendationRequest,
    state: ServingState,
    arm: str,
    info: RequestInfo,
    seeds: list[str],
    ranked: list[str],
) -> None:
    moment = utc_now()
    record = {
        "request_id": info.request_id,
        "time": iso_ms(moment),
        "user": body.user,
        "key_id": info.key_id,
        "model_version": state.model_version,
        "strategy": body.strategy,
        "arm": arm,
        "k": body.k,
        "seeds": seeds,
        "ranked": ranked,
    }
    try:
        impressions.append(record, moment)
    except OSError as exc:  # the answer still goes out; the metric and the log say it was lost
        metrics.impression_errors.inc()
        log.error("impression %s not written: %s", info.request_id, exc)
    else:
        metrics.impressions.inc()


def song(state: ServingState, track_id: str) -> bytes | None:
    """One song of the served base as JSON, or None when the base does not hold it."""
    table = state.recommender.table
    position = table.position(track_id)
    if position < 0:
        return None
    row = table.songs.iloc[position]
    out: dict[str, Any] = {"id": track_id}
    for name, column in SONG_FIELDS.items():
        if column in row.index:
            out[name] = _plain(row[column])
    out["new"] = bool(state.columns.new[position])
    out["features"] = {c: _plain(row[c]) for c in CONTINUOUS_FEATURES if c in row.index}
    out["model_version"] = state.model_version
    return encode(out)


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: numpy types unwrapped, NaN and pandas' NA (a missing text) as null."""
    if hasattr(value, "item"):
        value = value.item()
    if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value
