"""The replay feed: a live-looking hourly stream drawn from songs held back from the catalogue.

Each hour draws the same tracks every time it is asked for (the random generator is seeded
by the partition key), so re-materializing an hour reproduces it exactly. An optional drift
knob shifts chosen features by a number of standard deviations from a given hour on, so a
demo can show the drift sensor at work; shifted values are clipped to their valid ranges.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from playlist_assets.lib.constants import PARTITION_KEY_FORMAT
from playlist_assets.lib.feeds.normalize import FeedBatch, normalize_tracks
from playlist_assets.lib.schema import AUDIO_FEATURES, UNIT_INTERVAL_FEATURES
from playlist_assets.lib.tracks_io import read_tracks_csv

REPLAY_SOURCE = "replay"

# Valid ranges (inclusive) that drifted values are clipped to; they sit inside the quality
# gate's bounds so injected drift never turns into quarantined rows.
FEATURE_RANGES: dict[str, tuple[float, float]] = {
    **dict.fromkeys(UNIT_INTERVAL_FEATURES, (0.0, 1.0)),
    "key": (0, 11),
    "loudness": (-60.0, 5.0),
    "mode": (0, 1),
    "tempo": (1.0, 249.0),
    "time_signature": (0, 7),
    "popularity": (0, 100),
}
DRIFTABLE: tuple[str, ...] = (*AUDIO_FEATURES, "popularity")


class ReplayError(ValueError):
    """The replay pool or the drift settings cannot be used."""


@dataclass(frozen=True)
class DriftSpec:
    """Shift ``features`` by ``strength`` pool standard deviations from hour ``start`` on."""

    features: tuple[str, ...] = ()
    start: datetime | None = None
    strength: float = 0.0

    def __post_init__(self) -> None:
        unknown = [f for f in self.features if f not in DRIFTABLE]
        if unknown:
            raise ReplayError(
                f"drift_features {unknown} are not audio features; choose from {list(DRIFTABLE)}"
            )

    @classmethod
    def parse(cls, features: Sequence[str], start: str | None, strength: float) -> DriftSpec:
        """From configuration: ``start`` is a partition key (``2026-11-25-13:00``) or ISO time."""
        when = parse_hour(start) if start else None
        return cls(features=tuple(features), start=when, strength=float(strength))

    def active(self, hour: datetime) -> bool:
        return (
            bool(self.features)
            and self.strength != 0
            and (self.start is None or hour >= self.start)
        )


def parse_hour(text: str) -> datetime:
    """A partition key or an ISO timestamp as a naive UTC hour."""
    try:
        return datetime.strptime(text, PARTITION_KEY_FORMAT)
    except ValueError:
        pass
    try:
        stamp = pd.Timestamp(text)
    except ValueError as exc:
        raise ReplayError(
            f"drift_start {text!r} is not a partition key like 2026-11-25-13:00"
        ) from exc
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def load_pool(path: str | Path, genres: Sequence[str] | None = None) -> pd.DataFrame:
    """The typed, de-duplicated pool the replay draws from (cached per file version)."""
    path = Path(path).expanduser().resolve()
    try:
        stat = path.stat()
    except OSError as exc:
        raise ReplayError(f"replay pool {path} cannot be read: {exc}") from exc
    pool = _load_pool_cached(str(path), stat.st_mtime_ns, stat.st_size)
    if genres:
        pool = pool[pool["track_genre"].isin(list(genres))]
    # A track listed under several genres is drawn as one of them: an hour never repeats a track.
    pool = pool.drop_duplicates(subset=["track_id"]).reset_index(drop=True)
    if pool.empty:
        raise ReplayError(
            f"replay pool {path} has no usable tracks"
            + (f" in the genres {', '.join(genres)}" if genres else "")
        )
    return pool


@lru_cache(maxsize=4)
def _load_pool_cached(path: str, _mtime_ns: int, _size: int) -> pd.DataFrame:
    batch = normalize_tracks(read_tracks_csv(path), path)
    pool = batch.tracks.dropna(subset=["track_id", "track_genre"])
    pool = pool.drop_duplicates(subset=["track_id", "track_genre"]).reset_index(drop=True)
    return pool


def partition_seed(partition_key: str) -> int:
    """A seed that depends only on the partition key (not on Python's hash randomisation)."""
    return int.from_bytes(hashlib.sha256(f"replay:{partition_key}".encode()).digest()[:8], "big")


def replay_hour(
    pool: pd.DataFrame,
    partition_key: str,
    hour: datetime,
    tracks_per_hour: int,
    drift: DriftSpec | None = None,
) -> FeedBatch:
    """The tracks that "arrived" in ``hour``: the same rows on every call."""
    if tracks_per_hour < 0:
        raise ReplayError(f"tracks_per_hour must be >= 0, got {tracks_per_hour}")
    rng = np.random.default_rng(partition_seed(partition_key))
    size = min(tracks_per_hour, len(pool))
    picked = np.sort(rng.choice(len(pool), size=size, replace=False))
    tracks = pool.iloc[picked].reset_index(drop=True)
    tracks["source"] = pd.Series([REPLAY_SOURCE] * len(tracks), dtype="string")
    notes = []
    if drift is not None and drift.active(hour):
        tracks = apply_drift(tracks, pool, drift)
        notes.append(f"drift: {', '.join(drift.features)} shifted by {drift.strength:+g} std")
    return FeedBatch(tracks=tracks, sources=[REPLAY_SOURCE], notes=notes)


def apply_drift(tracks: pd.DataFrame, pool: pd.DataFrame, drift: DriftSpec) -> pd.DataFrame:
    """Shift the drift features by ``strength`` pool standard deviations, clipped to range."""
    shifted = tracks.copy()
    for feature in drift.features:
        low, high = FEATURE_RANGES[feature]
        std = float(pool[feature].astype("float64").std(ddof=0)) or 1.0
        values = shifted[feature].astype("float64") + drift.strength * std
        values = values.clip(low, high)
        if pd.api.types.is_integer_dtype(shifted[feature].dtype):
            shifted[feature] = values.round().astype(shifted[feature].dtype)
        else:
            shifted[feature] = values.astype(shifted[feature].dtype)
    return shifted
