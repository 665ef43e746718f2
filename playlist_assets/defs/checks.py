"""Blocking Great Expectations checks: the gate between raw data and everything downstream.

``raw_spotify_tracks`` and each hourly ``new_tracks`` partition are validated against the suites
built from ``playlist_assets.lib.quality.rules``. A schema failure (missing column, wrong type,
empty batch) or a row rule broken by more than its ``mostly`` share fails the check with
severity ERROR, so nothing downstream runs in that run.

The check is also where each batch is judged for good: its verdict, its typed accepted rows and
its quarantined rows (Great Expectations' unexpected rows, with the rule) are stored in the
warehouse (``lib.quality.store``), and ``validated_songs`` combines them later in SQL. The
catalogue is promoted there only when it passes: a rejected file stays in
``raw_spotify_tracks`` as it came, with this check's result, and the last accepted catalogue
stays what downstream reads.

Per-hour metadata is numbers and a short verdict; tables (the per-hour verdicts of a range run,
the rows) are in the warehouse. Each run writes Data Docs under the data folder.
"""

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from playlist_assets import settings
from playlist_assets.defs.partitions import hour_key, hourly_partitions, naive_utc
from playlist_assets.lib.quality import (
    CATALOGUE_SUITE,
    NEW_TRACKS_SUITE,
    Judgment,
    SuiteOutcome,
    hour_parts,
    judge,
    store,
    whole_frame,
)
from playlist_assets.lib.quality.quarantine import now_utc

CHECK_NAME = "great_expectations"
CATALOGUE_KEY = dg.AssetKey("raw_spotify_tracks")
NEW_TRACKS_KEY = dg.AssetKey("new_tracks")
CATALOGUE_TABLE = "raw_spotify_tracks"
NEW_TRACKS_TABLE = "new_tracks"
_LISTED = 5  # failed hours named in a range run's description and metadata


def data_docs_dir() -> Path:
    """Where the Data Docs site lives (one site for every suite and batch)."""
    return settings.reports_dir() / "data_docs"


def latest_source_path(instance: dg.DagsterInstance, key: dg.AssetKey) -> str | None:
    """``source_path`` from the asset's latest materialization metadata, if it recorded one."""
    event = instance.get_latest_materialization_event(key)
    materialization = event.asset_materialization if event else None
    if materialization is None:
        return None
    value = materialization.metadata.get("source_path")
    return None if value is None else str(getattr(value, "value", value))


def read_table(
    warehouse: DuckDBResource, table: str, *, hours: tuple[datetime, datetime] | None = None
) -> pd.DataFrame | None:
    """A warehouse table as stored (``None`` when it does not exist), optionally one time window.

    Checks read the table themselves instead of through the I/O manager, which never creates
    a table for an empty frame: a header-only file must fail with "empty batch", not with a
    missing-table error.
    """
    with warehouse.get_connection() as conn:
        if not store.table_exists(conn, f"main.{table}"):
            return None
        if hours is None:
            return conn.execute(f"select * from main.{table}").fetch_df()
        start, end = (naive_utc(h) for h in hours)
        return conn.execute(
            f"select * from main.{table} where partition_hour >= ? and partition_hour < ?",
            [start, end],
        ).fetch_df()


def judge_catalogue(
    warehouse: DuckDBResource, source: str, *, run_name: str | None = None
) -> Judgment:
    """Judge the stored ``raw_spotify_tracks`` and keep the verdict (promote it if accepted)."""
    with warehouse.get_connection() as conn:
        content = store.fingerprint(conn, f"main.{CATALOGUE_TABLE}")
    frame = read_table(warehouse, CATALOGUE_TABLE)
    frame = frame if frame is not None else pd.DataFrame()
    judgment = judge(
        frame,
        CATALOGUE_SUITE,
        whole_frame(frame, store.CATALOGUE_LABEL, source),
        data_docs_dir=data_docs_dir(),
        batch_name="raw_spotify_tracks",
        run_name=run_name,
    )
    with warehouse.get_connection() as conn:
        store.store_catalogue(conn, judgment, content, now_utc())
    return judgment


def judge_hours(
    warehouse: DuckDBResource, frame: pd.DataFrame, label: str, *, run_name: str | None = None
) -> Judgment:
    """Judge the hours of ``frame`` (one validation for all of them) and keep each verdict."""
    judgment = judge(
        frame,
        NEW_TRACKS_SUITE,
        hour_parts(frame, hour_key),
        data_docs_dir=data_docs_dir(),
        batch_name=f"new_tracks_{_slug(label)}",
        run_name=run_name,
    )
    with warehouse.get_connection() as conn:
        store.store_hours(conn, judgment, now_utc())
    return judgment


def _tolerated_text(judgment: Judgment) -> str:
    counts: dict[str, int] = {}
    for verdict in judgment.verdicts:
        for rule, n in verdict.tolerated:
            counts[rule] = counts.get(rule, 0) + n
    if not counts:
        return ""
    listed = ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items()))
    return f" Rows left to validated_songs' quarantine or de-duplication: {listed}."


def _passed_text(outcome: SuiteOutcome, judgment: Judgment) -> str:
    return (
        f"all {len(outcome.expectations)} expectations passed on {outcome.row_count} rows."
        + _tolerated_text(judgment)
    )


def _docs_metadata(outcome: SuiteOutcome) -> dict[str, Any]:
    if outcome.docs_path is None:
        return {}
    return {
        "data_docs": dg.MetadataValue.path(str(outcome.docs_path)),
        "data_docs_url": dg.MetadataValue.url(outcome.docs_path.as_uri()),
    }


def _base_metadata(judgment: Judgment) -> dict[str, Any]:
    """Numbers and links only: this is stored with every check event."""
    outcome = judgment.outcome
    return {
        "suite": outcome.suite_name,
        "rows": outcome.row_count,
        "expectations_evaluated": len(outcome.expectations),
        "expectations_failed": len(outcome.failures),
        "quarantined_rows": sum(v.quarantined_rows for v in judgment.verdicts if v.accepted),
        "extra_columns_ignored": ", ".join(judgment.extra_columns) or "none",
        "validation_seconds": round(outcome.seconds, 3),
        **_docs_metadata(outcome),
    }


def _violations(judgment: Judgment) -> str:
    lines = [f"- {rule}: {n} row(s)" for v in judgment.verdicts for rule, n in v.tolerated]
    return "\n".join(lines) or "none"


def catalogue_check_result(
    warehouse: DuckDBResource, source: str, *, run_name: str | None = None
) -> dg.AssetCheckResult:
    """Judge the catalogue (storing the verdict) and turn it into a check result."""
    judgment = judge_catalogue(warehouse, source, run_name=run_name)
    outcome = judgment.outcome
    metadata = {
        "source_path": dg.MetadataValue.path(source),
        **_base_metadata(judgment),
        # The catalogue is judged once per file, not every hour: its full table is affordable.
        "expectations": dg.MetadataValue.md(outcome.markdown()),
        "row_rule_violations": dg.MetadataValue.md(_violations(judgment)),
    }
    (verdict,) = judgment.verdicts
    if verdict.accepted:
        description = f"{source}: {_passed_text(outcome, judgment)}"
        return dg.AssetCheckResult(passed=True, description=description, metadata=metadata)
    metadata["problems"] = dg.MetadataValue.md("\n".join(f"- {p}" for p in verdict.problems))
    metadata["in_use"] = "the last accepted catalogue (not replaced by this file)"
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"Blocked: {source} fails the catalogue suite: " + "; ".join(verdict.problems),
        metadata=metadata,
    )


def new_tracks_check_result(
    warehouse: DuckDBResource,
    frame: pd.DataFrame,
    partition_keys: Sequence[str],
    *,
    run_name: str | None = None,
) -> dg.AssetCheckResult:
    """Judge the hour (or the hours) of the run; one bad hour fails the check.

    A run over a range of hours (a backfill) is validated by Great Expectations as one batch
    and each hour is judged on its own from those results: an hour is accepted or blocked the
    same way alone or in a range, and a 24-hour run costs one validation instead of 24. The
    per-hour verdicts are rows of ``main.quality_verdicts``.
    """
    label = partition_keys[0]
    if len(partition_keys) > 1:
        label = f"{partition_keys[0]}..{partition_keys[-1]}"
    if frame.empty:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"new_tracks {label}: empty batch, no tracks arrived (nothing to validate).",
            metadata={"rows": 0, "partitions_empty": len(partition_keys)},
        )
    judgment = judge_hours(warehouse, frame, label, run_name=run_name)
    metadata = _base_metadata(judgment)
    metadata["partition"] = label
    failed = judgment.failed
    if len(partition_keys) > 1:
        metadata["hours_passed"] = len(judgment.verdicts) - len(failed)
        metadata["hours_failed"] = len(failed)
        metadata["hours_empty"] = len(partition_keys) - len(judgment.verdicts)
        metadata["per_hour_verdicts"] = f"{store.VERDICTS_TABLE} (batch, accepted, problems)"
        metadata["expectations_scope"] = "the whole range as one batch; the gate is per hour"
    if not failed:
        if len(partition_keys) == 1:
            description = f"new_tracks {label}: {_passed_text(judgment.outcome, judgment)}"
        else:
            description = (
                f"new_tracks {label}: all {len(judgment.verdicts)} hours with tracks passed "
                f"({judgment.outcome.row_count} rows, "
                f"{len(partition_keys) - len(judgment.verdicts)} empty hour(s))."
            )
        return dg.AssetCheckResult(passed=True, description=description, metadata=metadata)
    shown = failed[:_LISTED]
    more = f" | and {len(failed) - _LISTED} more hour(s)" if len(failed) > _LISTED else ""
    metadata["problems"] = dg.MetadataValue.md(
        "\n".join(f"- {v.label}: {p}" for v in shown for p in v.problems)
    )
    description = "Blocked: " + " | ".join(
        f"new_tracks partition {v.label}: " + "; ".join(v.problems) for v in shown
    )
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description + more,
        metadata=metadata,
    )


def _slug(label: str) -> str:
    return label.replace(":", "").replace("..", "_to_").replace(" ", "_")


@dg.asset_check(
    asset=CATALOGUE_KEY,
    name=CHECK_NAME,
    blocking=True,
    pool="duckdb",
    description="Great Expectations suite 'raw_spotify_tracks': columns, types, id shape, "
    "feature ranges, genre names, row count. Blocks everything downstream on failure; only a "
    "catalogue that passes replaces the one validated_songs reads.",
)
def raw_spotify_tracks_great_expectations(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
) -> dg.AssetCheckResult:
    source = latest_source_path(context.instance, CATALOGUE_KEY) or "raw_spotify_tracks"
    return catalogue_check_result(warehouse, source, run_name=context.run.run_id)


def new_tracks_great_expectations(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
) -> dg.AssetCheckResult:
    """Great Expectations suite 'new_tracks' on each hourly partition (same rules as the
    catalogue). A failed hour is blocked and left out of validated_songs."""
    window = context.partition_time_window
    frame = read_table(warehouse, NEW_TRACKS_TABLE, hours=(window.start, window.end))
    return new_tracks_check_result(
        warehouse,
        frame if frame is not None else pd.DataFrame(),
        list(context.partition_keys),
        run_name=context.run.run_id,
    )


new_tracks_great_expectations = dg.asset_check(
    asset=NEW_TRACKS_KEY,
    name=CHECK_NAME,
    blocking=True,
    pool="duckdb",
    partitions_def=hourly_partitions,
)(new_tracks_great_expectations)


defs = dg.Definitions(
    asset_checks=[raw_spotify_tracks_great_expectations, new_tracks_great_expectations]
)
