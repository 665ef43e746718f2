"""Retraining that settles: simulated hours of drift through feature_drift, the sensor and real
retrains (real classifier, MLflow registry, warehouse), one request per drift episode."""

import json
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from playlist_assets.dashboard import instance_data
from playlist_assets.defs.monitoring import feature_drift
from playlist_assets.defs.partitions import hour_window, hourly_partitions
from playlist_assets.defs.resources import build_resources
from playlist_assets.defs.retraining import (
    CLASSIFIER_CHECK_KEY,
    DriftRetrainPolicy,
    drift_retraining_sensor,
)
from playlist_assets.defs.training import genre_classifier, song_split
from playlist_assets.lib.sample_data.generate import generate_tracks
from playlist_assets.lib.schema import TYPED_DTYPES
from playlist_assets.settings import DEFAULT_GENRES

START = pd.Timestamp("2026-11-02 00:00")
PER_GENRE_PER_HOUR = 8  # 80 tracks an hour
# Hour index -> shift strength (0 = the catalogue's own music). Set per test.
SHIFT: dict[int, float] = {}
# A candidate that cannot win, even against a champion that the shift hurts: leaves larger than
# the data make a constant model (macro-F1 ~0.02).
WEAK = {
    "ops": {
        "genre_classifier": {"config": {"params": {"max_iter": 1, "min_samples_leaf": 1_000_000}}}
    }
}


def key_of(hour: int) -> str:
    return (START + pd.Timedelta(hours=hour)).strftime(hourly_partitions.fmt)


def shifted(tracks: pd.DataFrame, strength: float) -> pd.DataFrame:
    """Quieter, calmer, more acoustic music; ``strength`` 2 moves twice as far as 1."""
    if not strength:
        return tracks
    out = tracks.copy()
    out["energy"] = (out["energy"] * (1 - 0.3 * strength)).clip(0, 1)
    out["danceability"] = (out["danceability"] - 0.12 * strength).clip(0, 1)
    out["acousticness"] = (out["acousticness"] + 0.25 * strength).clip(0, 1)
    out["loudness"] = out["loudness"] - 5 * strength
    return out


def _typed(tracks: pd.DataFrame) -> pd.DataFrame:
    return tracks.drop_duplicates("track_id").astype(TYPED_DTYPES).reset_index(drop=True)


@dg.asset(partitions_def=hourly_partitions, metadata={"partition_expr": "partition_hour"})
def new_tracks(context: dg.AssetExecutionContext) -> pd.DataFrame:
    """Stand-in feed: fresh tracks every hour, shifted as SHIFT says."""
    start = hour_window(context.partition_key)[0]
    hour = int((pd.Timestamp(start) - START) / pd.Timedelta(hours=1))
    rows = generate_tracks(PER_GENRE_PER_HOUR, DEFAULT_GENRES, seed=hour, stream=f"h{hour}")
    rows = shifted(_typed(rows), SHIFT.get(hour, 0.0))
    rows["partition_hour"] = pd.Timestamp(start)
    return rows


@dg.asset
def validated_songs(warehouse: DuckDBResource) -> pd.DataFrame:
    """Stand-in songs base: the catalogue plus every hour fed so far."""
    base = _typed(generate_tracks(40, DEFAULT_GENRES, seed=0))
    with warehouse.get_connection() as con:
        tables = con.execute("SELECT table_name FROM information_schema.tables").df()
        if "new_tracks" not in set(tables["table_name"]):
            return base
        fed = con.execute("SELECT * FROM main.new_tracks").df()
    fed = fed.drop(columns=["partition_hour"]).astype(TYPED_DTYPES)
    return pd.concat([base, fed], ignore_index=True).drop_duplicates("track_id")


ASSETS = [new_tracks, validated_songs, song_split, genre_classifier, feature_drift]
RETRAIN = ["validated_songs", "train_songs", "test_songs", "genre_classifier"]


@dataclass
class Loop:
    """The hourly loop: feed + drift for one hour, a sensor tick, and any retrain it requests."""

    instance: dg.DagsterInstance
    retrain_config: dict
    job: dg.JobDefinition = field(init=False)
    cursor: str | None = None
    requests: list[dg.RunRequest] = field(default_factory=list)
    retrains: list[dg.ExecuteInProcessResult] = field(default_factory=list)
    triggers: dict[int, bool] = field(default_factory=dict)
    reasons: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        defs = dg.Definitions(assets=ASSETS, resources=build_resources())
        self.job = defs.resolve_implicit_global_asset_job_def()

    def run_assets(self, keys: list[str], **kwargs) -> dg.ExecuteInProcessResult:
        selection = [dg.AssetKey(k) for k in keys]
        result = self.job.execute_in_process(
            instance=self.instance, asset_selection=selection, **kwargs
        )
        assert result.success
        return result

    def train(self, run_config: dict | None = None, tags: dict | None = None):
        return self.run_assets(RETRAIN, run_config=run_config or {}, tags=tags or {})

    def feed(self, hour: int) -> None:
        self.run_assets(["new_tracks"], partition_key=key_of(hour))

    def hour(self, hour: int) -> None:
        result = self.run_assets(["new_tracks", "feature_drift"], partition_key=key_of(hour))
        [event] = result.asset_materializations_for_node("feature_drift")
        self.triggers[hour] = event.metadata["trigger"].value
        self.reasons[hour] = event.metadata["reason"].value
        # A fresh context from the cursor alone, like a restarted daemon.
        tick = drift_retraining_sensor.evaluate_tick(
            dg.build_sensor_context(
                instance=self.instance,
                cursor=self.cursor,
                resources={
                    "drift_retrain_policy": DriftRetrainPolicy(
                        min_retrain_interval_seconds=0, retrain_after_tracks=0
                    )
                },
            )
        )
        self.cursor = tick.cursor
        for event in tick.asset_events:  # what the daemon records from a tick
            self.instance.report_runless_asset_event(event)
        for request in tick.run_requests:
            self.requests.append(request)
            # As the daemon launches it: the sensor's tags and its name.
            tags = {**request.tags, "dagster/sensor_name": drift_retraining_sensor.name}
            self.retrains.append(self.train(self.retrain_config, tags))

    def run(self, hours: range) -> int:
        before = len(self.requests)
        for hour in hours:
            self.hour(hour)
        return len(self.requests) - before


def check_result(instance: dg.DagsterInstance):
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [CLASSIFIER_CHECK_KEY]
    )[CLASSIFIER_CHECK_KEY]
    return record.event.asset_check_evaluation


def classifier_meta(result: dg.ExecuteInProcessResult) -> dict:
    [event] = result.asset_materializations_for_node("genre_classifier")
    return {k: v.value for k, v in event.metadata.items()}


@pytest.mark.slow
def test_persistent_shift_retrains_once_and_a_larger_shift_once_more(data_home: Path) -> None:
    SHIFT.clear()
    SHIFT.update({h: 1.0 for h in range(2, 50)})
    SHIFT.update({h: 2.5 for h in range(50, 56)})
    with dg.instance_for_test() as instance:
        loop = Loop(instance, retrain_config=WEAK)  # the candidate never beats the champion
        loop.train()
        assert loop.run(range(0, 2)) == 0
        # 48 hours of one persistent shift: exactly one request, for its first hour.
        assert loop.run(range(2, 50)) == 1, {
            h: r for h, r in loop.reasons.items() if loop.triggers[h]
        }
        assert loop.requests[0].tags["playlist_assets/episode_since"] == key_of(2)
        meta = classifier_meta(loop.retrains[0])
        assert meta["promoted"] is False and meta["serving_version"] == "1"
        evaluation = check_result(instance)
        assert evaluation.passed is False
        assert evaluation.severity == dg.AssetCheckSeverity.WARN
        assert evaluation.description.startswith(f"drift persists since {key_of(2)}; retrain ")
        assert "did not beat champion v1 (macro_f1 " in evaluation.description
        assert not any(loop.triggers[h] for h in range(4, 50))

        # A second, larger shift: beyond what the retrain acknowledged, exactly one more.
        assert loop.run(range(50, 56)) == 1
        assert loop.requests[1].tags["playlist_assets/acknowledge_since"] == key_of(50)
        assert loop.requests[1].tags["playlist_assets/episode_since"] == key_of(2)

        # The cursor alone carries the state: re-reading nothing new requests nothing.
        state = json.loads(loop.cursor)
        assert state["requested_for"] and state["episode_since"] == key_of(2)

        # Drift ends: the WARN check passes again.
        assert loop.run(range(56, 58)) == 0
        evaluation = check_result(instance)
        assert evaluation.passed is True and "ended at" in evaluation.description

        # The dashboard's episode list: both retrains, their outcome and the check verdict.
        episodes = instance_data.retrain_episodes(instance)
        assert list(episodes["episode_since"]) == [key_of(2), key_of(2)]
        assert list(episodes["promoted"]) == [False, False]
        assert list(episodes["check_passed"]) == [False, False]
        assert episodes["check"].iloc[0].startswith(f"drift persists since {key_of(2)}")


@pytest.mark.slow
def test_a_winning_candidate_is_promoted_and_the_shift_settles(data_home: Path) -> None:
    SHIFT.clear()
    SHIFT.update({h: 1.0 for h in range(1, 8)})
    with dg.instance_for_test() as instance:
        loop = Loop(instance, retrain_config={})  # default params beat the weak first champion
        loop.train(run_config=WEAK)
        reference_before = len(loop.retrains) == 0
        assert reference_before
        assert loop.run(range(0, 3)) == 1
        meta = classifier_meta(loop.retrains[0])
        assert meta["promoted"] is True and meta["serving_version"] == "2"
        assert check_result(instance).passed is True
        # The reference moved to the new champion and the acknowledged shift: the next hours of
        # the same shift request nothing.
        assert loop.run(range(3, 8)) == 0, loop.reasons
        assert not any(loop.triggers[h] for h in range(3, 8))


@pytest.mark.slow
def test_champion_is_rescored_on_todays_split(data_home: Path) -> None:
    from playlist_assets.lib.classifier.artifacts import load_classifier
    from playlist_assets.lib.classifier.pipeline import evaluate
    from playlist_assets.settings import models_dir

    SHIFT.clear()
    with dg.instance_for_test() as instance:
        loop = Loop(instance, retrain_config=WEAK)
        first = classifier_meta(loop.train())
        assert first["champion_score"] == "no champion yet"
        champion = load_classifier(models_dir())
        for hour in range(0, 6):  # new songs: the test split grows
            loop.feed(hour)
        result = loop.train(WEAK)
        meta = classifier_meta(result)
        today = result.output_for_node("song_split", "test_songs")
        assert meta["n_test"] == len(today) > first["n_test"]
        assert meta["test_split_hash"] != first["test_split_hash"]
        rescored = evaluate(champion.model, today)["macro_f1"]
        assert meta["champion_score"] == pytest.approx(rescored)
        assert rescored != pytest.approx(first["macro_f1"])  # the old figure is not the yardstick
        assert meta["promoted"] is False and meta["candidate_score"] < rescored
        assert meta["serving_macro_f1"] == pytest.approx(rescored)  # the page leads with it
