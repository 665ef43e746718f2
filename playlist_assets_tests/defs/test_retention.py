"""Run retention deletes old runs but never the ones behind an asset's or partition's latest state."""

import dagster as dg

from playlist_assets.defs.retention import run_retention_job

hours = dg.HourlyPartitionsDefinition(start_date="2026-11-01-00:00")


@dg.asset
def plain() -> int:
    return 1


@dg.asset(partitions_def=hours)
def hourly() -> int:
    return 2


def test_prunes_superseded_runs_and_keeps_latest_states() -> None:
    with dg.instance_for_test() as instance:
        old = dg.materialize([plain], instance=instance).run_id
        latest = dg.materialize([plain], instance=instance).run_id
        first_hour = dg.materialize(
            [hourly], instance=instance, partition_key="2026-11-01-00:00"
        ).run_id
        rerun_hour = dg.materialize(
            [hourly], instance=instance, partition_key="2026-11-01-01:00"
        ).run_id
        superseded_hour = dg.materialize(
            [hourly], instance=instance, partition_key="2026-11-01-00:00"
        ).run_id

        result = run_retention_job.execute_in_process(
            instance=instance, run_config={"ops": {"prune_old_runs": {"config": {"keep_days": 0}}}}
        )

        assert result.success
        remaining = {r.dagster_run.run_id for r in instance.get_run_records()}
        assert {latest, rerun_hour, superseded_hour, result.run_id} <= remaining
        assert old not in remaining and first_hour not in remaining
        assert instance.get_latest_materialization_event(dg.AssetKey("plain")).run_id == latest


def test_keeps_recent_runs() -> None:
    with dg.instance_for_test() as instance:
        old = dg.materialize([plain], instance=instance).run_id
        dg.materialize([plain], instance=instance)
        result = run_retention_job.execute_in_process(instance=instance)
        assert result.success
        assert old in {r.dagster_run.run_id for r in instance.get_run_records()}
