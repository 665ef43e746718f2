"""The listeners' tables in the warehouse: impressions, feedback, their rejects, online metrics.

Every write replaces one hour (delete then insert, in one transaction), so re-materializing an
hour or backfilling a range never duplicates rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from playlist_assets.lib.quality.quarantine import QUARANTINE_SQL_TYPES, now_utc
from playlist_assets.lib.tables import table_exists

IMPRESSIONS_TABLE = "main.recommendation_impressions"
IMPRESSIONS_REJECTS_TABLE = "main.recommendation_impressions_rejects"
FEEDBACK_TABLE = "main.recommendation_feedback"
FEEDBACK_REJECTS_TABLE = "main.recommendation_feedback_rejects"
METRICS_TABLE = "main.online_metrics"
ARM_DIFFERENCE_TABLE = "main.online_arm_difference"
USER_COUNTS_TABLE = "main.online_user_counts"  # per listener: the A/B readout's units
FRESH_SONGS_TABLE = "main.fresh_songs"
# Feedback may come back this long after its impression (the API's lists stay on screens).
FEEDBACK_WINDOW = timedelta(hours=24)
# DuckDB for an hour's steps (load, checks, metrics): each query is a few hundred ms of work,
# where a second worker adds more CPU (waiting, merging) than it saves; and the checkpoint that
# closes the step does not merge earlier hours' row groups (an hour of impressions is ~72,000
# rows, 0.6 of a row group: every second hour's close then rewrote the tables' last groups,
# +0.5-0.9 CPU-s). Other steps' checkpoints still vacuum (a backfilled hour's deleted rows).
# And an hour's commit checkpoints at once: with the default threshold (16 MB) an hour of
# impressions went to the WAL first (~65 MB) and was written again by the checkpoint at close.
HOURLY_SETTINGS = {"threads": 1, "max_vacuum_tasks": 0, "checkpoint_threshold": "'1MB'"}
# What the feedback load staged on its connection and its check reuses (``keep_staged``): the
# impression each request answers, and the events already stored for an earlier hour.
SERVED, EARLIER = "_served_impressions", "_earlier_events"
_STAGED_HOUR = "_staged_hour"

_IMPRESSIONS_SQL = {
    "partition_hour": "TIMESTAMP",
    "request_id": "VARCHAR",
    "time": "TIMESTAMP",
    "user": "VARCHAR",
    "key_id": "VARCHAR",
    "model_version": "VARCHAR",
    "strategy": "VARCHAR",
    "arm": "VARCHAR",
    "k": "BIGINT",
    "seeds": "VARCHAR[]",
    "ranked": "VARCHAR[]",
    "source": "VARCHAR",
    "line": "BIGINT",
}
_FEEDBACK_SQL = {
    "partition_hour": "TIMESTAMP",
    "request_id": "VARCHAR",
    "track_id": "VARCHAR",
    "event": "VARCHAR",
    "time": "TIMESTAMP",
    "user": "VARCHAR",
    "key_id": "VARCHAR",
    "rank": "BIGINT",
    "arm": "VARCHAR",
    "model_version": "VARCHAR",
    "strategy": "VARCHAR",
    "source": "VARCHAR",
    "line": "BIGINT",
}
_REJECTS_SQL = {**QUARANTINE_SQL_TYPES, "partition_hour": "TIMESTAMP"}
TABLES: dict[str, dict[str, str]] = {
    IMPRESSIONS_TABLE: _IMPRESSIONS_SQL,
    IMPRESSIONS_REJECTS_TABLE: _REJECTS_SQL,
    FEEDBACK_TABLE: _FEEDBACK_SQL,
    FEEDBACK_REJECTS_TABLE: _REJECTS_SQL,
}


def for_an_hour(conn: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """``conn`` with ``HOURLY_SETTINGS``: database-wide settings, so for a connection opened for
    the step (they last as long as the database stays open in this process)."""
    for name, value in HOURLY_SETTINGS.items():
        conn.execute(f"set {name} = {value}")
    return conn


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("create schema if not exists main")
    for table, columns in TABLES.items():
        body = ", ".join(f'"{name}" {sql}' for name, sql in columns.items())
        conn.execute(f"create table if not exists {table} ({body})")


@contextmanager
def _transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The block's statements all committed, or none (an hour is replaced whole or not at all)."""
    conn.execute("begin transaction")
    try:
        yield
    except BaseException:
        conn.execute("rollback")
        raise
    conn.execute("commit")


@contextmanager
def replacing_hour(
    conn: duckdb.DuckDBPyConnection, start: datetime, end: datetime
) -> Iterator[Callable[..., int]]:
    """One transaction replacing the hour [start, end) of tables: yields ``replace(table,
    select, params=())``, which deletes the table's hour and inserts ``select``'s rows (by
    column name; none for None; a rejects table's rows stamped with ``quarantined_at`` here) and
    returns how many it inserted, so what comes next can depend on it."""
    ensure_tables(conn)
    now = now_utc().to_pydatetime()

    def replace(table: str, select: str | None, params: Sequence[object] = ()) -> int:
        conn.execute(
            f"delete from {table} where partition_hour >= ? and partition_hour < ?", [start, end]
        )
        if select is None:
            return 0
        stamp = ", ?::timestamp as quarantined_at" if "quarantined_at" in TABLES[table] else ""
        inserted = conn.execute(
            f"insert into {table} by name select *{stamp} from ({select})",
            [*params, now] if stamp else [*params],
        ).fetchone()
        return int(inserted[0]) if inserted else 0

    with _transaction(conn):
        yield replace


def stage_served(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    requests: str,
    since: datetime,
    until: datetime,
    columns: tuple[str, ...] = ("ranked",),
    requests_params: tuple[object, ...] = (),
) -> datetime | None:
    """Temp ``table``: ``request_id`` and ``columns`` of the impression each request of
    ``requests`` (a query of request ids, ``?`` for ``requests_params``) answers, stored for an
    hour in [since, until): the earliest such hour, one row if stored twice in it. Returns
    that first hour (None: no request found).

    The lists are read only from the hours that hold them; the dedupe (a window over every
    row) only runs when a request is stored twice in its hour (which its check blocks)."""
    hours = f"{table}_hours"
    conn.execute(
        f"""create or replace temp table {hours} as
        select request_id, min(partition_hour) as partition_hour from {IMPRESSIONS_TABLE}
        where partition_hour >= ? and partition_hour < ? and request_id in ({requests})
        group by request_id""",
        [since, until, *requests_params],
    )
    first, last, found = conn.execute(
        f"select min(partition_hour), max(partition_hour), count(*) from {hours}"
    ).fetchone()
    picked = ", ".join(f"i.{c}" for c in columns)
    served = f"""create or replace temp table {table} as
        select s.request_id, {picked} from {hours} s
        join {IMPRESSIONS_TABLE} i using (request_id, partition_hour)
        where i.partition_hour >= ? and i.partition_hour <= ?"""
    conn.execute(served, [first or since, last or since])
    if conn.execute(f"select count(*) from {table}").fetchone()[0] != found:
        once = "qualify row_number() over (partition by s.request_id) = 1"
        conn.execute(f"{served} {once}", [first or since, last or since])
    conn.execute(f"drop table {hours}")
    return first


def earlier_events_sql(served: str) -> str:
    """The distinct (request_id, track_id, event) stored for an hour in [$1, $2) whose request
    is in the temp table ``served``: the events an hour's feedback would repeat ($1: the first
    hour of the impressions answered, as an event is stored no earlier than its impression; $2:
    the hour's start)."""
    return f"""select distinct request_id, track_id, event from {FEEDBACK_TABLE}
        where partition_hour >= $1 and partition_hour < $2
          and request_id in (select request_id from {served})"""


def keep_staged(conn: duckdb.DuckDBPyConnection, start: datetime) -> None:
    """Mark ``SERVED`` and ``EARLIER`` as the feedback load's stage of the hour from ``start``,
    for its check on this connection."""
    conn.execute(
        f"create or replace temp table {_STAGED_HOUR} as select ?::timestamp as start", [start]
    )


def is_staged(conn: duckdb.DuckDBPyConnection, start: datetime) -> bool:
    """Whether this connection holds the feedback load's stage of the hour from ``start``
    (``keep_staged``)."""
    try:
        row = conn.execute(f"select 1 from {_STAGED_HOUR} where start = ?", [start]).fetchone()
    except duckdb.CatalogException:  # nothing staged on this connection
        return False
    return row is not None


def read_hour(
    conn: duckdb.DuckDBPyConnection, table: str, start: datetime, end: datetime
) -> pd.DataFrame:
    """The stored rows of the hour (an empty frame with the table's columns when none)."""
    ensure_tables(conn)
    line = "line" if "line" in TABLES[table] else "row_number"
    return conn.execute(
        f"select * from {table} where partition_hour >= ? and partition_hour < ? "
        f"order by source, {line}",
        [start, end],
    ).fetch_df()


def hour_counts(
    conn: duckdb.DuckDBPyConnection, start: datetime, end: datetime, new_hours: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The hour's ``metrics.online_counts`` and ``metrics.user_counts``, computed in the
    warehouse: each impression's ``served`` songs and how many were ``fresh`` (landed in
    ``main.fresh_songs`` within ``new_hours`` before the hour's end: the ``new`` flag)."""
    from playlist_assets.lib.feedback.metrics import counts_sql, reactions_sql, user_counts_sql

    ensure_tables(conn)
    fresh = (
        f"select distinct track_id from {FRESH_SONGS_TABLE} "
        "where landed_at >= $fresh_since and landed_at < $end"
        if table_exists(conn, FRESH_SONGS_TABLE)
        else "select null::varchar as track_id where false"
    )
    hour = "partition_hour >= $start and partition_hour < $end"
    conn.execute(
        f"""
        create or replace temp table _hour_impressions as
        with imp as (select * from {IMPRESSIONS_TABLE} where {hour}),
        fresh as ({fresh}),
        fresh_served as (
            select request_id, count(*) as fresh
            from (select request_id, unnest(ranked) as track_id from imp)
            where track_id in (select track_id from fresh) group by all
        )
        select i.request_id, i."user", i.model_version, i.strategy, i.arm,
               len(i.ranked) as served, coalesce(f.fresh, 0) as fresh
        from imp i left join fresh_served f using (request_id)
        """,
        {"start": start, "end": end, "fresh_since": end - timedelta(hours=new_hours)}
        if "$fresh_since" in fresh
        else {"start": start, "end": end},
    )
    feedback = f"(select * from {FEEDBACK_TABLE} where {hour})"
    try:
        conn.execute(
            f"create or replace temp table _hour_reactions as {reactions_sql(feedback)}",
            {"start": start, "end": end},
        )
        counts = conn.execute(counts_sql("_hour_impressions", "_hour_reactions")).fetch_df()
        users = conn.execute(user_counts_sql("_hour_impressions", "_hour_reactions")).fetch_df()
    finally:
        conn.execute("drop table if exists _hour_impressions")
        conn.execute("drop table if exists _hour_reactions")
    return counts, users


def replace_metrics(
    conn: duckdb.DuckDBPyConnection,
    tables: dict[str, pd.DataFrame],
    start: datetime,
    end: datetime,
) -> None:
    """Replace the hour's rows of the online metrics tables (``table -> rows``, each with
    ``partition_hour``; a table is created with the column types of its first frame), all in
    one transaction."""
    for table, frame in tables.items():
        body = ", ".join(f'"{c}" {_sql_type(frame[c])}' for c in frame.columns)
        conn.execute(f"create table if not exists {table} ({body})")
    with _transaction(conn):
        for table, frame in tables.items():
            conn.register("_metrics_rows", frame)
            try:
                conn.execute(
                    f"delete from {table} where partition_hour >= ? and partition_hour < ?",
                    [start, end],
                )
                conn.execute(f"insert into {table} by name select * from _metrics_rows")
            finally:
                conn.unregister("_metrics_rows")


def _sql_type(values: pd.Series) -> str:
    """The column's type from its dtype (an empty hour's text columns are still VARCHAR)."""
    kind = values.dtype.kind
    return {"b": "BOOLEAN", "i": "BIGINT", "u": "BIGINT", "f": "DOUBLE", "M": "TIMESTAMP"}.get(
        kind, "VARCHAR"
    )


def read_metrics(
    conn: duckdb.DuckDBPyConnection, table: str, since: datetime | None = None
) -> pd.DataFrame:
    """Stored online metrics (all hours, or since ``since``), oldest first; empty if none."""
    if not table_exists(conn, table):
        return pd.DataFrame()
    where, params = ("where partition_hour >= ?", [since]) if since else ("", [])
    return conn.execute(f"select * from {table} {where} order by partition_hour", params).fetch_df()
