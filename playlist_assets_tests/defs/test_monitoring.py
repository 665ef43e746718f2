import json
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster_duckdb_pandas import DuckDBPandasIOManager
from drift_data import GENRES, make_tracks  # noqa: E402

from playlist_assets.defs.monitoring import feature_drift
from playlist_assets.defs.partitions import hourly_partitions
from playlist_assets.defs.retraining import (
    RETRAIN_ASSET_KEYS,
    DriftRetrainPolicy,
    drift_retraining_sensor,
    retraining_job,
)
from playlist_assets.lib.classifier.models import ClassifierBundle
from playlist_assets.lib.drift.stats import prediction_mix
from playlist_assets.lib.schema import AUDIO_FEATURES

# Stand-in feed: which hours of the test day carry drift or too few tracks.
DAY = "2026-11-02"
DRIFTED_HOURS = set(range(10, 20))
FEW_TRACKS_HOUR = 23


def hour_key(hour: int) -> str:
    return f"{DAY}-{hour:02d}:00"


def make_bundle() -> ClassifierBundle:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    reference = make_tracks(2000, seed=1)
    features = list(AUDIO_FEATURES)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(reference[features], reference["track_genre"])
    test = make_tracks(500, seed=2)
    return ClassifierBundle(
        model=model,
        feature_columns=features,
        reference=reference,
        reference_prediction_mix=prediction_mix(model.predict(test[features])),
        metrics={},
        run_id="run-abc",
        version="3",
    )


@dg.asset(
    partitions_def=hourly_partitions,
    metadata={"partition_expr": "partition_hour"},
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=24),
)
def new_tracks(context: dg.AssetExecutionContext) -> pd.DataFrame:
    """Stand-in for the feed: normal hours, drifted hours, one nearly empty hour."""
    frames = []
    for key in context.partition_keys:
        start = hourly_partitions.time_window_for_partition_key(key).start
        n = 8 if start.hour == FEW_TRACKS_HOUR else 150
        frame = make_tracks(n, seed=100 + start.hour, drift=start.hour in DRIFTED_HOURS)
        frame["partition_hour"] = pd.Timestamp(start).tz_convert("UTC").tz_localize(None)
        frame["source"] = "test"
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@dg.asset(io_manager_key="model_io_manager")
def genre_classifier() -> ClassifierBundle:
    return make_bundle()


@pytest.fixture
def resources(tmp_path: Path) -> dict:
    return {
        "io_manager": DuckDBPandasIOManager(
            database=str(tmp_path / "warehouse.duckdb"), schema="main"
        ),
        "model_io_manager": dg.FilesystemIOManager(base_dir=str(tmp_path / "models")),
    }


@pytest.fixture
def instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.ephemeral()


def materialize_hours(hours: list[int], instance: dg.DagsterInstance, resources: dict) -> list:
    assets = [new_tracks, genre_classifier, feature_drift]
    if not instance.get_latest_materialization_event(dg.AssetKey("genre_classifier")):
        assert dg.materialize([genre_classifier], instance=instance, resources=resources).success
    results = []
    for hour in hours:
        result = dg.materialize(
            assets,
            selection=[new_tracks, feature_drift],
            partition_key=hour_key(hour),
            instance=instance,
            resources=resources,
        )
        assert result.success
        results.append(result)
    return results


def drift_metadata(result: dg.ExecuteInProcessResult) -> dict:
    [event] = result.asset_materializations_for_node("feature_drift")
    return {k: getattr(v, "value", v) for k, v in event.metadata.items()}


def evaluate(instance: dg.DagsterInstance, cursor: str | None = None, interval: int = 3600):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={
            "drift_retrain_policy": DriftRetrainPolicy(min_retrain_interval_seconds=interval)
        },
    )
    return drift_retraining_sensor.evaluate_tick(context)


def report_drift_event(
    instance: dg.DagsterInstance, partition: str, drifted: bool, score: float, ack: str = ""
) -> None:
    """What a feature_drift materialization leaves in the event log, without running it.

    ``ack`` is the retrain whose acknowledged reference the hour was judged against."""
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key="feature_drift",
            partition=partition,
            metadata={
                "drifted": drifted,
                "drift_score": score,
                "trigger": drifted,
                "acknowledged_run": ack,
                "n_tracks": 40,
                "reason": "test",
            },
        )
    )


def test_normal_partition_is_not_drifted_and_the_sensor_skips(instance, resources) -> None:
    [result] = materialize_hours([3], instance, resources)
    meta = drift_metadata(result)
    assert meta["drifted"] is False
    assert meta["drift_score"] < 1.0
    assert meta["n_tracks"] == 150
    assert meta["model_version"] == "3"
    assert meta["reason"].startswith("no drift")
    # Numbers and a short verdict only: the per-feature table is in the warehouse.
    assert "features" not in meta and "by_partition" not in meta

    tick = evaluate(instance)
    assert tick.run_requests == []
    assert "checked 1 new feature_drift materialization(s)" in tick.skip_message
    assert "none drifted" in tick.skip_message and "max drift_score" in tick.skip_message


def test_per_feature_table_is_stored_per_partition(instance, resources, tmp_path: Path) -> None:
    import duckdb

    materialize_hours([3, 12, 3], instance, resources)  # re-running hour 3 replaces its rows
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        table = con.sql(
            "SELECT strftime(partition_hour, '%H') AS hour, count(*) AS n, "
            "sum(drifted::INT) AS drifted FROM main.feature_drift GROUP BY 1 ORDER BY 1"
        ).df()
    assert table.to_dict("records") == [
        {"hour": "03", "n": len(AUDIO_FEATURES), "drifted": 0},
        {"hour": "12", "n": len(AUDIO_FEATURES), "drifted": 4},
    ]


def test_drifted_partition_requests_one_retraining_run(instance, resources) -> None:
    [result] = materialize_hours([12], instance, resources)
    meta = drift_metadata(result)
    assert meta["drifted"] is True and meta["drift_score"] >= 1.0
    assert set(meta["drifted_features"].split(", ")) == {
        "energy",
        "danceability",
        "acousticness",
        "loudness",
    }

    tick = evaluate(instance)
    assert len(tick.run_requests) == 1
    request = tick.run_requests[0]
    assert request.job_name == "retraining_job"
    assert request.tags["playlist_assets/drifted_partitions"] == hour_key(12)
    assert request.tags["playlist_assets/drifted_count"] == "1"
    assert request.run_key

    # Same event, next tick: the cursor has moved past it, so no second request.
    again = evaluate(instance, cursor=tick.cursor)
    assert again.run_requests == []
    assert "no new feature_drift materializations" in again.skip_message


def test_a_run_over_several_hours_judges_each_hour(instance, resources) -> None:
    assert dg.materialize([genre_classifier], instance=instance, resources=resources).success
    result = dg.materialize(
        [new_tracks, genre_classifier, feature_drift],
        selection=[new_tracks, feature_drift],
        tags={
            "dagster/asset_partition_range_start": hour_key(8),
            "dagster/asset_partition_range_end": hour_key(10),
        },
        instance=instance,
        resources=resources,
    )
    assert result.success
    events = result.asset_materializations_for_node("feature_drift")
    assert sorted(e.partition for e in events) == [hour_key(8), hour_key(9), hour_key(10)]
    # Each hour's event carries its own verdict (no run-wide map).
    assert {e.partition: e.metadata["drifted"].value for e in events} == {
        hour_key(8): False,
        hour_key(9): False,
        hour_key(10): True,
    }
    tick = evaluate(instance)
    assert len(tick.run_requests) == 1
    assert tick.run_requests[0].tags["playlist_assets/drifted_partitions"] == hour_key(10)


def test_too_few_tracks_is_reported_not_raised(instance, resources) -> None:
    [result] = materialize_hours([FEW_TRACKS_HOUR], instance, resources)
    meta = drift_metadata(result)
    assert meta["drifted"] is False
    assert meta["reason"] == "too few tracks to judge: 8 < min_tracks 30"
    tick = evaluate(instance)
    assert tick.run_requests == [] and "1 had too few tracks to judge" in tick.skip_message


def test_burst_of_ten_drifted_partitions_yields_one_request(instance) -> None:
    for hour in sorted(DRIFTED_HOURS):
        report_drift_event(instance, hour_key(hour), drifted=True, score=1.5 + hour / 100)
    report_drift_event(instance, hour_key(20), drifted=False, score=0.2)

    tick = evaluate(instance)
    assert len(tick.run_requests) == 1
    tags = tick.run_requests[0].tags
    assert tags["playlist_assets/drifted_count"] == "10"
    assert tags["playlist_assets/drifted_partitions"].startswith(f"{hour_key(10)}, {hour_key(11)}")
    assert tags["playlist_assets/max_drift_score"] == "1.690"
    assert evaluate(instance, cursor=tick.cursor).run_requests == []


def test_drift_inside_the_minimum_interval_is_folded_into_one_later_request(instance) -> None:
    report_drift_event(instance, hour_key(10), drifted=True, score=2.0)
    first = evaluate(instance, interval=3600)
    assert len(first.run_requests) == 1

    # A retrain (run-2) has acknowledged hour 10; a further shift right after is held in the
    # cursor, not a second run.
    report_drift_event(instance, hour_key(11), drifted=True, score=2.0, ack="run-2")
    report_drift_event(instance, hour_key(12), drifted=True, score=2.0, ack="run-2")
    held = evaluate(instance, cursor=first.cursor, interval=3600)
    assert held.run_requests == []
    assert "2 drifted partition(s) held" in held.skip_message

    # Once the interval has passed, the held events become exactly one request.
    state = json.loads(held.cursor)
    state["last_request_at"] = time.time() - 3601
    later = evaluate(instance, cursor=json.dumps(state), interval=3600)
    assert len(later.run_requests) == 1
    assert (
        later.run_requests[0].tags["playlist_assets/drifted_partitions"]
        == f"{hour_key(11)}, {hour_key(12)}"
    )
    assert later.run_requests[0].run_key != first.run_requests[0].run_key
    assert evaluate(instance, cursor=later.cursor, interval=3600).run_requests == []


def _drift_storage_ids(instance: dg.DagsterInstance) -> list[int]:
    records = instance.fetch_materializations(dg.AssetKey("feature_drift"), limit=100).records
    return sorted(r.storage_id for r in records)


def test_run_key_is_tied_to_the_drift_events(instance) -> None:
    report_drift_event(instance, hour_key(10), drifted=True, score=2.0)
    [first] = _drift_storage_ids(instance)
    [request] = evaluate(instance).run_requests
    assert request.run_key == f"feature_drift:{first}-{first}:1"
    assert request.tags["playlist_assets/drift_event_ids"] == f"{first}-{first}"
    # The key names the events: a lost cursor re-reading the same events asks for the same run
    # (the daemon does not launch it twice); read with one more event, it is another run.
    report_drift_event(instance, hour_key(11), drifted=True, score=2.0)
    _, second = _drift_storage_ids(instance)
    [again] = evaluate(instance).run_requests
    assert again.run_key == f"feature_drift:{first}-{second}:2" != request.run_key


def test_empty_instance_skips_with_what_was_checked(instance) -> None:
    tick = evaluate(instance)
    assert tick.run_requests == []
    assert tick.skip_message == "no new feature_drift materializations since storage id the start"


def test_retraining_job_selects_the_retrain_assets() -> None:
    @dg.multi_asset(
        specs=[dg.AssetSpec(["genre_cluster_models", g]) for g in GENRES], can_subset=True
    )
    def clusters():
        return None

    names = [*RETRAIN_ASSET_KEYS, "raw_spotify_tracks", "playlists"]

    @dg.multi_asset(specs=[dg.AssetSpec(n) for n in names], can_subset=True)
    def others():
        return None

    defs = dg.Definitions(
        assets=[clusters, others, new_tracks, feature_drift], jobs=[retraining_job]
    )
    selected = {
        k.to_user_string()
        for k in defs.resolve_job_def("retraining_job").asset_layer.selected_asset_keys
    }
    assert selected == {*RETRAIN_ASSET_KEYS, *(f"genre_cluster_models/{g}" for g in GENRES)}


def test_retraining_job_resolves_without_the_optional_eval_asset() -> None:
    keys = [k for k in RETRAIN_ASSET_KEYS if k != "recommendation_eval"]

    @dg.multi_asset(specs=[dg.AssetSpec(k) for k in keys], can_subset=True)
    def core():
        return None

    # Only named as a dependency (as the dashboard does): not an asset the job can run.
    @dg.asset(deps=["recommendation_eval"])
    def dashboard() -> None:
        return None

    defs = dg.Definitions(assets=[core, dashboard], jobs=[retraining_job])
    selected = {
        k.to_user_string()
        for k in defs.resolve_job_def("retraining_job").asset_layer.selected_asset_keys
    }
    assert selected == set(keys)


def test_sensor_is_on_by_default_and_targets_the_retraining_job() -> None:
    assert drift_retraining_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert drift_retraining_sensor.job_name == "retraining_job"
    assert drift_retraining_sensor.minimum_interval_seconds


# ---------------------------------------------------------------------------------------------
# end to end, with the project's real assets, feed and MLflow


PARTITIONED = dg.AssetSelection.from_string("tag:cadence=hourly")  # the feed, listeners' hours


def project_defs() -> dg.Definitions:
    """The code location as `dagster dev` loads it, built after the test set its data folder."""
    from playlist_assets import definitions

    baseline = dg.define_asset_job(
        "e2e_baseline", selection=retraining_job.selection.upstream() - PARTITIONED
    )
    return dg.Definitions.merge(
        definitions.load_defs_folder(),
        dg.Definitions(resources=definitions.build_resources(), jobs=[baseline]),
    )


@pytest.mark.slow
def test_drifted_hour_retrains_and_records_the_champion_decision(data_home: Path) -> None:
    from mlflow import MlflowClient

    from playlist_assets import settings
    from playlist_assets.lib.classifier.artifacts import load_classifier

    defs = project_defs()
    hour = "2026-11-20-10:00"
    drift_config = {
        "resources": {
            "feed": {
                "config": {
                    "drift_features": ["energy", "danceability", "acousticness", "loudness"],
                    "drift_strength": 2.0,
                    "tracks_per_hour": 60,
                }
            }
        }
    }
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("e2e_baseline").execute_in_process(instance=instance).success
        client = MlflowClient(tracking_uri=settings.default_mlflow_uri())
        model_name = load_classifier(settings.models_dir()).registered_model
        versions_before = client.search_model_versions(f"name='{model_name}'")

        feed_run = defs.resolve_job_def("hourly_feed_job").execute_in_process(
            instance=instance, partition_key=hour, run_config=drift_config
        )
        assert feed_run.success
        [drift_event] = feed_run.asset_materializations_for_node("feature_drift")
        assert drift_event.metadata["drifted"].value is True, drift_event.metadata["reason"].value

        tick = drift_retraining_sensor.evaluate_tick(
            dg.build_sensor_context(
                instance=instance, resources={"drift_retrain_policy": DriftRetrainPolicy()}
            )
        )
        [request] = tick.run_requests
        assert request.tags["playlist_assets/drifted_partitions"] == hour

        retrain = defs.resolve_job_def(request.job_name).execute_in_process(
            instance=instance, tags=request.tags
        )
        assert retrain.success
        retrained = {
            e.asset_key.to_user_string() for e in retrain.get_asset_materialization_events()
        }
        assert {"validated_songs", "train_songs", "genre_classifier", "song_index"} <= retrained
        assert any(k.startswith("genre_cluster_models/") for k in retrained)

        [classifier_event] = retrain.asset_materializations_for_node("genre_classifier")
        meta = classifier_event.metadata
        promoted = meta["promoted"].value
        assert meta["decision"].value  # says why

        # A new MLflow run and a new registered version carrying the decision as its alias.
        run = client.get_run(meta["mlflow_run_id"].value)
        assert run.info.status == "FINISHED"
        # MLflow says why the model was retrained: the drifted hour the sensor saw.
        assert (
            run.data.tags["playlist_assets.drifted_partitions"]
            == request.tags["playlist_assets/drifted_partitions"]
        )
        versions_after = client.search_model_versions(f"name='{model_name}'")
        assert len(versions_after) == len(versions_before) + 1
        candidate = meta["candidate_version"].value
        alias = "champion" if promoted else "challenger"
        assert str(client.get_model_version_by_alias(model_name, alias).version) == candidate
        # Serving (and the next drift baseline) is always the champion.
        champion = client.get_model_version_by_alias(model_name, "champion")
        assert load_classifier(settings.models_dir()).version == str(champion.version)

        # The drift baseline is the champion's own training data: the next judgement of the
        # hour is made against the version now serving.
        again = defs.resolve_job_def("hourly_feed_job").execute_in_process(
            instance=instance, partition_key=hour, run_config=drift_config
        )
        [event] = again.asset_materializations_for_node("feature_drift")
        assert event.metadata["model_version"].value == str(champion.version)
        assert event.metadata["reference_rows"].value == len(
            load_classifier(settings.models_dir()).reference
        )


def test_one_request_per_episode_until_a_retrain_acknowledges_it(instance) -> None:
    report_drift_event(instance, hour_key(10), drifted=True, score=2.0)
    first = evaluate(instance, interval=0)
    assert len(first.run_requests) == 1
    # The same shift, judged before any retrain acknowledged it: part of the episode already sent.
    report_drift_event(instance, hour_key(11), drifted=True, score=2.0)
    same = evaluate(instance, cursor=first.cursor, interval=0)
    assert same.run_requests == []
    assert "belong to the episode already sent for retraining" in same.skip_message


def test_a_failed_retrain_lets_the_episode_ask_again(instance) -> None:
    report_drift_event(instance, hour_key(10), drifted=True, score=2.0)
    first = evaluate(instance, interval=0)
    [request] = first.run_requests

    @dg.op
    def boom() -> None:
        raise RuntimeError("retrain crashed")

    @dg.job
    def crashed() -> None:
        boom()

    failed = crashed.execute_in_process(
        instance=instance, tags={"dagster/run_key": request.run_key}, raise_on_error=False
    )
    assert not failed.success
    report_drift_event(instance, hour_key(11), drifted=True, score=2.0)
    again = evaluate(instance, cursor=first.cursor, interval=0)
    assert len(again.run_requests) == 1
    assert again.run_requests[0].run_key != request.run_key
