"""The sample world the recommender tests share: generated catalogue and playlists, the
project's models, co-occurrence learned on the training split."""

import pytest

from playlist_assets.lib.recommend.cooccurrence import (
    HOLDOUT,
    TRAIN,
    VALIDATION,
    continuation_cases,
    learn_cooccurrence,
    split_playlists,
)
from playlist_assets.lib.recommend.recommender import Recommender


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    from playlist_assets.lib.classifier import pipeline as clf
    from playlist_assets.lib.classifier.models import ClassifierBundle, fit_cluster_model
    from playlist_assets.lib.quality.judge import to_typed
    from playlist_assets.lib.recommend.index import build_song_index
    from playlist_assets.lib.recommend.playlists_io import read_playlists
    from playlist_assets.lib.sample_data.generate import (
        generate_playlists,
        generate_tracks,
        mpd_json,
    )
    from playlist_assets.settings import DEFAULT_GENRES

    tracks = to_typed(generate_tracks(30, DEFAULT_GENRES, seed=5).drop_duplicates("track_id"))
    tracks = tracks.reset_index(drop=True)
    path = tmp_path_factory.mktemp("mpd") / "mpd.json"
    path.write_text(mpd_json(generate_playlists(tracks, 300, seed=5)))
    playlists = read_playlists(path)
    model = clf.fit_classifier(tracks, **clf.DEFAULT_PARAMS)
    bundle = ClassifierBundle(
        model=model,
        feature_columns=list(clf.FEATURE_COLUMNS),
        reference=tracks.head(5),
        reference_prediction_mix={},
        metrics={},
    )
    clusters = {g: fit_cluster_model(s, g, 3) for g, s in tracks.groupby("track_genre")}
    index = build_song_index(tracks, clusters)
    split = split_playlists(playlists["pid"].unique())
    catalogue = index["track_id"].to_numpy()
    cooc = learn_cooccurrence(playlists, split.index[split != HOLDOUT], catalogue)
    cooc.split = {
        "holdout_pids": split.index[split == HOLDOUT].to_numpy(),
        "training_pids": split.index[split != HOLDOUT].to_numpy(),
    }
    cases = continuation_cases(playlists, split.index[split == HOLDOUT], catalogue)
    validation = continuation_cases(playlists, split.index[split == VALIDATION], catalogue)
    without_validation = learn_cooccurrence(playlists, split.index[split == TRAIN], catalogue)
    return {
        "index": index,
        "bundle": bundle,
        "clusters": clusters,
        "playlists": playlists,
        "cooc": cooc,
        "recommender": Recommender(index, cooc, bundle, clusters),
        "cases": cases,
        "validation": validation,
        "fit_recommender": Recommender(index, without_validation, bundle, clusters),
    }
