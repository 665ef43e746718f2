"""The dashboard's drift data reads each hour's own verdict (the sensor's), never a run's worst."""

import dagster as dg

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


def test_retrain_episodes_lists_runs_with_their_outcome() -> None:
    with dg.instance_for_test() as instance:
        assert instance_data.retrain_episodes(instance).empty
