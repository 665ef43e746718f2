"""The API under test: a small materialized data folder, and the service started per test."""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from api_harness import Api, launch, stop


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A data folder as a Dagster run leaves it (the CLI tests' sample: 200 songs, 150
    playlists): song_index and playlists in DuckDB, the models as pickles. Copied per test."""
    from playlist_assets.lib.classifier import pipeline as clf
    from playlist_assets.lib.classifier.models import ClassifierBundle, fit_cluster_model
    from playlist_assets.lib.quality.judge import to_typed
    from playlist_assets.lib.recommend.cooccurrence import (
        HOLDOUT,
        learn_cooccurrence,
        split_playlists,
    )
    from playlist_assets.lib.recommend.index import build_song_index
    from playlist_assets.lib.recommend.playlists_io import read_playlists
    from playlist_assets.lib.sample_data.generate import (
        generate_playlists,
        generate_tracks,
        mpd_json,
    )
    from playlist_assets.settings import DEFAULT_GENRES

    home = tmp_path_factory.mktemp("api_sample") / "data"
    home.mkdir()
    tracks = to_typed(generate_tracks(20, DEFAULT_GENRES, seed=9).drop_duplicates("track_id"))
    tracks = tracks.reset_index(drop=True)
    source = home.parent / "sample.json"
    source.write_text(mpd_json(generate_playlists(tracks, 150, seed=9)))
    playlists = read_playlists(source)
    for column in playlists.columns[playlists.dtypes == "category"]:
        playlists[column] = playlists[column].astype(str)
    bundle = ClassifierBundle(
        model=clf.fit_classifier(tracks, **clf.DEFAULT_PARAMS),
        feature_columns=list(clf.FEATURE_COLUMNS),
        reference=tracks.head(5),
        reference_prediction_mix={},
        metrics={},
        version="1",
    )
    clusters = {g: fit_cluster_model(s, g, 3) for g, s in tracks.groupby("track_genre")}
    index = build_song_index(tracks, clusters)
    split = split_playlists(playlists["pid"].unique())
    cooc = learn_cooccurrence(playlists, split.index[split != HOLDOUT], index["track_id"])
    models = home / "models"
    (models / "genre_cluster_models").mkdir(parents=True)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("create table main.song_index as select * from index")
        con.execute("create table main.playlists as select * from playlists")
    (models / "genre_classifier").write_bytes(pickle.dumps(bundle))
    for genre, model in clusters.items():
        (models / "genre_cluster_models" / genre).write_bytes(pickle.dumps(model))
    (models / "track_cooccurrence").write_bytes(pickle.dumps(cooc))
    return {"home": home, "playlists": playlists, "index": index, "bundle": bundle, "cooc": cooc}


@pytest.fixture
def home(sample_home: dict, tmp_path: Path) -> Path:
    """This test's own copy of the sample data folder."""
    target = tmp_path / "data"
    shutil.copytree(sample_home["home"], target)
    return target


@pytest.fixture
def start_api(tmp_path: Path) -> Iterator:
    """``start_api(home, *flags, **env)`` -> a running ``Api``, stopped after the test."""
    started: list[Api] = []

    def start(home: Path, *flags: str, **env: str) -> Api:
        api = launch(home, tmp_path / f"api-{len(started)}.log", *flags, **env)
        started.append(api)
        return api

    yield start
    for api in started:
        stop(api)
