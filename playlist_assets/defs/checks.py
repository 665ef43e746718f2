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
from typing import Any

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from playlist_assets import settings
from playlist_assets.defs.partitions import hour_key, hourly_partitions, naive_utc
from playlist_assets.lib.constants import DUCKDB_POOL, QUALITY_CHECK_NAME, SOURCE_PATH_KEY
from playlist_assets.lib.quality import Judgment, SuiteOutcome, gate, store

CATALOGUE_KEY = dg.AssetKey("raw_spotify_tracks")
NEW_TRACKS_KEY = dg.AssetKey("new_tracks")


def catalogue_source(instance: dg.DagsterInstance) -> str:
    """The file the latest ``raw_spotify_tracks`` came from (its ``source_path`` metadata), or
    the asset's name when it recorded none."""
    event = instance.get_latest_materialization_event(CATALOGUE_KEY)
    materialization = event.asset_materialization if event else None
    value = materialization.metadata.get(SOURCE_PATH_KEY) if materialization else None
    text = "" if value is None else str(getattr(value, "value", value))
    return text or CATALOGUE_KEY.to_user_string()


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


def catalogue_check_result(
    warehouse: DuckDBResource, source: str, *, run_name: str | None = None
) -> dg.AssetCheckResult:
    """Judge the catalogue (storing the verdict) and turn it into a check result."""
    judgment = gate.judge_catalogue(
        warehouse.get_connection,
        source,
        data_docs_dir=settings.data_folder().data_docs,
        run_name=run_name,
    )
    metadata = {
        SOURCE_PATH_KEY: dg.MetadataValue.path(source),
        **_base_metadata(judgment),
        # The catalogue is judged once per file, not every hour: its full table is affordable.
        "expectations": dg.MetadataValue.md(judgment.outcome.markdown()),
        "row_rule_violations": dg.MetadataValue.md(gate.violations_markdown(judgment)),
    }
    (verdict,) = judgment.verdicts
    if verdict.accepted:
        description = f"{source}: {gate.passed_text(judgment)}"
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
    label = gate.range_label(partition_keys)
    if frame.empty:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"new_tracks {label}: empty batch, no tracks arrived (nothing to validate).",
            metadata={"rows": 0, "partitions_empty": len(partition_keys)},
        )
    judgment = gate.judge_hours(
        warehouse.get_connection,
        frame,
        label,
        hour_key,
        data_docs_dir=settings.data_folder().data_docs,
        run_name=run_name,
    )
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
        description = gate.hours_passed_text(judgment, partition_keys)
        return dg.AssetCheckResult(passed=True, description=description, metadata=metadata)
    description, problems = gate.hours_blocked_text(judgment)
    metadata["problems"] = dg.MetadataValue.md(problems)
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata=metadata,
    )


@dg.asset_check(
    asset=CATALOGUE_KEY,
    name=QUALITY_CHECK_NAME,
    blocking=True,
    pool=DUCKDB_POOL,
    description="Great Expectations suite 'raw_spotify_tracks': columns, types, id shape, "
    "feature ranges, genre names, row count. Blocks everything downstream on failure; only a "
    "catalogue that passes replaces the one validated_songs reads.",
)
def raw_spotify_tracks_great_expectations(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
) -> dg.AssetCheckResult:
    source = catalogue_source(context.instance)
    return catalogue_check_result(warehouse, source, run_name=context.run.run_id)


@dg.asset_check(
    asset=NEW_TRACKS_KEY,
    name=QUALITY_CHECK_NAME,
    blocking=True,
    pool=DUCKDB_POOL,
    partitions_def=hourly_partitions,
)
def new_tracks_great_expectations(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
) -> dg.AssetCheckResult:
    """Great Expectations suite 'new_tracks' on each hourly partition (same rules as the
    catalogue). A failed hour is blocked and left out of validated_songs."""
    window = context.partition_time_window
    start, end = naive_utc(window.start), naive_utc(window.end)
    return new_tracks_check_result(
        warehouse,
        gate.read_hours(warehouse.get_connection, start, end),
        list(context.partition_keys),
        run_name=context.run.run_id,
    )


defs = dg.Definitions(
    asset_checks=[raw_spotify_tracks_great_expectations, new_tracks_great_expectations]
)
