"""The Great Expectations suites that gate the stored impressions and feedback of an hour.

The assets already keep unusable lines aside; the blocking checks judge what was *stored*, so a
row written by anything else (an old build, a hand edit, a bug in the reader) still cannot reach
the online metrics. Every stored row is judged, exactly, in SQL: one summary row per hour
(``hour_summary``) counts the rows breaking each rule (the schema, non-empty ids, known arms
and events, the time inside the hour, feedback whose request and track were served, no
duplicates). Great Expectations validates that summary (each count must be 0), so its verdict,
Data Docs and the check's metadata name the rules that broke; it never iterates the rows
itself, which at 20 requests/s cost seconds per hour (benchmarks/README.md, issue 23).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from playlist_assets.lib.feedback.contract import ARMS, EVENTS, FEEDBACK_KEY
from playlist_assets.lib.feedback.store import (
    EARLIER,
    FEEDBACK_TABLE,
    FEEDBACK_WINDOW,
    IMPRESSIONS_TABLE,
    SERVED,
    TABLES,
    earlier_events_sql,
    ensure_tables,
    is_staged,
    stage_served,
)
from playlist_assets.lib.quality.gx_results import SuiteOutcome
from playlist_assets.lib.quality.rules import Rule, SuiteSpec

IMPRESSIONS_SUITE_NAME = "recommendation_impressions"
FEEDBACK_SUITE_NAME = "recommendation_feedback"
ROWS = "rows"  # the summary's row count column (not a rule)


def _values(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v + "'" for v in values)


def _missing(columns: tuple[str, ...]) -> str:
    return " or ".join(f"coalesce({c}, '') = ''" for c in columns)


_OUTSIDE = "time is null or time < partition_hour or time >= partition_hour + interval 1 hour"
# rule name -> (summary column, what every stored row must satisfy, SQL counting the rows
# that do not), per table. Counts are over the stored rows of each hour.
_IMPRESSION_RULES = {
    "ids_not_empty": (
        "ids_missing",
        "request_id, model_version and strategy are set",
        f"count(*) filter ({_missing(('request_id', 'model_version', 'strategy'))})",
    ),
    "arm_known": (
        "unknown_arms",
        "arm is an arm",
        f"count(*) filter (arm not in ({_values(ARMS)}) or arm is null)",
    ),
    "time_inside_hour": (
        "times_outside_hour",
        "time lies inside the row's hour",
        f"count(*) filter ({_OUTSIDE})",
    ),
    "served_songs": (
        "lists_bad",
        "k >= 1 and the seeds and the ranked songs are lists of track ids",
        "count(*) filter (k is null or k < 1 or seeds is null or ranked is null "
        "or list_contains(ranked, '') or list_contains(seeds, ''))",
    ),
    "request_id_unique": (
        "duplicates",
        "one row per request (in its hour)",
        "count(*) - count(distinct request_id)",
    ),
}
_FEEDBACK_RULES = {
    "ids_not_empty": (
        "ids_missing",
        "request_id, track_id and model_version are set",
        f"count(*) filter ({_missing(('request_id', 'track_id', 'model_version'))})",
    ),
    "arm_known": _IMPRESSION_RULES["arm_known"],
    "event_known": (
        "unknown_events",
        "event is an event",
        f"count(*) filter (event not in ({_values(EVENTS)}) or event is null)",
    ),
    "time_inside_hour": _IMPRESSION_RULES["time_inside_hour"],
    "request_and_track_served": (
        "not_served",
        "the request is among the stored impressions of the hour or the 24 before, and the "
        "track at its stored rank in that list",
        "count(*) filter (not served)",
    ),
    "no_duplicates": (
        "duplicates",
        "an event counts once (in its hour and against the 24 hours before)",
        "count(*) - count(distinct (request_id, track_id, event)) + count(*) filter (earlier_copy)",
    ),
}
SCHEMA_RULE = "schema"
SCHEMA_COLUMN = "columns_wrong"  # expected columns missing or of another type


def _spec(name: str, rules: dict[str, tuple[str, str, str]]) -> SuiteSpec:
    columns = (ROWS, SCHEMA_COLUMN, *(c for c, _, _ in rules.values()))
    zero = {"min_value": 0, "max_value": 0}
    return SuiteSpec(
        name,
        (
            Rule(
                name="summary_columns",
                kind="columns_present",
                level="schema",
                description="the hour's summary has every count",
                columns=columns,
            ),
            Rule(
                name=SCHEMA_RULE,
                kind="between",
                level="schema",
                description="the stored table has every column, with its type",
                column=SCHEMA_COLUMN,
                **zero,
            ),
            *(
                Rule(
                    name=rule,
                    kind="between",
                    level="schema",
                    description=text,
                    column=column,
                    **zero,
                )
                for rule, (column, text, _) in rules.items()
            ),
        ),
        min_rows=0,
    )


IMPRESSIONS_SUITE = _spec(IMPRESSIONS_SUITE_NAME, _IMPRESSION_RULES)
FEEDBACK_SUITE = _spec(FEEDBACK_SUITE_NAME, _FEEDBACK_RULES)


def _columns_wrong(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    schema, name = table.split(".")
    actual = dict(
        conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    )
    return sum(actual.get(c) != t for c, t in TABLES[table].items())


_CHECK_SERVED, _CHECK_EARLIER = "_check_served", "_check_earlier"


def _judged_against(hours: str, served: str, earlier: str) -> str:
    """The stored rows of ``hours`` with ``served`` (their rank is that of their track in the
    list their request was served), ``earlier_copy`` (the event is in ``earlier``: stored for an
    earlier hour) and ``unstaged`` (a request id not in ``served``)."""
    key = ", ".join(FEEDBACK_KEY)
    return f"""
        select h.*, e.request_id is not null as earlier_copy,
               s.request_id is null and h.request_id is not null as unstaged,
               coalesce(list_position(s.ranked, h.track_id) = h.rank, false) as served
        from ({hours}) h left join {served} s using (request_id)
        left join {earlier} e using ({key})"""


def _summary(
    conn: duckdb.DuckDBPyConnection, rows: str, counts: str, params: list[object]
) -> pd.DataFrame:
    return conn.execute(
        f"select partition_hour, count(*) as {ROWS}, {counts} from ({rows}) "
        "group by partition_hour order by partition_hour",
        params,
    ).fetch_df()


def hour_summary(
    conn: duckdb.DuckDBPyConnection, feedback: bool, start: datetime, end: datetime
) -> pd.DataFrame:
    """One row per stored hour in [start, end): ``rows`` and the count of rows breaking each
    rule of the suite (every stored row, in SQL); none for hours without rows."""
    ensure_tables(conn)
    table = FEEDBACK_TABLE if feedback else IMPRESSIONS_TABLE
    rules = _FEEDBACK_RULES if feedback else _IMPRESSION_RULES
    counts = ", ".join(f"{sql} as {column}" for column, _, sql in rules.values())
    hours = f"select * from {table} where partition_hour >= $1 and partition_hour < $2"
    if not feedback:
        summary = _summary(conn, hours, counts, [start, end])
    else:
        counts += ", count(*) filter (unstaged) as unstaged"
        # What the hour's load staged on this connection (the impression each request answers,
        # the events stored for earlier hours) when every stored row's request is in it; a row
        # of any other request is judged against the warehouse afresh (no staging trusted).
        summary = None
        if is_staged(conn, start):
            summary = _summary(conn, _judged_against(hours, SERVED, EARLIER), counts, [start, end])
            if summary["unstaged"].sum():
                summary = None
        if summary is None:
            first = stage_served(
                conn,
                _CHECK_SERVED,
                f"select distinct request_id from {table} "
                "where partition_hour >= ? and partition_hour < ?",
                start - FEEDBACK_WINDOW,
                end,
                requests_params=(start, end),
            )
            try:
                conn.execute(
                    f"create or replace temp table {_CHECK_EARLIER} as "
                    + earlier_events_sql(_CHECK_SERVED),
                    [first or start, start],
                )
                judged = _judged_against(hours, _CHECK_SERVED, _CHECK_EARLIER)
                summary = _summary(conn, judged, counts, [start, end])
            finally:
                conn.execute(f"drop table if exists {_CHECK_SERVED}")
                conn.execute(f"drop table if exists {_CHECK_EARLIER}")
        summary = summary.drop(columns="unstaged")
    summary.insert(2, SCHEMA_COLUMN, _columns_wrong(conn, table))
    return summary


def validate(
    summary: pd.DataFrame,
    spec: SuiteSpec,
    batch: str,
    *,
    data_docs_dir: Path | None,
    run_name: str | None,
    verdict_only: bool = False,
) -> SuiteOutcome:
    """Run ``spec`` on the hours' ``summary`` (Great Expectations is imported here, not at
    load time). ``verdict_only``: each expectation's pass or fail without what it observed
    (Great Expectations' ``BOOLEAN_ONLY``: ~0.01 CPU-s less per validation)."""
    from playlist_assets.lib.quality.gx_suite import run_suite

    return run_suite(
        summary,
        spec,
        data_docs_dir=data_docs_dir,
        batch_name=batch,
        run_name=run_name,
        result_format="BOOLEAN_ONLY" if verdict_only else "BASIC",
    )


def problems(outcome: SuiteOutcome, summary: pd.DataFrame, spec: SuiteSpec) -> list[str]:
    """One line per failed expectation: the rule, how many stored rows (or columns) break it,
    in how many hours, and what it asks."""
    lines = []
    for e in outcome.failures:
        if e.error or e.column not in summary.columns:
            lines.append(f"{e.rule}: {e.error or e.observed}")
            continue
        bad = summary.loc[summary[e.column] > 0, e.column]
        schema = e.column == SCHEMA_COLUMN
        count = f"{int(bad.max())} column(s)" if schema else f"{int(bad.sum())} stored row(s)"
        text = spec.rule(e.rule).description
        lines.append(f"{e.rule}: {count} in {len(bad)} hour(s) break it ({text})")
    return lines
