"""The feed's side tables: ``new_tracks_rejects`` and an empty ``new_tracks`` to start from.

``new_tracks`` itself is written by the DuckDB I/O manager; the rows a feed could not type go to
``new_tracks_rejects`` with the reason, in the columns every reject table shares plus the hour.
Storing an hour again replaces its rejects and forgets what was judged of it.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from playlist_assets.lib.quality import store
from playlist_assets.lib.quality.quarantine import QUARANTINE_COLUMNS, stamped

# The quality gate's quarantined_tracks columns, plus the hour the rows belong to.
REJECTS_TABLE_COLUMNS: tuple[str, ...] = (*QUARANTINE_COLUMNS, "partition_hour")


def store_feed_hours(
    conn: duckdb.DuckDBPyConnection,
    frame: pd.DataFrame,
    rejected: pd.DataFrame,
    start: datetime,
    end: datetime,
) -> None:
    """Keep the hours' rejects (replacing earlier ones) and make sure ``new_tracks`` exists.

    The hours' earlier quality verdicts are forgotten too: their data is being replaced, and the
    blocking check (or ``validated_songs``) judges the new data. dagster-duckdb skips writing an
    empty frame, so an empty first hour would leave downstream SQL without a table; the empty
    ``frame`` creates it with the same column types instead.
    """
    rows = stamped(rejected).loc[:, list(REJECTS_TABLE_COLUMNS)]
    rejects = store.FEED_REJECTS_TABLE
    conn.register("hour_tracks", frame.iloc[0:0])
    conn.register("hour_rejects", rows)
    conn.execute("create schema if not exists main")
    conn.execute(
        f"create table if not exists {store.NEW_TRACKS_TABLE} as select * from hour_tracks"
    )
    conn.execute(f"create table if not exists {rejects} as select * from hour_rejects limit 0")
    conn.execute(
        f"delete from {rejects} where partition_hour >= ? and partition_hour < ?", [start, end]
    )
    if len(rows):
        conn.execute(f"insert into {rejects} select * from hour_rejects")
    store.clear_hours(conn, start, end)
