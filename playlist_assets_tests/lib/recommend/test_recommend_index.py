"""The song index places every song in a cluster of its own genre; fresh tracks also get the
champion's genre."""

from __future__ import annotations

import numpy as np
import pandas as pd

from playlist_assets.lib.classifier.models import fit_cluster_model
from playlist_assets.lib.recommend.index import (
    FRESH_COLUMNS,
    build_song_index,
    score_fresh_tracks,
)
from playlist_assets.lib.sample_data.generate import generate_tracks
from playlist_assets.lib.schema import CONTINUOUS_FEATURES


class EnergyClassifier:
    """Predicts genre from energy; counts the rows it was asked about."""

    classes = ["pop", "rock"]

    def __init__(self) -> None:
        self.rows = 0

    def predict_proba(self, songs: pd.DataFrame) -> np.ndarray:
        self.rows += len(songs)
        p = songs["energy"].to_numpy(dtype=float).clip(0, 1)
        return np.column_stack([1 - p, p])


def _songs() -> pd.DataFrame:
    songs = generate_tracks(60, ["pop", "rock"], seed=3).drop_duplicates("track_id")
    return songs.reset_index(drop=True)


def test_every_complete_song_is_in_a_cluster_of_its_own_genre() -> None:
    songs = _songs()
    songs.loc[0, "tempo"] = np.nan  # a song without every audio feature
    models = {
        g: fit_cluster_model(s.dropna(subset=list(CONTINUOUS_FEATURES)), g, 3)
        for g, s in songs.groupby("track_genre")
    }
    index = build_song_index(songs, models)

    assert list(index["track_id"]) == list(songs["track_id"])
    assert index.loc[0, "cluster"] == -1 and np.isnan(index.loc[0, "cluster_confidence"])
    for genre, rows in index.iloc[1:].groupby("track_genre"):
        expected = models[genre].predict(rows)
        assert (rows["cluster"].to_numpy() == expected).all()
        assert rows["cluster_confidence"].between(0, 1).all()
    # A genre without a cluster model leaves its songs unclustered.
    assert (
        build_song_index(songs, {"pop": models["pop"]}).query("track_genre == 'rock'")["cluster"]
        == -1
    ).all()


def test_fresh_tracks_get_the_champions_genre_and_a_cluster() -> None:
    songs = _songs()
    models = {g: fit_cluster_model(s, g, 2) for g, s in songs.groupby("track_genre")}
    hour = pd.concat([songs.head(8), generate_tracks(3, ["jazz"], seed=1)], ignore_index=True)
    classifier = EnergyClassifier()
    fresh = score_fresh_tracks(
        hour, classifier, models, pd.Timestamp("2026-11-01"), ["pop", "rock"]
    )

    assert list(fresh.columns) == FRESH_COLUMNS
    assert len(fresh) == 8 and classifier.rows == 8  # out-of-scope genres are not scored
    energy = hour.head(8)["energy"].to_numpy()
    assert list(fresh["predicted_genre"]) == ["rock" if e > 0.5 else "pop" for e in energy]
    assert (fresh["cluster"] >= 0).all()
