"""Blocking Great Expectations checks: the gate between raw data and everything downstream.

``raw_spotify_tracks`` and each hourly ``new_tracks`` partition are validated against the suites
built from ``playlist_assets.lib.quality.rules``. A schema failure (missing column, wrong type,
empty batch) or a row rule broken by more than its ``mostly`` share fails the check with
severity ERROR, so nothing downstream runs in that run. Rows breaking row rules under that share
pass the gate and are quarantined by ``validated_songs``. Each run writes Data Docs under the
data folder, linked from the check's metadata.
"""

import warnings
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from playlist_assets import settings
from playlist_assets.defs.partitions import hourly_partitions, naive_utc, split_by_partition
from playlist_assets.lib.quality import (
    CATALOGUE_SUITE,
    NEW_TRACKS_SUITE,
    SuiteOutcome,
    SuiteSpec,
    evaluate_batch,
    extra_columns,
    run_suites,
)

CHECK_NAME = "great_expectations"
CATALOGUE_KEY = dg.AssetKey("raw_spotify_tracks")
NEW_TRACKS_KEY = dg.AssetKey("new_tracks")
CATALOGUE_TABLE = "raw_spotify_tracks"
NEW_TRACKS_TABLE = "new_tracks"


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
        exists = conn.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'main' and table_name = ?",
            [table],
        ).fetchone()
        if not exists or not exists[0]:
            return None
        if hours is None:
            return conn.execute(f"select * from main.{table}").fetch_df()
        start, end = (naive_utc(h) for h in hours)
        return conn.execute(
            f"select * from main.{table} where partition_hour >= ? and partition_hour < ?",
            [start, end],
        ).fetch_df()


def _problems(frame: pd.DataFrame, suite: SuiteSpec, outcome: SuiteOutcome) -> list[str]:
    """Readable reasons for a failed suite (pandas wording, GE failures as the fallback)."""
    problems = evaluate_batch(frame, suite).problems
    if problems:
        return problems
    return [f"{e.rule}: {e.error or e.observed}" for e in outcome.failures]


def _tolerated(outcome: SuiteOutcome) -> list[tuple[str, int]]:
    """Row rules broken by a share of rows under their ``mostly`` bound (the batch passed)."""
    return [
        (e.rule, int(e.unexpected_count))
        for e in outcome.expectations
        if e.success and e.unexpected_count and e.level in ("row", "duplicate")
    ]


def _violations(outcome: SuiteOutcome) -> str:
    return "\n".join(f"- {rule}: {n} row(s)" for rule, n in _tolerated(outcome)) or "none"


def _passed_text(outcome: SuiteOutcome) -> str:
    text = f"all {len(outcome.expectations)} expectations passed on {outcome.row_count} rows."
    tolerated = _tolerated(outcome)
    if tolerated:
        listed = ", ".join(f"{rule} {n}" for rule, n in tolerated)
        text += f" Rows left to validated_songs' quarantine or de-duplication: {listed}."
    return text


def _docs_metadata(outcome: SuiteOutcome) -> dict[str, Any]:
    if outcome.docs_path is None:
        return {}
    return {
        "data_docs": dg.MetadataValue.path(str(outcome.docs_path)),
        "data_docs_url": dg.MetadataValue.url(outcome.docs_path.as_uri()),
    }


def _base_metadata(frame: pd.DataFrame, outcome: SuiteOutcome) -> dict[str, Any]:
    return {
        "suite": outcome.suite_name,
        "rows": outcome.row_count,
        "expectations_evaluated": len(outcome.expectations),
        "expectations_failed": len(outcome.failures),
        "expectations": dg.MetadataValue.md(outcome.markdown()),
        "row_rule_violations": dg.MetadataValue.md(_violations(outcome)),
        "extra_columns_ignored": ", ".join(extra_columns(frame)) or "none",
        "validation_seconds": round(outcome.seconds, 3),
        **_docs_metadata(outcome),
    }


def catalogue_check_result(
    frame: pd.DataFrame, source: str, *, run_name: str | None = None
) -> dg.AssetCheckResult:
    """Run the catalogue suite on ``frame`` and turn the outcome into a check result."""
    outcome = run_suites(
        [("raw_spotify_tracks", frame)],
        CATALOGUE_SUITE,
        data_docs_dir=data_docs_dir(),
        run_name=run_name,
    )[0]
    metadata = {"source_path": dg.MetadataValue.path(source), **_base_metadata(frame, outcome)}
    if outcome.success:
        description = f"{source}: {_passed_text(outcome)}"
        return dg.AssetCheckResult(passed=True, description=description, metadata=metadata)
    problems = _problems(frame, CATALOGUE_SUITE, outcome)
    metadata["problems"] = dg.MetadataValue.md("\n".join(f"- {p}" for p in problems))
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"Blocked: {source} fails the catalogue suite: " + "; ".join(problems),
        metadata=metadata,
    )


def new_tracks_check_result(
    frame: pd.DataFrame, partition_keys: Sequence[str], *, run_name: str | None = None
) -> dg.AssetCheckResult:
    """Run the batch suite on the hour (or the hours) of the run; one bad hour fails the check.

    A run over a range of hours (a backfill) is validated by Great Expectations as one batch,
    for the record and Data Docs, and each hour is judged on its own by the same rules
    evaluated with pandas: an hour is accepted or blocked the same way alone or in a range,
    and a 24-hour run costs one validation instead of 24 (about 0.3 CPU-seconds each).
    """
    parts = split_by_partition(frame, partition_keys)
    filled = [(key, part) for key, part in parts if len(part)]
    empty = [key for key, part in parts if not len(part)]
    label = partition_keys[0]
    if len(partition_keys) > 1:
        label = f"{partition_keys[0]}..{partition_keys[-1]}"
    if not filled:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"new_tracks {label}: empty batch, no tracks arrived (nothing to validate).",
            metadata={"rows": 0, "partitions_empty": len(empty)},
        )
    batch = pd.concat([part for _, part in filled]) if len(filled) > 1 else filled[0][1]
    outcome = run_suites(
        [(f"new_tracks_{_slug(label)}", batch)],
        NEW_TRACKS_SUITE,
        data_docs_dir=data_docs_dir(),
        run_name=run_name,
    )[0]
    metadata = _base_metadata(batch, outcome)
    metadata["partition"] = label
    if len(partition_keys) == 1:
        failed = {} if outcome.success else {label: _problems(batch, NEW_TRACKS_SUITE, outcome)}
    else:
        failed = {
            key: problems
            for key, part in filled
            if (problems := evaluate_batch(part, NEW_TRACKS_SUITE).problems)
        }
        lines = ["| partition | rows | passed | problems |", "| --- | --- | --- | --- |"]
        for key, part in filled:
            mark = "❌" if key in failed else "✅"
            lines.append(f"| {key} | {len(part)} | {mark} | {'; '.join(failed.get(key, []))} |")
        lines += [f"| {key} | 0 | empty | |" for key in empty]
        metadata["partitions"] = dg.MetadataValue.md("\n".join(lines))
        metadata["expectations_scope"] = "the whole range as one batch; the gate is per hour"
    if not failed:
        if len(partition_keys) == 1:
            description = f"new_tracks {label}: {_passed_text(outcome)}"
        else:
            description = (
                f"new_tracks {label}: all {len(filled)} hours with tracks passed "
                f"({outcome.row_count} rows, {len(empty)} empty hour(s))."
            )
        return dg.AssetCheckResult(passed=True, description=description, metadata=metadata)
    metadata["problems"] = dg.MetadataValue.md(
        "\n".join(f"- {key}: {p}" for key, problems in failed.items() for p in problems)
    )
    description = "Blocked: " + " | ".join(
        f"new_tracks partition {key}: " + "; ".join(problems) for key, problems in failed.items()
    )
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
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
    "feature ranges, genre names, row count. Blocks everything downstream on failure.",
)
def raw_spotify_tracks_great_expectations(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
) -> dg.AssetCheckResult:
    source = latest_source_path(context.instance, CATALOGUE_KEY) or "raw_spotify_tracks"
    frame = read_table(warehouse, CATALOGUE_TABLE)
    return catalogue_check_result(
        frame if frame is not None else pd.DataFrame(), source, run_name=context.run.run_id
    )


def new_tracks_great_expectations(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
) -> dg.AssetCheckResult:
    """Great Expectations suite 'new_tracks' on each hourly partition (same rules as the
    catalogue). A failed hour is blocked and left out of validated_songs."""
    window = context.partition_time_window
    frame = read_table(warehouse, NEW_TRACKS_TABLE, hours=(window.start, window.end))
    return new_tracks_check_result(
        frame if frame is not None else pd.DataFrame(),
        list(context.partition_keys),
        run_name=context.run.run_id,
    )


# Partitioned asset checks are a preview feature in dagster 1.13: the warning says so at every
# code-location load, which is noise for users of this project.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.PreviewWarning)
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
