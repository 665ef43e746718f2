"""Listeners' reactions as hourly assets: what was served, what came back, how each arm does.

``recommendation_impressions`` and ``recommendation_feedback`` read the hour's landing lines
(written by the API, or batch files of the same shape; ``lib.feedback.contract``) into the
warehouse, one hour replaced at a time; unusable lines go to ``*_rejects`` tables with the
reason. Each has a blocking Great Expectations check on what was stored, run in the asset's
step (``feedback_checks``). ``online_metrics``
turns the hour into rates per model version, strategy and arm, and the arms' difference.
They run by themselves: impressions five minutes after each hour (lines of the hour that just
ended have landed by then), the rest as soon as their inputs passed their checks. Each step
opens the warehouse (``warehouse.database``) attached to the process's in-memory DuckDB
(``lib.duckdb_host``) rather than as a database of its own: ~0.03 CPU-s less a step.
"""

from contextlib import AbstractContextManager
from datetime import datetime

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from playlist_assets import settings
from playlist_assets.defs.feedback_checks import (
    FEEDBACK_CHECK,
    IMPRESSIONS_CHECK,
    judge_stored,
    stored_summary,
)
from playlist_assets.defs.partitions import BACKFILL_POLICY, hourly_partitions, partition_hours
from playlist_assets.lib.constants import DUCKDB_POOL
from playlist_assets.lib.duckdb_host import attached
from playlist_assets.lib.feedback import store
from playlist_assets.lib.feedback.contract import FEEDBACK_DIR, IMPRESSIONS_DIR
from playlist_assets.lib.feedback.lines import HourSummary, load_hour
from playlist_assets.lib.quality.gate import range_label

GROUP = "listeners"
OWNERS = ["team:ml-engineering"]
_LISTED = 5

AFTER_THE_HOUR = dg.AutomationCondition.on_cron("5 * * * *").with_label(
    "five minutes after each hour"
)
AFTER_CHECKS = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("eager, after the inputs' blocking checks passed")
_COMMON = {
    "partitions_def": hourly_partitions,
    "group_name": GROUP,
    "owners": OWNERS,
    "tags": settings.HOURLY_TAGS,
    "pool": DUCKDB_POOL,
    "backfill_policy": BACKFILL_POLICY,
}


def _connect(warehouse: DuckDBResource) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    """The step's connection: the warehouse attached to the process's DuckDB (module
    docstring); a resource with its own connection settings opens its database as configured."""
    if warehouse.connection_config:
        return warehouse.get_connection()
    return attached(warehouse.database)


def _load(
    context: dg.AssetExecutionContext,
    warehouse: DuckDBResource,
    kind: str,
    rejects_table: str,
) -> dg.MaterializeResult:
    """Load each hour of the run (``lines.load_hour``) and judge what was stored on the same
    connection (its blocking check); the metadata, and a warning naming the reasons when lines
    were kept aside."""
    asset = context.asset_key.to_user_string()
    summaries: list[HourSummary] = []
    stored = []
    for _key, start, end in partition_hours(context.partition_keys):
        with _connect(warehouse) as conn:
            store.for_an_hour(conn)
            summaries.append(load_hour(conn, settings.landing_dir(), kind, start, end))
            stored.append(stored_summary(conn, asset, start, end))
    rejected = sum(s.rejected for s in summaries)
    reasons = sorted({r for s in summaries for r in s.reasons})
    counts: dict[str, int] = {}
    for s in summaries:
        for name, n in s.counts.items():
            counts[name] = counts.get(name, 0) + n
    metadata: dict[str, object] = {
        "partition": range_label(context.partition_keys),
        "dagster/row_count": sum(s.rows for s in summaries),
        "rejected_rows": rejected,
        ("arms" if kind == IMPRESSIONS_DIR else "events"): dg.MetadataValue.json(counts),
    }
    if rejected:
        listed = "; ".join(reasons[:_LISTED])
        context.log.warning(f"{rejected} line(s) kept aside in {rejects_table}: {listed}")
        metadata["rejects"] = dg.MetadataValue.md(
            "\n".join(f"- {r[:200]}" for r in reasons[:_LISTED])
            + f"\n\nAll rejected lines, with file, line and reason: {rejects_table}."
        )
    verdict = judge_stored(context, asset, stored)
    return dg.MaterializeResult(metadata=metadata, check_results=[verdict])


@dg.asset(
    **_COMMON,
    kinds={"duckdb"},
    automation_condition=AFTER_THE_HOUR,
    check_specs=[IMPRESSIONS_CHECK],
)
def recommendation_impressions(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """Every list the API served in the hour (request, listener, model version, strategy, arm,
    seeds, ranked songs) in ``main.recommendation_impressions``; unusable lines in
    ``main.recommendation_impressions_rejects`` with the file, line and reason."""
    return _load(context, warehouse, IMPRESSIONS_DIR, store.IMPRESSIONS_REJECTS_TABLE)


@dg.asset(
    **_COMMON,
    kinds={"duckdb"},
    deps=["recommendation_impressions"],
    automation_condition=AFTER_CHECKS,
    check_specs=[FEEDBACK_CHECK],
)
def recommendation_feedback(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """The hour's feedback events (added, played, skipped, liked, disliked) joined with the
    impression they answer (rank, arm, model version, strategy) in
    ``main.recommendation_feedback``. Rejected with the reason, in
    ``main.recommendation_feedback_rejects``: bad lines, unknown events, times outside the hour,
    requests not served in this hour or the 24 before, tracks not in the served list, repeats."""
    return _load(context, warehouse, FEEDBACK_DIR, store.FEEDBACK_REJECTS_TABLE)


@dg.asset(
    **_COMMON,
    kinds={"duckdb", "pandas"},
    deps=["recommendation_impressions", "recommendation_feedback"],
    automation_condition=AFTER_CHECKS,
)
def online_metrics(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """Per model version × strategy × arm: impressions, acceptance rate, add-rate@10, skip
    rate, share of fresh songs served, distinct listeners, with 95 % Wilson intervals
    (``main.online_metrics``); challenger minus champion acceptance with its interval and
    whether it is significant, each listener one unit (``main.online_arm_difference``;
    per-listener counts in ``main.online_user_counts``)."""
    from playlist_assets.lib.feedback.metrics import arm_difference, rates
    from playlist_assets.lib.recommend.names import NEW_SONG_HOURS

    hours: list[tuple[datetime, object, object]] = []
    for _key, start, end in partition_hours(context.partition_keys):
        with _connect(warehouse) as conn:
            store.for_an_hour(conn)
            counts, users = store.hour_counts(conn, start, end, NEW_SONG_HOURS)
            metrics = rates(counts).assign(partition_hour=start)
            difference = arm_difference(counts, start, users)
            tables = {
                store.METRICS_TABLE: metrics,
                store.ARM_DIFFERENCE_TABLE: difference,
                store.USER_COUNTS_TABLE: users.assign(partition_hour=start),
            }
            store.replace_metrics(conn, tables, start, end)
        hours.append((start, metrics, difference))
    import pandas as pd

    every = pd.concat([m for _, m, _ in hours], ignore_index=True)  # all the run's hours
    every = every if len(every) else hours[-1][1]
    return dg.MaterializeResult(metadata=_metrics_metadata(context, every, hours[-1][2]))


def _metrics_metadata(context: dg.AssetExecutionContext, metrics, difference) -> dict:  # noqa: ANN001
    shown = ["model_version", "strategy", "arm", "impressions", "acceptance_rate", "users"]
    champion = metrics[metrics["arm"] == "champion"] if len(metrics) else metrics
    metadata: dict[str, object] = {
        "partition": range_label(context.partition_keys),
        # what the retraining sensor reads (lib/drift/feedback_triggers.py)
        "champion_impressions": int(champion["impressions"].sum()) if len(champion) else 0,
        "champion_accepted": int(champion["accepted_impressions"].sum()) if len(champion) else 0,
        "accepted_requests": int(metrics["accepted_impressions"].sum()) if len(metrics) else 0,
        "impressions": int(metrics["impressions"].sum()) if len(metrics) else 0,
        "feedback_events": int(metrics["events"].sum()) if len(metrics) else 0,
        "by_arm": dg.MetadataValue.md(
            metrics[shown].round(4).to_markdown(index=False) if len(metrics) else "_no impressions_"
        ),
    }
    for row in difference.to_dict("records"):
        metadata[f"ab_{row['strategy']}"] = (
            f"{row['verdict']}: challenger - champion acceptance "
            f"{row['difference']:+.4f} [{row['difference_low']:+.4f}, "
            f"{row['difference_high']:+.4f}]"
        )
    return metadata


feedback_automation_sensor = dg.AutomationConditionSensorDefinition(
    "feedback_automation_sensor",
    target=dg.AssetSelection.groups(GROUP),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Reads each hour's impressions five minutes after the hour, then its feedback "
    "and online metrics once the checks before them passed.",
)


defs = dg.Definitions(
    assets=[recommendation_impressions, recommendation_feedback, online_metrics],
    sensors=[feedback_automation_sensor],
)
