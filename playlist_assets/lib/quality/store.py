"""Judgments kept in the warehouse: each batch's verdict, its typed rows and its rejects, once.

Three tables, written when a batch is judged (by its blocking check, or by ``validated_songs``
for a batch that arrived without one) and read in SQL afterwards:

- ``quality_verdicts``: one row per judged hour (replaced when the hour is judged again) and one
  per judgment of the catalogue (kept: the history of what was accepted or refused);
- ``accepted_tracks``: typed rows that passed, of the last accepted catalogue
  (``partition_hour`` NULL) and of every accepted hour;
- ``quality_quarantine``: rows kept out, same columns as every reject table, plus the hour.

A rejected catalogue adds its verdict and nothing else: the last accepted one stays in
``accepted_tracks`` until a catalogue passes again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from playlist_assets.lib.quality.judge import Judgment, to_typed
from playlist_assets.lib.quality.quarantine import QUARANTINE_COLUMNS, QUARANTINE_SQL_TYPES, stamped
from playlist_assets.lib.schema import TIMESTAMP_DTYPE, TYPED_DTYPES
from playlist_assets.lib.tables import insert_rows, table_exists

# What the checks judge: the staged catalogue and the feed's hours, as their assets store them.
CATALOGUE_TABLE = "main.raw_spotify_tracks"
NEW_TRACKS_TABLE = "main.new_tracks"
VERDICTS_TABLE = "main.quality_verdicts"
ACCEPTED_TABLE = "main.accepted_tracks"
QUARANTINE_TABLE = "main.quality_quarantine"
# Rows a feed could not even type; written by new_tracks, same columns plus the hour.
FEED_REJECTS_TABLE = "main.new_tracks_rejects"
# What validated_songs' sibling asset stores: every row kept out, judged or untypeable.
QUARANTINED_TRACKS_TABLE = "main.quarantined_tracks"
CATALOGUE_LABEL = "catalogue"

_SQL = {"string": "VARCHAR", "int64": "BIGINT", "bool": "BOOLEAN", "float64": "DOUBLE"}
_VERDICT_COLUMNS: dict[str, str] = {
    "batch": "VARCHAR",
    "partition_hour": "TIMESTAMP",
    "source": "VARCHAR",
    "accepted": "BOOLEAN",
    "rows": "BIGINT",
    "quarantined_rows": "BIGINT",
    "problems": "VARCHAR",
    "extra_columns": "VARCHAR",
    "fingerprint": "VARCHAR",
    "judged_at": "TIMESTAMP",
}
_ACCEPTED_COLUMNS: dict[str, str] = {
    **{c: _SQL[d] for c, d in TYPED_DTYPES.items()},
    "partition_hour": "TIMESTAMP",
    "row_number": "BIGINT",
}
_QUARANTINE_COLUMNS: dict[str, str] = {**QUARANTINE_SQL_TYPES, "partition_hour": "TIMESTAMP"}


def _ddl(table: str, columns: dict[str, str]) -> str:
    body = ", ".join(f'"{name}" {sql}' for name, sql in columns.items())
    return f"create table if not exists {table} ({body})"


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("create schema if not exists main")
    conn.execute(_ddl(VERDICTS_TABLE, _VERDICT_COLUMNS))
    conn.execute(_ddl(ACCEPTED_TABLE, _ACCEPTED_COLUMNS))
    conn.execute(_ddl(QUARANTINE_TABLE, _QUARANTINE_COLUMNS))


def read_table(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    *,
    hours: tuple[datetime, datetime] | None = None,
) -> pd.DataFrame | None:
    """A warehouse table as stored (``None`` when it does not exist), optionally the rows of the
    hours in [start, end) (naive UTC).

    Checks read the table themselves instead of through the I/O manager, which never creates
    a table for an empty frame: a header-only file must fail with "empty batch", not with a
    missing-table error.
    """
    if not table_exists(conn, table):
        return None
    if hours is None:
        return conn.execute(f"select * from {table}").fetch_df()
    return conn.execute(
        f"select * from {table} where partition_hour >= ? and partition_hour < ?", list(hours)
    ).fetch_df()


def rows_of_hours(
    conn: duckdb.DuckDBPyConnection, table: str, hours: list[pd.Timestamp]
) -> pd.DataFrame:
    """The rows of ``table`` whose ``partition_hour`` is one of ``hours``, oldest hour first."""
    return conn.execute(
        f"select t.* from {table} t where partition_hour in "
        "(select unnest(?::TIMESTAMP[])) order by partition_hour",
        [[h.to_pydatetime() for h in hours]],
    ).fetch_df()


def fingerprint(conn: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """A cheap identity of a table's content (row count and summed row hashes)."""
    if not table_exists(conn, table):
        return None
    count, total = conn.execute(f"select count(*), sum(hash(t)) from {table} t").fetchone()
    return f"{count}:{total or 0}"


def _verdict_rows(judgment: Judgment, judged_at: pd.Timestamp, print_: str | None) -> pd.DataFrame:
    extra = ", ".join(judgment.extra_columns)
    return pd.DataFrame(
        {
            "batch": [v.label for v in judgment.verdicts],
            "partition_hour": pd.Series([v.hour for v in judgment.verdicts], dtype=TIMESTAMP_DTYPE),
            "source": [v.source for v in judgment.verdicts],
            "accepted": [v.accepted for v in judgment.verdicts],
            "rows": [v.rows for v in judgment.verdicts],
            "quarantined_rows": [v.quarantined_rows for v in judgment.verdicts],
            "problems": ["; ".join(v.problems) for v in judgment.verdicts],
            "extra_columns": [extra] * len(judgment.verdicts),
            "fingerprint": [print_] * len(judgment.verdicts),
            "judged_at": pd.Series([judged_at] * len(judgment.verdicts), dtype=TIMESTAMP_DTYPE),
        }
    )


def store_catalogue(
    conn: duckdb.DuckDBPyConnection,
    judgment: Judgment,
    content: str | None,
    judged_at: pd.Timestamp,
) -> None:
    """Record the catalogue's verdict; promote its rows only when it was accepted."""
    ensure_tables(conn)
    insert_rows(conn, VERDICTS_TABLE, _verdict_rows(judgment, judged_at, content))
    if judgment.failed:
        return
    conn.execute(f"delete from {ACCEPTED_TABLE} where partition_hour is null")
    conn.execute(f"delete from {QUARANTINE_TABLE} where partition_hour is null")
    insert_rows(conn, ACCEPTED_TABLE, judgment.accepted)
    insert_rows(conn, QUARANTINE_TABLE, stamped(judgment.rejects, judged_at))


def clear_hours(conn: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> None:
    """Forget what was decided about the hours in [start, end): their data is being replaced."""
    ensure_tables(conn)
    for table in (VERDICTS_TABLE, ACCEPTED_TABLE, QUARANTINE_TABLE):
        conn.execute(
            f"delete from {table} where partition_hour >= ? and partition_hour < ?", [start, end]
        )


def store_hours(
    conn: duckdb.DuckDBPyConnection, judgment: Judgment, judged_at: pd.Timestamp
) -> None:
    """Replace what is stored for the judged hours with this judgment."""
    ensure_tables(conn)
    hours = [v.hour for v in judgment.verdicts]
    if not hours:
        return
    marks = pd.DataFrame({"h": pd.Series(hours, dtype=TIMESTAMP_DTYPE)})
    conn.register("_quality_hours", marks)
    try:
        for table in (VERDICTS_TABLE, ACCEPTED_TABLE, QUARANTINE_TABLE):
            conn.execute(
                f"delete from {table} where partition_hour in (select h from _quality_hours)"
            )
    finally:
        conn.unregister("_quality_hours")
    insert_rows(conn, VERDICTS_TABLE, _verdict_rows(judgment, judged_at, None))
    insert_rows(conn, ACCEPTED_TABLE, judgment.accepted)
    insert_rows(conn, QUARANTINE_TABLE, stamped(judgment.rejects, judged_at))


@dataclass(frozen=True)
class CatalogueState:
    """The latest judgment of the catalogue and whether an accepted version is stored."""

    judged_content: str | None
    accepted: bool | None
    problems: str
    source: str | None
    has_accepted: bool
    accepted_source: str | None


def catalogue_state(conn: duckdb.DuckDBPyConnection) -> CatalogueState:
    ensure_tables(conn)
    latest = conn.execute(
        f"select fingerprint, accepted, problems, source from {VERDICTS_TABLE} "
        "where partition_hour is null order by judged_at desc limit 1"
    ).fetchone()
    good = conn.execute(
        f"select source from {VERDICTS_TABLE} where partition_hour is null and accepted "
        "order by judged_at desc limit 1"
    ).fetchone()
    if latest is None:
        return CatalogueState(None, None, "", None, False, None)
    return CatalogueState(
        latest[0],
        latest[1],
        latest[2] or "",
        latest[3],
        good is not None,
        good[0] if good else None,
    )


def unjudged_hours(conn: duckdb.DuckDBPyConnection, table: str) -> list[pd.Timestamp]:
    """Hours with rows in ``table`` (the feed's) that have no stored verdict."""
    ensure_tables(conn)
    if not table_exists(conn, table):
        return []
    rows = conn.execute(
        f"select distinct t.partition_hour from {table} t anti join {VERDICTS_TABLE} v "
        "on t.partition_hour = v.partition_hour order by 1"
    ).fetchall()
    return [pd.Timestamp(r[0]) for r in rows]


@dataclass
class SongsBase:
    """The songs base combined from stored judgments, with its row accounting."""

    songs: pd.DataFrame
    input_rows: int
    quarantined_rows: int
    duplicates_removed: int
    out_of_scope_rows: int
    hours_included: int
    hours_excluded: int
    excluded: dict[str, str]
    ignored_columns: dict[str, str]
    newest_partition: pd.Timestamp | None
    catalogue_source: str | None

    @property
    def validated_rows(self) -> int:
        return len(self.songs)

    def per_genre(self) -> dict[str, int]:
        counts = self.songs["track_genre"].value_counts()
        return {str(g): int(n) for g, n in sorted(counts.items())}

    def counts_add_up(self) -> bool:
        return self.input_rows == (
            self.validated_rows
            + self.quarantined_rows
            + self.duplicates_removed
            + self.out_of_scope_rows
        )


_TYPED = ", ".join(f'"{c}"' for c in TYPED_DTYPES)
_SONGS_SQL = f"""
select {_TYPED} from (
    select *, row_number() over (
        partition by track_id order by partition_hour desc nulls last, row_number
    ) as _newest
    from {ACCEPTED_TABLE} where list_contains(?, track_genre)
) where _newest = 1
order by partition_hour nulls first, row_number
"""


def _scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    row = conn.execute(sql, params or []).fetchone()
    return row[0] if row else None


def combine(
    conn: duckdb.DuckDBPyConnection, genres: list[str], *, excluded_limit: int = 20
) -> SongsBase:
    """The songs base in set-based SQL: accepted rows in the genres, newest row per track."""
    ensure_tables(conn)
    songs = conn.execute(_SONGS_SQL, [genres]).fetch_df()
    songs = to_typed(songs) if len(songs) else songs.astype(TYPED_DTYPES)
    accepted, in_scope = conn.execute(
        f"select count(*), count(*) filter (where list_contains(?, track_genre)) "
        f"from {ACCEPTED_TABLE}",
        [genres],
    ).fetchone()
    hours = f"from {VERDICTS_TABLE} where partition_hour is not null"
    hour_rows, included, excluded_n = conn.execute(
        f"select coalesce(sum(rows), 0), count(*) filter (where accepted), "
        f"count(*) filter (where not accepted) {hours}"
    ).fetchone()
    catalogue = conn.execute(
        f"select rows, source from {VERDICTS_TABLE} where partition_hour is null and accepted "
        "order by judged_at desc limit 1"
    ).fetchone()
    excluded = conn.execute(
        f"select batch, problems {hours} and not accepted order by partition_hour desc limit ?",
        [excluded_limit],
    ).fetchall()
    ignored = conn.execute(
        f"select batch, extra_columns {hours} and extra_columns <> '' "
        "order by partition_hour desc limit ?",
        [excluded_limit],
    ).fetchall()
    base = SongsBase(
        songs=songs,
        input_rows=int(hour_rows) + (int(catalogue[0]) if catalogue else 0),
        quarantined_rows=int(_scalar(conn, f"select count(*) from {QUARANTINE_TABLE}")),
        duplicates_removed=int(in_scope) - len(songs),
        out_of_scope_rows=int(accepted) - int(in_scope),
        hours_included=int(included),
        hours_excluded=int(excluded_n),
        excluded={str(b): str(p) for b, p in reversed(excluded)},
        ignored_columns={str(b): str(c) for b, c in reversed(ignored)},
        newest_partition=_scalar(conn, f"select max(partition_hour) {hours} and accepted"),
        catalogue_source=catalogue[1] if catalogue else None,
    )
    if not base.counts_add_up():  # an invariant, not a user error
        raise AssertionError(
            f"songs base counts do not add up: input {base.input_rows} != validated "
            f"{base.validated_rows} + quarantined {base.quarantined_rows} + duplicates "
            f"{base.duplicates_removed} + out of scope {base.out_of_scope_rows}"
        )
    return base


def ensure_quarantined_table(conn: duckdb.DuckDBPyConnection) -> None:
    """``quarantined_tracks`` exists even when empty (the I/O manager creates no table for an
    empty frame; an empty quarantine is a table too)."""
    conn.execute(_ddl(QUARANTINED_TRACKS_TABLE, QUARANTINE_SQL_TYPES))


def feed_rejects_count(conn: duckdb.DuckDBPyConnection) -> int | None:
    """Rows the feed could not type (``None`` before the feed ever ran)."""
    if not table_exists(conn, FEED_REJECTS_TABLE):
        return None
    return int(_scalar(conn, f"select count(*) from {FEED_REJECTS_TABLE}"))


def quarantined(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every row kept out: judged rejects, then the rows the feed could not type."""
    ensure_tables(conn)
    columns = ", ".join(QUARANTINE_COLUMNS)
    sql = (
        f"select {columns} from {QUARANTINE_TABLE} "
        "order by partition_hour nulls first, source, row_number"
    )
    if table_exists(conn, FEED_REJECTS_TABLE):
        sql = f"({sql}) union all (select {columns} from {FEED_REJECTS_TABLE})"
    return conn.execute(sql).fetch_df()
