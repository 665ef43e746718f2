"""The song index: an unchanged champion re-scores only new or changed songs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from playlist_assets.lib.recommend_index import build_song_index
from playlist_assets.lib.sample_data import generate_tracks


class CountingClassifier:
    """Predicts genre from energy; counts the rows it was asked about."""

    classes = ["pop", "rock"]
    feature_columns = ["energy", "valence", "artists"]

    def __init__(self) -> None:
        self.rows = 0

    def predict_proba(self, songs: pd.DataFrame) -> np.ndarray:
        self.rows += len(songs)
        p = songs["energy"].to_numpy(dtype=float).clip(0, 1)
        return np.column_stack([1 - p, p])


def test_an_unchanged_champion_predicts_only_new_and_changed_songs() -> None:
    songs = generate_tracks(20, ["pop", "rock"], seed=3).drop_duplicates("track_id")
    songs = songs.reset_index(drop=True)
    first = build_song_index(songs, CountingClassifier(), {})

    grown = pd.concat([songs, generate_tracks(5, ["pop"], seed=9)], ignore_index=True)
    grown = grown.drop_duplicates("track_id").reset_index(drop=True)
    grown.loc[0, "energy"] = 1.0 - float(grown.loc[0, "energy"])  # a re-delivered, changed song
    clf = CountingClassifier()
    again = build_song_index(grown, clf, {}, reuse=first)

    new = len(grown) - len(songs)
    assert clf.rows == new + 1 == again.attrs["genres_predicted"]
    full = build_song_index(grown, CountingClassifier(), {})
    pd.testing.assert_frame_equal(again, full)
    # Without a usable earlier index everything is predicted.
    assert build_song_index(grown, CountingClassifier(), {}, reuse=None).attrs[
        "genres_predicted"
    ] == len(grown)
