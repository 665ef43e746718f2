"""What the recommender reads for every song: the songs base with the serving cluster models.

``build_song_index`` places the whole base (the ``song_index`` asset); ``score_fresh_tracks``
places one hour's new tracks the same way and adds the champion's genre of each (the
``fresh_songs`` asset), so a track is recommendable from the hour it lands, without a retrain
and without rebuilding the index. Tracks without audio features (the live Spotify feed) keep
what they carry: the classifier takes missing values, the cluster models need every feature and
leave them at -1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from playlist_assets.lib.schema import AUDIO_FEATURES, CONTINUOUS_FEATURES, TIMESTAMP_DTYPE

INDEX_COLUMNS: list[str] = [
    "track_id",
    "track_name",
    "artists",
    "album_name",
    "track_genre",
    "popularity",
    "duration_ms",
    "explicit",
    *AUDIO_FEATURES,
]
# fresh_songs adds when the track landed and which features it lacked (comma-separated).
FRESH_COLUMNS: list[str] = [
    *INDEX_COLUMNS,
    "predicted_genre",
    "genre_confidence",
    "cluster",
    "cluster_confidence",
    "landed_at",
    "missing_features",
]


def build_song_index(songs: pd.DataFrame, cluster_models: dict[str, Any]) -> pd.DataFrame:
    """The songs base with each song's cluster within its own genre and the cluster's posterior.

    No per-song genre prediction: the recommender reads the classifier's posterior of a
    playlist's own songs only, and predicting every song again after each promotion was most of
    a retrain's song_index step at a year of fresh songs (benchmarks/results/year.md). Songs
    lacking an audio feature keep cluster -1.
    """
    index = songs[INDEX_COLUMNS].reset_index(drop=True).copy()
    index["cluster"] = -1
    index["cluster_confidence"] = np.nan
    complete = index[list(CONTINUOUS_FEATURES)].notna().all(axis=1)
    for genre, rows in index[complete].groupby("track_genre").groups.items():
        model = cluster_models.get(str(genre))
        if model is None:
            continue
        posterior = model.predict_proba(index.loc[rows])
        index.loc[rows, "cluster"] = posterior.argmax(axis=1)
        index.loc[rows, "cluster_confidence"] = posterior.max(axis=1)
    index["cluster"] = index["cluster"].astype("int64")
    return index


def missing_features(tracks: pd.DataFrame) -> pd.Series:
    """Per track, the audio features it lacks, comma-separated ("" when complete)."""
    absent = tracks[list(AUDIO_FEATURES)].isna()
    names = np.array(AUDIO_FEATURES, dtype=object)
    return pd.Series(
        [",".join(names[row]) for row in absent.to_numpy()], index=tracks.index, dtype=object
    )


def score_fresh_tracks(
    tracks: pd.DataFrame,
    classifier: Any,
    cluster_models: dict[str, Any],
    landed_at: Any,
    genres: Any,
) -> pd.DataFrame:
    """One hour's typed tracks in ``genres``, scored like the songs base, with the champion's
    genre of each (a first look at how it reads the new music) (FRESH_COLUMNS)."""
    wanted = tracks[tracks["track_genre"].isin(list(genres))].drop_duplicates("track_id")
    fresh = build_song_index(wanted, cluster_models)
    proba = (
        classifier.predict_proba(fresh) if len(fresh) else np.zeros((0, len(classifier.classes)))
    )
    fresh["predicted_genre"] = np.asarray(classifier.classes, dtype=object)[proba.argmax(axis=1)]
    fresh["genre_confidence"] = proba.max(axis=1)
    fresh["landed_at"] = pd.Series([landed_at] * len(fresh), dtype=TIMESTAMP_DTYPE)
    fresh["missing_features"] = missing_features(fresh).astype(str)
    return fresh[FRESH_COLUMNS]
