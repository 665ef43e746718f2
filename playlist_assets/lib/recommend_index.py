"""What the recommender reads for every song: the songs base scored by the serving models.

``build_song_index`` scores the whole base (the ``song_index`` asset); ``score_fresh_tracks``
scores one hour's new tracks the same way (the ``fresh_songs`` asset), so a track is
recommendable from the hour it lands, without a retrain and without rebuilding the index.
Tracks without audio features (the live Spotify feed) are scored from what they carry: the
classifier takes missing values, the cluster models need every feature and leave them at -1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from playlist_assets.lib.schema import AUDIO_FEATURES, CONTINUOUS_FEATURES

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


def build_song_index(
    songs: pd.DataFrame,
    classifier: Any,
    cluster_models: dict[str, Any],
    reuse: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Attach the champion's predicted genre and each song's cluster within its own genre.

    ``reuse`` is an earlier index scored by this same classifier: songs whose classifier inputs
    are unchanged keep their predicted genre, and only new or changed songs are predicted (after
    a year of fresh songs, predicting all 350,000 again was a fifth of every retrain). Clusters
    are always assigned again: the cluster models are new with every retrain, and cheap to apply.
    ``index.attrs["genres_predicted"]`` counts the songs predicted now.
    """
    index = songs[INDEX_COLUMNS].reset_index(drop=True).copy()
    if index.empty:
        return index.assign(
            predicted_genre=pd.Series(dtype=str),
            genre_confidence=pd.Series(dtype=float),
            cluster=pd.Series(dtype="int64"),
            cluster_confidence=pd.Series(dtype=float),
        )
    predicted, confidence = _reused_genres(index, reuse, list(classifier.feature_columns))
    todo = pd.isna(predicted)
    if todo.any():
        proba = classifier.predict_proba(index[todo])
        predicted[todo] = np.asarray(classifier.classes)[proba.argmax(axis=1)]
        confidence[todo] = proba.max(axis=1)
    index["predicted_genre"] = predicted.astype(str)
    index["genre_confidence"] = confidence
    index.attrs["genres_predicted"] = int(todo.sum())
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


def _input_hash(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One hash per row of ``columns``, numbers compared as numbers and the rest as text."""
    canonical = pd.DataFrame(
        {
            c: pd.to_numeric(frame[c], errors="coerce").astype("float64")
            if pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
            else frame[c].astype(str)
            for c in columns
        }
    )
    return pd.util.hash_pandas_object(canonical, index=False).to_numpy()


def _reused_genres(
    index: pd.DataFrame, reuse: pd.DataFrame | None, inputs: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(predicted genre or None, confidence or NaN) per row of ``index``, taken from ``reuse`` for
    the songs it scored from the same classifier inputs."""
    predicted = np.full(len(index), None, dtype=object)
    confidence = np.full(len(index), np.nan)
    keys = ["track_id", *(c for c in inputs if c != "track_id")]
    wanted = [*keys, "predicted_genre", "genre_confidence"]
    if reuse is None or reuse.empty or any(c not in reuse.columns for c in wanted):
        return predicted, confidence
    if any(c not in index.columns for c in keys):
        return predicted, confidence
    prior = reuse.loc[:, wanted].drop_duplicates("track_id").reset_index(drop=True)
    ids = pd.Index(prior["track_id"].astype(str))
    at = ids.get_indexer(index["track_id"].astype(str))
    found = at >= 0
    same = np.zeros(len(index), dtype=bool)
    same[found] = _input_hash(index[found], keys) == _input_hash(prior.iloc[at[found]], keys)
    predicted[same] = prior["predicted_genre"].to_numpy(dtype=object)[at[same]]
    confidence[same] = prior["genre_confidence"].to_numpy(dtype=float)[at[same]]
    return predicted, confidence


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
    """One hour's typed tracks in ``genres``, scored like the songs base (FRESH_COLUMNS)."""
    wanted = tracks[tracks["track_genre"].isin(list(genres))].drop_duplicates("track_id")
    fresh = build_song_index(wanted, classifier, cluster_models)
    fresh["landed_at"] = pd.Series([landed_at] * len(fresh), dtype="datetime64[us]")
    fresh["missing_features"] = missing_features(fresh).astype(str)
    return fresh[FRESH_COLUMNS]
