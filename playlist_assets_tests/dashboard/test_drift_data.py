"""The dashboard's drift data reads each hour's own verdict (the sensor's), never a run's worst."""

import dagster as dg
import pandas as pd

from playlist_assets.dashboard import instance_data


def test_a_backfilled_run_shows_each_hours_own_verdict() -> None:
    hours = ["2026-11-01-00:00", "2026-11-01-01:00", "2026-11-01-02:00"]
    by_partition = {
        hours[0]: {"drifted": False, "drift_score": 0.2, "reason": "no drift"},
        hours[1]: {"drifted": True, "drift_score": 1.7, "reason": "drifted"},
        hours[2]: {"drifted": False, "drift_score": 0.4, "reason": "no drift"},
    }
    with dg.instance_for_test() as instance:
        for hour in hours:  # what an older multi-hour run left: the worst hour on top
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    asset_key="feature_drift",
                    partition=hour,
                    metadata={"drifted": True, "drift_score": 1.7, "by_partition": by_partition},
                )
            )
        instance.report_runless_asset_event(  # and a new hour, with its own fields
            dg.AssetMaterialization(
                asset_key="feature_drift",
                partition="2026-11-01-03:00",
                metadata={"drifted": True, "drift_score": 1.2, "trigger": False},
            )
        )
        verdicts = instance_data.drift_verdicts(instance)
        assert list(verdicts["drifted"]) == [False, True, False, True]
        assert list(verdicts["drift_score"]) == [0.2, 1.7, 0.4, 1.2]
        assert list(verdicts["trigger"]) == [False, True, False, False]


@dg.asset(
    name="genre_classifier",
    check_specs=[dg.AssetCheckSpec("retrain_settles_drift", asset="genre_classifier")],
)
def classifier_stand_in(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """What a retrain records: the champion decision and the retrain check, from the run's tags."""
    tags = context.run.tags
    if tags.get("test/crash"):
        raise RuntimeError("retrain crashed")
    promoted = tags["test/promoted"] == "yes"
    candidate, serving = ("4", "4") if promoted else ("5", "4")
    description = "drift answered" if promoted else "drift persists: v5 did not beat v4"
    return dg.MaterializeResult(
        metadata={
            "promoted": promoted,
            "decision": "candidate wins" if promoted else "champion kept",
            "candidate_version": candidate,
            "serving_version": serving,
        },
        check_results=[dg.AssetCheckResult(passed=promoted, description=description)],
    )


RETRAINING_JOB = dg.Definitions(
    assets=[classifier_stand_in],
    jobs=[dg.define_asset_job("retraining_job", selection=[classifier_stand_in])],
).resolve_job_def("retraining_job")


def _retrain(instance: dg.DagsterInstance, tags: dict[str, str]) -> str:
    return RETRAINING_JOB.execute_in_process(
        instance=instance, tags=tags, raise_on_error=False
    ).run_id


def _sensor_tags(since: str, partitions: str, promoted: str) -> dict[str, str]:
    return {
        "dagster/sensor_name": "drift_retraining_sensor",
        "playlist_assets/reason": "drift",
        "playlist_assets/episode_since": since,
        "playlist_assets/acknowledge_since": partitions.split(", ")[0],
        "playlist_assets/drifted_partitions": partitions,
        "test/promoted": promoted,
    }


def test_retrain_episodes_lists_runs_with_their_outcome() -> None:
    with dg.instance_for_test() as instance:
        assert instance_data.retrain_episodes(instance).empty  # no retraining run yet
        promoted = _retrain(
            instance, _sensor_tags("2026-11-01-03:00", "2026-11-01-03:00, 2026-11-01-04:00", "yes")
        )
        kept = _retrain(instance, _sensor_tags("2026-11-01-09:00", "2026-11-01-09:00", "no"))
        crashed = _retrain(instance, {"test/crash": "yes"})  # launched by hand

        runs = instance_data.retrain_episodes(instance).set_index("run_id")
        assert list(runs.index) == [promoted, kept, crashed]
        assert list(runs["status"]) == ["SUCCESS", "SUCCESS", "FAILURE"]
        assert list(runs["trigger"]) == ["drift_retraining_sensor"] * 2 + ["manual"]
        assert list(runs["reason"]) == ["drift", "drift", "manual"]
        assert list(runs["episode_since"]) == ["2026-11-01-03:00", "2026-11-01-09:00", ""]
        assert list(runs["acknowledge_since"]) == ["2026-11-01-03:00", "2026-11-01-09:00", ""]
        assert runs.loc[promoted, "promoted"] is True and runs.loc[kept, "promoted"] is False
        assert runs.loc[crashed, "promoted"] is None
        assert list(runs["candidate_version"]) == ["4", "5", ""]
        assert list(runs["decision"]) == ["candidate wins", "champion kept", ""]
        assert list(runs["check_passed"]) == [True, False, None]
        assert runs.loc[kept, "check"] == "drift persists: v5 did not beat v4"

        episodes = instance_data.episodes_from_runs(
            instance_data.retrain_episodes(instance), pd.DataFrame()
        )
        assert list(episodes["retrain_run_id"]) == [promoted, kept, crashed]
        assert list(episodes["outcome"]) == ["promoted v4", "champion v4 kept", "retrain failed"]
        assert list(episodes["started_hour"])[:2] == [
            pd.Timestamp("2026-11-01 03:00"),
            pd.Timestamp("2026-11-01 09:00"),
        ]
        assert list(episodes["detail"])[1:] == [
            "drift persists: v5 did not beat v4",
            "requested by manual",
        ]
