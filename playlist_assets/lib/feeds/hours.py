"""A run's hours of feed batches as the rows ``new_tracks`` and its rejects table store.

Each row carries ``partition_hour``, the start of the hour it arrived in (naive UTC), so a run
over a range of hours writes one frame and re-materializing an hour replaces exactly its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from playlist_assets.lib.feeds.normalize import FEED_COLUMNS, FeedBatch
from playlist_assets.lib.quality.quarantine import empty_hour_rejects
from playlist_assets.lib.schema import KAGGLE_COLUMNS, TIMESTAMP_DTYPE

# new_tracks' columns, in the order DuckDB stores them (inserts are positional).
NEW_TRACKS_COLUMNS: tuple[str, ...] = (*KAGGLE_COLUMNS, "partition_hour", "source")


def _hour_column(n: int, hour: datetime) -> pd.Series:
    return pd.Series([hour] * n, dtype=TIMESTAMP_DTYPE)


def with_partition_hour(batch: FeedBatch, hour: datetime) -> pd.DataFrame:
    """The batch's tracks as ``new_tracks`` rows of ``hour``."""
    frame = batch.tracks.loc[:, list(FEED_COLUMNS)].copy()
    frame["partition_hour"] = _hour_column(len(frame), hour)
    return frame.loc[:, list(NEW_TRACKS_COLUMNS)]


def hours_rows(batches: Sequence[tuple[datetime, FeedBatch]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(tracks, rejects) of a run's hours, given as ``(hour start, batch)`` in key order."""
    frames, rejects = [], []
    for start, batch in batches:
        frames.append(with_partition_hour(batch, start))
        if len(batch.rejects):
            rejected = batch.rejects.copy()
            rejected["partition_hour"] = _hour_column(len(rejected), start)
            rejects.append(rejected)
    frame = pd.concat(frames, ignore_index=True)
    rejected = pd.concat(rejects, ignore_index=True) if rejects else empty_hour_rejects()
    return frame, rejected
