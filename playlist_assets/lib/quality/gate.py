"""The gate: read a batch from the warehouse, judge it once, keep the verdict, and say so.

The blocking checks (``defs/checks.py``) and ``validated_songs`` (``defs/songs.py``, for a batch
that reached the warehouse without its check) call these with a way to open a short DuckDB
connection (``DuckDBResource.get_connection``): the connection is never held while Great
Expectations validates, so other processes wait on the file lock only for the SQL itself.
The check texts are here too, so what a check says is decided next to what it judged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from playlist_assets.lib.quality import store
from playlist_assets.lib.quality.judge import Judgment, hour_parts, judge, whole_frame
from playlist_assets.lib.quality.quarantine import now_utc
from playlist_assets.lib.quality.rules import CATALOGUE_SUITE, NEW_TRACKS_SUITE

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
HourKey = Callable[[datetime | pd.Timestamp], str]

LISTED = 5  # failed hours named in a range run's description and metadata


class CatalogueMissing(LookupError):
    """No staged catalogue to combine: ``raw_spotify_tracks`` was never materialized."""


def read_hours(connect: Connect, start: datetime, end: datetime) -> pd.DataFrame:
    """The feed's rows of the hours in [start, end) (naive UTC); empty without a feed table."""
    with connect() as conn:
        frame = store.read_table(conn, store.NEW_TRACKS_TABLE, hours=(start, end))
    return frame if frame is not None else pd.DataFrame()


def judge_catalogue(
    connect: Connect, source: str, *, data_docs_dir: Path, run_name: str | None = None
) -> Judgment:
    """Judge the stored ``raw_spotify_tracks`` and keep the verdict (promote it if accepted)."""
    with connect() as conn:
        content = store.fingerprint(conn, store.CATALOGUE_TABLE)
        frame = store.read_table(conn, store.CATALOGUE_TABLE)
    frame = frame if frame is not None else pd.DataFrame()
    judgment = judge(
        frame,
        CATALOGUE_SUITE,
        whole_frame(frame, store.CATALOGUE_LABEL, source),
        data_docs_dir=data_docs_dir,
        batch_name="raw_spotify_tracks",
        run_name=run_name,
    )
    with connect() as conn:
        store.store_catalogue(conn, judgment, content, now_utc())
    return judgment


def judge_hours(
    connect: Connect,
    frame: pd.DataFrame,
    label: str,
    hour_key: HourKey,
    *,
    data_docs_dir: Path,
    run_name: str | None = None,
) -> Judgment:
    """Judge the hours of ``frame`` (one validation for all of them) and keep each verdict."""
    judgment = judge(
        frame,
        NEW_TRACKS_SUITE,
        hour_parts(frame, hour_key),
        data_docs_dir=data_docs_dir,
        batch_name=f"new_tracks_{batch_slug(label)}",
        run_name=run_name,
    )
    with connect() as conn:
        store.store_hours(conn, judgment, now_utc())
    return judgment


@dataclass(frozen=True)
class CatchUp:
    """What ``validated_songs`` found unjudged and judged: the catalogue's state, the hours."""

    catalogue: store.CatalogueState
    hours: list[pd.Timestamp]
    hours_judgment: Judgment | None


def catch_up(
    connect: Connect,
    source: str,
    hour_key: HourKey,
    *,
    data_docs_dir: Path,
    run_name: str | None = None,
) -> CatchUp:
    """Judge (once) a catalogue or hours that reached the warehouse without their check.

    Hours are left alone while no catalogue was ever accepted: nothing can be combined yet.
    """
    with connect() as conn:
        if not store.table_exists(conn, store.CATALOGUE_TABLE):
            raise CatalogueMissing(
                f"{store.CATALOGUE_TABLE} does not exist: materialize raw_spotify_tracks first "
                f"(source {source})"
            )
        content = store.fingerprint(conn, store.CATALOGUE_TABLE)
        state = store.catalogue_state(conn)
        hours = store.unjudged_hours(conn, store.NEW_TRACKS_TABLE)
    if state.judged_content != content:
        judge_catalogue(connect, source, data_docs_dir=data_docs_dir, run_name=run_name)
        with connect() as conn:
            state = store.catalogue_state(conn)
    if not state.has_accepted or not hours:
        return CatchUp(state, hours, None)
    with connect() as conn:
        frame = store.rows_of_hours(conn, store.NEW_TRACKS_TABLE, hours)
    label = f"{hour_key(hours[0])}..{hour_key(hours[-1])}"
    judgment = judge_hours(
        connect, frame, label, hour_key, data_docs_dir=data_docs_dir, run_name=run_name
    )
    return CatchUp(state, hours, judgment)


def batch_slug(label: str) -> str:
    """A partition label as a Data Docs batch name: ``2026-11-01-00:00..`` -> ``..0000_to_..``."""
    return label.replace(":", "").replace("..", "_to_").replace(" ", "_")


def range_label(partition_keys: Sequence[str]) -> str:
    """One key, or ``first..last`` for a run over a range of hours."""
    if len(partition_keys) > 1:
        return f"{partition_keys[0]}..{partition_keys[-1]}"
    return partition_keys[0]


# ---------------------------------------------------------------------------------------------
# what a check says


def tolerated_text(judgment: Judgment) -> str:
    counts: dict[str, int] = {}
    for verdict in judgment.verdicts:
        for rule, n in verdict.tolerated:
            counts[rule] = counts.get(rule, 0) + n
    if not counts:
        return ""
    listed = ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items()))
    return f" Rows left to validated_songs' quarantine or de-duplication: {listed}."


def passed_text(judgment: Judgment) -> str:
    outcome = judgment.outcome
    return (
        f"all {len(outcome.expectations)} expectations passed on {outcome.row_count} rows."
        + tolerated_text(judgment)
    )


def violations_markdown(judgment: Judgment) -> str:
    lines = [f"- {rule}: {n} row(s)" for v in judgment.verdicts for rule, n in v.tolerated]
    return "\n".join(lines) or "none"


def hours_passed_text(judgment: Judgment, partition_keys: Sequence[str]) -> str:
    """The description of a passing check on one hour or a range of hours."""
    label = range_label(partition_keys)
    if len(partition_keys) == 1:
        return f"new_tracks {label}: {passed_text(judgment)}"
    return (
        f"new_tracks {label}: all {len(judgment.verdicts)} hours with tracks passed "
        f"({judgment.outcome.row_count} rows, "
        f"{len(partition_keys) - len(judgment.verdicts)} empty hour(s))."
    )


def hours_blocked_text(judgment: Judgment) -> tuple[str, str]:
    """(description, problems as markdown) of a failing check: the first failed hours."""
    failed = judgment.failed
    shown = failed[:LISTED]
    more = f" | and {len(failed) - LISTED} more hour(s)" if len(failed) > LISTED else ""
    problems = "\n".join(f"- {v.label}: {p}" for v in shown for p in v.problems)
    description = "Blocked: " + " | ".join(
        f"new_tracks partition {v.label}: " + "; ".join(v.problems) for v in shown
    )
    return description + more, problems
