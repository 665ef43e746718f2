"""The dashboard's readers: empty on a fresh install, faithful on data, polite about locks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from playlist_assets.dashboard import data, instance_data


def test_fresh_install_reads_as_empty_and_creates_nothing(empty_home: Path) -> None:
    loaders = [
        data.songs_per_genre,
        data.tracks_per_partition,
        data.quarantine_reasons,
        data.quarantine_examples,
        data.feature_drift,
        data.recommendation_eval,
        data.mlflow_runs,
        instance_data.check_history,
        instance_data.drift_verdicts,
        instance_data.retraining_runs,
    ]
    for load in loaders:
        assert load().empty, load.__name__
    assert data.champion() == {}
    assert data.example_playlist_ref() == ""
    assert data.table_columns() == {}
    # Reading must not create the warehouse or the MLflow database as a side effect.
    assert list(empty_home.iterdir()) == []


def test_songs_base_readers(filled_home: Path) -> None:
    genres = data.songs_per_genre()
    assert dict(zip(genres["genre"], genres["songs"], strict=True)) == {
        "jazz": 40,
        "pop": 40,
        "rock": 40,
    }
    partitions = data.tracks_per_partition()
    assert partitions["tracks"].sum() == 12
    assert partitions["partition_hour"].nunique() == 6
    assert set(partitions["source"]) == {"replay"}
    reasons = data.quarantine_reasons()
    assert reasons["rows"].sum() == 3
    assert "tempo out of range [0, 250]" in set(reasons["reason"])
    examples = data.quarantine_examples(limit=2)
    assert len(examples) == 2 and "reason" in examples.columns


def test_feature_drift_is_normalised(filled_home: Path) -> None:
    drift = data.feature_drift()
    assert {"partition_hour", "feature", "psi", "ks_stat", "drifted"} <= set(drift.columns)
    assert pd.api.types.is_datetime64_any_dtype(drift["partition_hour"])
    assert drift["partition_hour"].is_monotonic_increasing
    assert data.drift_threshold(drift) == 0.2
    assert data.drift_threshold(drift.assign(psi_threshold=0.3)) == 0.3


def test_mlflow_runs_are_classified_and_the_champion_found(filled_home: Path) -> None:
    runs = data.mlflow_runs()
    assert runs["kind"].value_counts().to_dict() == {
        "classifier": 3,
        "cluster": 3,
        "recommendation_eval": 2,
    }
    classifier = data.runs_of_kind(runs, "classifier")
    champ = data.champion()
    assert champ["name"] == "playlist_genre_classifier" and champ["version"] == "2"
    # The standin promotes its second classifier run (macro-F1 0.65).
    assert classifier.set_index("run_id").loc[champ["run_id"], "metrics.macro_f1"] == 0.65
    matrix = data.confusion_matrix(champ["run_id"])
    assert list(matrix.index) == ["jazz", "rock", "pop"] == list(matrix.columns)
    assert matrix.loc["jazz", "jazz"] == 31
    clusters = data.runs_of_kind(runs, "cluster")
    assert sorted(clusters["genre"]) == ["jazz", "pop", "rock"]
    assert "metrics.accuracy" not in clusters.columns
    assert data.runs_of_kind(runs, "no_such_kind").empty


def test_example_playlist_is_a_stored_mpd_reference(filled_home: Path) -> None:
    ref = data.example_playlist_ref()
    assert ref.startswith("mpd:")
    assert int(ref.removeprefix("mpd:")) >= 0


def test_a_held_write_lock_becomes_warehouse_busy(tmp_path: Path) -> None:
    """A Dagster run writing to the warehouse: retry once, then a friendly message."""
    warehouse = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            f"con = duckdb.connect({str(warehouse)!r})\n"
            "con.execute('CREATE TABLE validated_songs (track_genre VARCHAR)')\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with (
            pytest.raises(data.WarehouseBusy, match="busy: a Dagster run is writing"),
            data.connect(warehouse, retry_wait=0.05),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    # Once the writer is gone the same read works.
    assert data.songs_per_genre(warehouse).empty


def _instance_history(instance: dg.DagsterInstance) -> None:
    """Check evaluations on two partitions, two drift materializations and a sensor run."""
    hourly = dg.HourlyPartitionsDefinition(start_date="2026-11-01-00:00")

    @dg.asset(
        partitions_def=hourly,
        check_specs=[dg.AssetCheckSpec("schema_ok", asset="new_tracks")],
    )
    def new_tracks(context):
        yield dg.Output(1)
        yield dg.AssetCheckResult(passed=context.partition_key.endswith("00:00"))

    @dg.asset(partitions_def=hourly)
    def feature_drift(context):
        drifted = context.partition_key.endswith("01:00")
        return dg.MaterializeResult(
            metadata={
                "drifted": drifted,
                "drift_score": 1.7 if drifted else 0.2,
                "share_drifted": 0.5 if drifted else 0.0,
                "thresholds": {"psi": 0.25},
            }
        )

    for key in ("2026-11-01-00:00", "2026-11-01-01:00"):
        assert dg.materialize(
            [new_tracks, feature_drift], instance=instance, partition_key=key
        ).success
    assert dg.materialize(
        [feature_drift],
        instance=instance,
        partition_key="2026-11-01-01:00",
        tags={"dagster/sensor_name": data.DRIFT_SENSOR_NAME},
    ).success


def test_dagster_instance_history() -> None:
    with dg.instance_for_test() as instance:
        _instance_history(instance)
        checks = instance_data.check_history(instance)
        assert list(checks["check"].unique()) == ["schema_ok"]
        by_partition = dict(zip(checks["partition"], checks["passed"], strict=True))
        assert by_partition == {"2026-11-01-00:00": True, "2026-11-01-01:00": False}

        verdicts = instance_data.drift_verdicts(instance)
        assert list(verdicts["drifted"]) == [False, True]
        assert list(verdicts["drift_score"]) == [0.2, 1.7]
        assert verdicts["thresholds"].iloc[-1] == {"psi": 0.25}

        retrains = instance_data.retraining_runs(instance)
        assert len(retrains) == 1
        assert retrains["trigger"].iloc[0] == data.DRIFT_SENSOR_NAME
        assert retrains["status"].iloc[0] == "SUCCESS"


def test_each_hour_of_a_backfill_keeps_its_own_verdict() -> None:
    """A multi-hour feature_drift run records the worst hour on top and every hour's own verdict
    in its per-hour map: the dashboard shows each hour's, as the sensor reads it."""
    from playlist_assets.lib.drift.episodes import LEGACY_BY_PARTITION as BY_PARTITION

    hourly = dg.HourlyPartitionsDefinition(start_date="2026-11-01-00:00")

    @dg.asset(partitions_def=hourly, backfill_policy=dg.BackfillPolicy.single_run())
    def feature_drift(context):
        per_hour = {
            key: {
                "drifted": key.endswith("02:00"),
                "drift_score": 1.9 if key.endswith("02:00") else 0.3,
            }
            for key in context.partition_keys
        }
        return dg.MaterializeResult(
            metadata={"drifted": True, "drift_score": 1.9, BY_PARTITION: per_hour}
        )

    with dg.instance_for_test() as instance:
        assert dg.materialize(
            [feature_drift],
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2026-11-01-00:00",
                "dagster/asset_partition_range_end": "2026-11-01-03:00",
            },
        ).success
        verdicts = instance_data.drift_verdicts(instance)
        assert list(verdicts["drifted"]) == [False, False, True, False]
        assert list(verdicts["drift_score"]) == [0.3, 0.3, 1.9, 0.3]

        episodes = instance_data.episodes_from_runs(pd.DataFrame(), verdicts)
        assert list(episodes["started_hour"]) == [pd.Timestamp("2026-11-01 02:00")]
        assert episodes["outcome"].iloc[0] == "no retraining run yet"


def test_episodes_follow_the_retraining_runs() -> None:
    retrains = pd.DataFrame(
        {
            "run_id": ["r1"],
            "status": ["SUCCESS"],
            "start_time": [pd.Timestamp("2026-11-01 05:10")],
            "trigger": [data.DRIFT_SENSOR_NAME],
            "drifted_partitions": ["2026-11-01-03:00, 2026-11-01-04:00"],
        }
    )
    verdicts = pd.DataFrame(
        {
            "partition_hour": pd.date_range("2026-11-01 03:00", periods=4, freq="h"),
            "drifted": [True, True, False, True],
        }
    )
    episodes = instance_data.episodes_from_runs(retrains, verdicts)
    assert list(episodes["retrain_run_id"]) == ["r1", ""]
    assert list(episodes["started_hour"]) == [
        pd.Timestamp("2026-11-01 03:00"),
        pd.Timestamp("2026-11-01 06:00"),
    ]
    assert list(episodes["outcome"]) == ["retrained", "no retraining run yet"]
