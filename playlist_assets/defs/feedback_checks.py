"""Blocking Great Expectations checks on each stored hour of impressions and feedback.

Each runs inside its asset's step (``check_specs``), on the connection that just stored the
hour: what the asset stored is judged again from the warehouse (``lib.feedback.suites``):
every stored row counted in SQL per rule, the counts validated by Great Expectations. The
feedback check reuses what the load staged on the connection from the warehouse (the list each
request was served, the events stored for earlier hours) for the requests the load judged; a
stored row of any other request sends the hour's check to the warehouse afresh. A failed
hour fails the asset's step after its materialization, so ``online_metrics`` (and feedback after
impressions) does not run; the check says which rule broke on how many rows and gets a Data
Docs page (a passing hour gets none: building a page costs more than the validation, and its
validation asks Great Expectations for the verdict only; a failed one is validated again for
what each expectation observed, with the page). An hour
without traffic passes without running Great Expectations. (A step of its own per check cost
~0.15 CPU-s an hour in Dagster and a second connection: benchmarks/results/feedback.md.)
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import duckdb
import pandas as pd

from playlist_assets import settings
from playlist_assets.lib.constants import QUALITY_CHECK_NAME
from playlist_assets.lib.feedback import suites
from playlist_assets.lib.quality.gate import batch_slug, range_label

IMPRESSIONS_CHECK = dg.AssetCheckSpec(
    QUALITY_CHECK_NAME,
    asset="recommendation_impressions",
    blocking=True,
    description="Great Expectations suite 'recommendation_impressions' on the stored hour: "
    "columns, ids, arms, time inside the hour, lists, one row per request (counted over "
    "every stored row in SQL, the counts validated by GX).",
)
FEEDBACK_CHECK = dg.AssetCheckSpec(
    QUALITY_CHECK_NAME,
    asset="recommendation_feedback",
    blocking=True,
    description="Great Expectations suite 'recommendation_feedback' on the stored hour: "
    "columns, ids, events, time inside the hour, request and track served, an event once "
    "(counted over every stored row in SQL, the counts validated by GX).",
)


def stored_summary(
    conn: duckdb.DuckDBPyConnection, asset: str, start: datetime, end: datetime
) -> pd.DataFrame:
    """The counts per rule of the rows stored for [start, end) (``suites.hour_summary``)."""
    return suites.hour_summary(conn, asset == "recommendation_feedback", start, end)


def judge_stored(
    context: dg.AssetExecutionContext, asset: str, summaries: list[pd.DataFrame]
) -> dg.AssetCheckResult:
    """Validate the run's hours' counts (``stored_summary``) with the asset's suite."""
    label = range_label(list(context.partition_keys))
    summary = pd.concat(summaries, ignore_index=True) if summaries else pd.DataFrame()
    if summary.empty:
        return dg.AssetCheckResult(
            check_name=QUALITY_CHECK_NAME,
            passed=True,
            description=f"{asset} {label}: no rows this hour (nothing to validate).",
        )
    feedback = asset == "recommendation_feedback"
    spec = suites.FEEDBACK_SUITE if feedback else suites.IMPRESSIONS_SUITE
    batch = f"{asset}_{batch_slug(label)}"
    outcome = suites.validate(
        summary, spec, batch, data_docs_dir=None, run_name=context.run_id, verdict_only=True
    )
    if not outcome.success:  # what broke, and a page for the hour someone must look at
        outcome = suites.validate(
            summary,
            spec,
            batch,
            data_docs_dir=settings.data_folder().data_docs,
            run_name=context.run_id,
        )
    rows = int(summary[suites.ROWS].sum())
    metadata = {
        "suite": spec.name,
        "rows": rows,
        "hours": len(summary),
        "expectations_evaluated": len(outcome.expectations),
        "expectations_failed": len(outcome.failures),
        "validation_seconds": round(outcome.seconds, 3),
    }
    if outcome.success:
        return dg.AssetCheckResult(
            check_name=QUALITY_CHECK_NAME,
            passed=True,
            description=f"{asset} {label}: all {len(outcome.expectations)} expectations passed "
            f"on the counts of {rows} stored rows.",
            metadata=metadata,
        )
    problems = suites.problems(outcome, summary, spec)
    metadata["problems"] = dg.MetadataValue.md("\n".join(f"- {p}" for p in problems))
    if outcome.docs_path is not None:
        metadata["data_docs"] = dg.MetadataValue.path(str(outcome.docs_path))
    return dg.AssetCheckResult(
        check_name=QUALITY_CHECK_NAME,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"Blocked: {asset} partition {label}: " + "; ".join(problems),
        metadata=metadata,
    )
