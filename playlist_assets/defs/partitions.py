"""Partitions shared by the feed, its checks and drift monitoring, and the key <-> hour helpers.

The warehouse stores ``partition_hour`` as a naive UTC timestamp; these helpers are the one place
that turns a partition key into that hour and picks an hour's rows out of a multi-hour frame.
"""

from collections.abc import Sequence
from datetime import datetime

import dagster as dg
import pandas as pd

from playlist_assets import settings
from playlist_assets.lib.constants import PARTITION_KEY_FORMAT

# One partition = the tracks that arrived in that hour. The start is configuration so a user can
# backfill history (PLAYLIST_PARTITIONS_START); the default keeps existing keys valid.
hourly_partitions = dg.HourlyPartitionsDefinition(
    start_date=settings.partitions_start(), fmt=PARTITION_KEY_FORMAT
)

# A backfill runs up to 30 days of hours per run (new_tracks and feature_drift share it, so both
# go in the same runs): run start-up and model loading take seconds, an hour's work tens of
# milliseconds, and the DuckDB pool serializes the writes of parallel runs anyway.
BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=720)


def naive_utc(moment: datetime) -> datetime:
    """``moment`` as a naive UTC datetime, the form ``partition_hour`` is stored in."""
    return pd.Timestamp(moment).tz_convert("UTC").tz_localize(None).to_pydatetime()


def hour_window(key: str) -> tuple[datetime, datetime]:
    """(start, end) of the partition ``key`` as naive UTC datetimes."""
    window = hourly_partitions.time_window_for_partition_key(key)
    return naive_utc(window.start), naive_utc(window.end)


def partition_hours(keys: Sequence[str]) -> list[tuple[str, datetime, datetime]]:
    """(key, start, end) of every partition key, as naive UTC datetimes."""
    return [(key, *hour_window(key)) for key in keys]


def hour_key(hour: datetime | pd.Timestamp) -> str:
    """The partition key of a stored ``partition_hour``."""
    return pd.Timestamp(hour).strftime(PARTITION_KEY_FORMAT)


def split_by_partition(frame: pd.DataFrame, keys: Sequence[str]) -> list[tuple[str, pd.DataFrame]]:
    """One frame per partition key of a run, in key order; a one-key run keeps the whole frame.

    Rows are grouped by hour once: a year's backfill runs hundreds of hours per run.
    """
    if len(keys) == 1:
        return [(keys[0], frame)]
    if frame.empty or "partition_hour" not in frame.columns:
        return [(key, frame.iloc[0:0]) for key in keys]
    hours = pd.to_datetime(frame["partition_hour"]).dt.floor("h")
    groups = {hour_key(hour): rows for hour, rows in frame.groupby(hours, sort=False)}
    return [(key, groups.get(key, frame.iloc[0:0])) for key in keys]
