"""A data folder as a Dagster run leaves it, built in seconds: the CLI's and the API's tests.

200 generated songs (20 per default genre) and 150 generated playlists: ``song_index`` and
``playlists`` in DuckDB, the classifier (registry version "1"), the cluster models and the
co-occurrence as pickles under ``models/``.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import duckdb


def materialize_sample(home: Path, source: Path) -> dict:
    """Fill ``home``; the playlists' MPD file goes to ``source``. Returns what tests compare
    against: ``home``, ``source``, ``playlists``, ``index``, ``bundle``, ``cooc``."""
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

    home.mkdir(parents=True, exist_ok=True)
    tracks = to_typed(generate_tracks(20, DEFAULT_GENRES, seed=9).drop_duplicates("track_id"))
    tracks = tracks.reset_index(drop=True)
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
    return {
        "home": home,
        "source": source,
        "playlists": playlists,
        "index": index,
        "bundle": bundle,
        "cooc": cooc,
    }


def sample_cooccurrence(home: Path):
    """The co-occurrence ``materialize_sample`` wrote to ``home`` (the candidate's file)."""
    from playlist_assets.lib.classifier.artifacts import load_artifact

    return load_artifact(home / "models" / "track_cooccurrence", "track_cooccurrence")
