"""Run retention: a daily job that deletes old run records and keeps what the UI still needs.

A year of hourly runs is ~9,000 run records with their events. Runs that finished more than
``keep_days`` ago are deleted with ``instance.delete_run`` unless they hold the latest
materialization of an asset or of one of its partitions, so every asset and partition keeps its
current state, lineage and metadata.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

import dagster as dg
from dagster._core.events import DagsterEventType
from pydantic import Field

FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
_CHUNK = 500


class RetentionConfig(dg.Config):
    keep_days: int = Field(default=30, ge=0, description="Keep every run that ended this recently.")


def runs_holding_latest(instance: dg.DagsterInstance) -> set[str]:
    """Ids of the runs that produced the latest materialization of some asset or partition."""
    keep: set[str] = set()
    for key in instance.get_asset_keys():
        latest = instance.get_latest_materialization_event(key)
        if latest is not None:
            keep.add(latest.run_id)
        by_partition = instance.event_log_storage.get_latest_storage_id_by_partition(
            key, DagsterEventType.ASSET_MATERIALIZATION
        )
        ids = sorted(by_partition.values())
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, storage_ids=chunk), limit=len(chunk)
            ).records
            keep.update(record.run_id for record in records)
    return keep


def expired_runs(instance: dg.DagsterInstance, cutoff: datetime, keep: Iterable[str]) -> list[str]:
    """Finished runs last updated before ``cutoff`` that are not in ``keep``."""
    kept = set(keep)
    records = instance.get_run_records(
        dg.RunsFilter(statuses=FINISHED, updated_before=cutoff), order_by="update_timestamp"
    )
    return [r.dagster_run.run_id for r in records if r.dagster_run.run_id not in kept]


@dg.op
def prune_old_runs(context: dg.OpExecutionContext, config: RetentionConfig) -> dg.Output[int]:
    """Delete expired run records; the current run and the runs behind latest states stay."""
    cutoff = datetime.now(timezone.utc) - timedelta(days=config.keep_days)
    keep = runs_holding_latest(context.instance) | {context.run_id}
    expired = expired_runs(context.instance, cutoff, keep)
    for run_id in expired:
        context.instance.delete_run(run_id)
    context.log.info(f"deleted {len(expired)} runs that ended before {cutoff:%Y-%m-%d %H:%M} UTC")
    return dg.Output(len(expired), metadata={"deleted_runs": len(expired), "kept": len(keep)})


@dg.job(description="Delete run records older than keep_days, keeping each asset's latest state.")
def run_retention_job() -> None:
    prune_old_runs()


run_retention_schedule = dg.ScheduleDefinition(
    job=run_retention_job,
    cron_schedule="17 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

defs = dg.Definitions(jobs=[run_retention_job], schedules=[run_retention_schedule])
