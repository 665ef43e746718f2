"""Blocking Great Expectations checks on each stored hour of impressions and feedback.

What the assets stored is judged again from the warehouse (``lib.feedback.suites``): every
stored row counted in SQL per rule, the counts validated by Great Expectations. A failed hour
stops ``online_metrics`` (and feedback after impressions), says which rule broke on how many
rows and gets a Data Docs page (a passing hour gets none: building a page costs more than the
validation). An hour without traffic passes without running Great Expectations.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from playlist_assets import settings
from playlist_assets.defs.partitions import hourly_partitions, naive_utc
from playlist_assets.lib.constants import DUCKDB_POOL, QUALITY_CHECK_NAME
from playlist_assets.lib.feedback import store, suites
from playlist_assets.lib.quality.gate import batch_slug, range_label


def judge_stored(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, asset: str
) -> dg.AssetCheckResult:
    """Count, in SQL, the stored rows of the run's hours breaking each rule; validate the
    counts with the asset's suite."""
    window = context.partition_time_window
    start, end = naive_utc(window.start), naive_utc(window.end)
    label = range_label(list(context.partition_keys))
    feedback = asset == "recommendation_feedback"
    with warehouse.get_connection() as conn:
        summary = suites.hour_summary(store.for_an_hour(conn), feedback, start, end)
    if summary.empty:
        return dg.AssetCheckResult(
            passed=True, description=f"{asset} {label}: no rows this hour (nothing to validate)."
        )
    spec = suites.FEEDBACK_SUITE if feedback else suites.IMPRESSIONS_SUITE
    batch = f"{asset}_{batch_slug(label)}"
    outcome = suites.validate(summary, spec, batch, data_docs_dir=None, run_name=context.run.run_id)
    if not outcome.success:  # a page for the hour someone must look at (building one: ~0.4 s)
        outcome = suites.validate(
            summary,
            spec,
            batch,
            data_docs_dir=settings.data_folder().data_docs,
            run_name=context.run.run_id,
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
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"Blocked: {asset} partition {label}: " + "; ".join(problems),
        metadata=metadata,
    )


_CHECK = {
    "name": QUALITY_CHECK_NAME,
    "blocking": True,
    "pool": DUCKDB_POOL,
    "partitions_def": hourly_partitions,
}


@dg.asset_check(
    asset="recommendation_impressions",
    description="Great Expectations suite 'recommendation_impressions' on the stored hour: "
    "columns, ids, arms, time inside the hour, lists, one row per request (counted over "
    "every stored row in SQL, the counts validated by GX).",
    **_CHECK,
)
def recommendation_impressions_great_expectations(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
) -> dg.AssetCheckResult:
    return judge_stored(context, warehouse, "recommendation_impressions")


@dg.asset_check(
    asset="recommendation_feedback",
    description="Great Expectations suite 'recommendation_feedback' on the stored hour: "
    "columns, ids, events, time inside the hour, request and track served, an event once "
    "(counted over every stored row in SQL, the counts validated by GX).",
    **_CHECK,
)
def recommendation_feedback_great_expectations(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
) -> dg.AssetCheckResult:
    return judge_stored(context, warehouse, "recommendation_feedback")


defs = dg.Definitions(
    asset_checks=[
        recommendation_impressions_great_expectations,
        recommendation_feedback_great_expectations,
    ]
)
