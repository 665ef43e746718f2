"""Blocking Great Expectations checks on each stored hour of impressions and feedback.

What the assets stored is judged again from the warehouse (``lib.feedback.suites``): a failed
hour stops ``online_metrics`` (and feedback after impressions) and says which rule broke on how
many rows. An hour without traffic passes without running Great Expectations.
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
    """Validate the stored rows of the run's hours against the asset's suite."""
    window = context.partition_time_window
    start, end = naive_utc(window.start), naive_utc(window.end)
    label = range_label(list(context.partition_keys))
    impressions = asset == "recommendation_impressions"
    table = store.IMPRESSIONS_TABLE if impressions else store.FEEDBACK_TABLE
    with warehouse.get_connection() as conn:
        rows = store.read_hour(conn, table, start, end)
        served = None
        if not impressions and len(rows):
            found = store.shown(conn, rows, rows["partition_hour"].min().to_pydatetime())
            served = found["found"] & found["rank"].notna()
    if rows.empty:
        return dg.AssetCheckResult(
            passed=True, description=f"{asset} {label}: no rows this hour (nothing to validate)."
        )
    hour_start = rows["partition_hour"]
    frame = suites.check_frame(rows, hour_start.min().to_pydatetime(), served)
    if len(context.partition_keys) > 1:  # a range: time relative to each row's own hour
        frame[suites.SECONDS_INTO_HOUR] = (rows["time"] - hour_start).dt.total_seconds()
    spec = suites.IMPRESSIONS_SUITE if impressions else suites.FEEDBACK_SUITE
    outcome = suites.validate(
        frame,
        spec,
        f"{asset}_{batch_slug(label)}",
        data_docs_dir=settings.data_folder().data_docs,
        run_name=context.run.run_id,
    )
    metadata = {
        "suite": spec.name,
        "rows": len(rows),
        "expectations_evaluated": len(outcome.expectations),
        "expectations_failed": len(outcome.failures),
        "validation_seconds": round(outcome.seconds, 3),
    }
    if outcome.success:
        return dg.AssetCheckResult(
            passed=True,
            description=f"{asset} {label}: all {len(outcome.expectations)} expectations passed "
            f"on {len(rows)} rows.",
            metadata=metadata,
        )
    problems = suites.problems(outcome)
    metadata["problems"] = dg.MetadataValue.md("\n".join(f"- {p}" for p in problems))
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
    "columns, ids, arms, time inside the hour, one row per request.",
    **_CHECK,
)
def recommendation_impressions_great_expectations(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
) -> dg.AssetCheckResult:
    return judge_stored(context, warehouse, "recommendation_impressions")


@dg.asset_check(
    asset="recommendation_feedback",
    description="Great Expectations suite 'recommendation_feedback' on the stored hour: "
    "columns, ids, events, time inside the hour, request and track served, an event once.",
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
