"""Training assets on small generated data: split stability, MLflow runs, champion promotion."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from playlist_assets.defs.resources import build_resources
from playlist_assets.defs.serving import song_index
from playlist_assets.defs.training import genre_classifier, genre_cluster_models, song_split
from playlist_assets.lib.classifier.artifacts import load_classifier, load_cluster_models
from playlist_assets.lib.drift.measure import prediction_mix
from playlist_assets.lib.sample_data.generate import generate_tracks
from playlist_assets.lib.schema import TYPED_DTYPES
from playlist_assets.settings import DEFAULT_GENRES


def _songs(seed: int = 0, per_genre: int = 60) -> pd.DataFrame:
    tracks = generate_tracks(per_genre, DEFAULT_GENRES, seed=seed)
    tracks = tracks[tracks["track_genre"].isin(DEFAULT_GENRES)].drop_duplicates("track_id")
    return tracks.astype(TYPED_DTYPES).reset_index(drop=True)


def _stand_in(frame: pd.DataFrame) -> dg.AssetsDefinition:
    @dg.asset(name="validated_songs")
    def validated_songs() -> pd.DataFrame:
        return frame

    return validated_songs


TRAINING = [song_split, genre_classifier, genre_cluster_models, song_index]


def _materialize(frame: pd.DataFrame, run_config: dict | None = None, selection=None):
    return dg.materialize(
        [_stand_in(frame), *TRAINING],
        resources=build_resources(),
        run_config=run_config or {},
        selection=selection,
    )


def _meta(result: dg.ExecuteInProcessResult, key: str) -> dict:
    events = result.asset_materializations_for_node(key.split("/")[0])
    for event in events:
        if event.asset_key.to_user_string() == key:
            return {k: v.value for k, v in event.metadata.items()}
    raise AssertionError(f"{key} was not materialized")


@pytest.fixture
def songs() -> pd.DataFrame:
    return _songs()


def test_training_graph_end_to_end(data_home: Path, songs: pd.DataFrame) -> None:
    result = _materialize(songs)
    assert result.success

    classifier = _meta(result, "genre_classifier")
    assert classifier["accuracy"] > 2 / len(DEFAULT_GENRES)  # well above chance
    assert 0 < classifier["macro_f1"] <= 1
    assert classifier["promoted"] is True
    assert classifier["serving_version"] == "1"

    # MLflow holds a finished run for the classifier and one per genre, none left open.
    import mlflow

    runs = mlflow.search_runs(experiment_names=["playlist_assets"])
    assert set(runs["status"]) == {"FINISHED"}
    names = set(runs["tags.mlflow.runName"])
    assert "genre_classifier" in names
    assert {f"genre_cluster_models/{g}" for g in DEFAULT_GENRES} <= names
    client = mlflow.MlflowClient()
    assert (
        str(client.get_model_version_by_alias("playlist_genre_classifier", "champion").version)
        == "1"
    )

    for genre in DEFAULT_GENRES:
        assert _meta(result, f"genre_cluster_models/{genre}")["silhouette"] > 0

    index = result.output_for_node("song_index")
    assert len(index) == len(songs)
    assert (index["cluster"] >= 0).all()
    bundle = load_classifier(data_home / "models")
    assert bundle.version == "1" and len(bundle.reference) == len(
        result.output_for_node("song_split", "train_songs")
    )
    test = result.output_for_node("song_split", "test_songs")
    assert bundle.reference_prediction_mix == pytest.approx(
        prediction_mix(bundle.model.predict(test)), abs=1e-12
    )
    assert set(load_cluster_models(data_home / "models")) == set(DEFAULT_GENRES)


def test_worse_model_is_not_promoted(data_home: Path, songs: pd.DataFrame) -> None:
    assert _materialize(songs).success
    weak = {
        "ops": {"genre_classifier": {"config": {"params": {"max_iter": 1, "learning_rate": 0.01}}}}
    }
    result = _materialize(
        songs,
        run_config=weak,
        selection=["validated_songs", "train_songs", "test_songs", "genre_classifier"],
    )
    meta = _meta(result, "genre_classifier")
    assert meta["promoted"] is False
    assert meta["candidate_version"] == "2"
    assert meta["serving_version"] == "1"  # serving keeps the champion
    assert meta["candidate_score"] < meta["champion_score"]

    import mlflow

    client = mlflow.MlflowClient()
    assert (
        str(client.get_model_version_by_alias("playlist_genre_classifier", "champion").version)
        == "1"
    )
    assert (
        str(client.get_model_version_by_alias("playlist_genre_classifier", "challenger").version)
        == "2"
    )
    bundle = load_classifier(data_home / "models")
    assert bundle.version == "1"  # the champion's own predictions on today's split
    test = result.output_for_node("song_split", "test_songs")
    assert bundle.reference_prediction_mix == pytest.approx(
        prediction_mix(bundle.model.predict(test)), abs=1e-12
    )


def test_one_genre_cluster_model_materializes_alone(data_home: Path, songs: pd.DataFrame) -> None:
    result = _materialize(
        songs,
        selection=["validated_songs", "train_songs", "test_songs", "genre_cluster_models/jazz"],
    )
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "genre_cluster_models/jazz" in materialized
    assert not any(
        k.startswith("genre_cluster_models/") and k != "genre_cluster_models/jazz"
        for k in materialized
    )


def test_component_count_is_configurable_per_genre(data_home: Path, songs: pd.DataFrame) -> None:
    config = {
        "ops": {
            "genre_cluster_models": {"config": {"components": {"rock": 5}, "default_components": 2}}
        }
    }
    result = _materialize(
        songs,
        run_config=config,
        selection=[
            "validated_songs",
            "train_songs",
            "test_songs",
            "genre_cluster_models/rock",
            "genre_cluster_models/pop",
        ],
    )
    assert _meta(result, "genre_cluster_models/rock")["n_components"] == 5
    assert _meta(result, "genre_cluster_models/pop")["n_components"] == 2


def test_split_is_stable_when_new_songs_arrive(data_home: Path) -> None:
    first = _songs(seed=1)
    grown = pd.concat([first, _songs(seed=2)]).drop_duplicates("track_id").reset_index(drop=True)
    sel = ["validated_songs", "train_songs", "test_songs"]
    before = _materialize(first, selection=sel).output_for_node("song_split", "test_songs")
    after = _materialize(grown, selection=sel).output_for_node("song_split", "train_songs")
    assert not set(before["track_id"]) & set(after["track_id"])


def test_mlflow_links_when_a_ui_is_known(
    data_home: Path, songs: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_UI_URL", "http://127.0.0.1:5000")
    result = _materialize(
        songs, selection=["validated_songs", "train_songs", "test_songs", "genre_classifier"]
    )
    [event] = result.asset_materializations_for_node("genre_classifier")
    meta = event.metadata
    assert isinstance(meta["mlflow_run_id"], dg.UrlMetadataValue)
    assert meta["mlflow_run_id"].value.startswith("http://127.0.0.1:5000/#/experiments/")
    assert meta["registered_model"].value == (
        "http://127.0.0.1:5000/#/models/playlist_genre_classifier"
    )
    assert meta["serving_version"].value.endswith("/versions/1")
    # The page leads with what serves; the first model says there was no champion.
    assert list(meta)[:4] == [
        "serving_version",
        "serving_accuracy",
        "serving_macro_f1",
        "champion_score",
    ]
    assert meta["champion_score"].value == "no champion yet"

    import mlflow

    client = mlflow.MlflowClient()
    model = client.get_registered_model("playlist_genre_classifier")
    assert model.description and "champion" in model.description
    assert client.get_model_version("playlist_genre_classifier", "1").description.startswith(
        "no champion yet"
    )


def test_ui_url_is_derived_from_an_http_tracking_uri_without_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playlist_assets import settings

    monkeypatch.delenv("MLFLOW_UI_URL", raising=False)
    assert settings.mlflow_ui_url() is None  # embedded SQLite: no UI known
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://bot:s3cret@mlflow.example.com:8443/")
    assert settings.mlflow_ui_url() == "https://mlflow.example.com:8443"


def test_tracking_uri_is_not_run_configuration() -> None:
    from playlist_assets.defs.resources import MlflowTracker

    assert "tracking_uri" not in MlflowTracker.model_fields


def test_training_runs_are_quiet(data_home: Path) -> None:
    import logging

    from playlist_assets.defs.resources import MlflowTracker

    MlflowTracker().mlflow()
    warning = logging.LogRecord(
        "mlflow.sklearn",
        logging.WARNING,
        __file__,
        1,
        "Saving scikit-learn models in the pickle or cloudpickle format requires caution",
        None,
        None,
    )
    other = logging.LogRecord("mlflow.sklearn", logging.WARNING, __file__, 1, "other", None, None)
    logger = logging.getLogger("mlflow.sklearn")
    assert not logger.filter(warning) and logger.filter(other)
    import os

    assert os.environ["GIT_PYTHON_REFRESH"] == "quiet"
