"""The hybrid's features and blend weights: names, code defaults, and the weight vector.

Three blends share the features (each in [0, 1]):

- warm: songs with co-occurrence evidence with the playlist's seeds;
- cold songs: the other songs of a playlist that has evidence (no playlist in the data puts them
  with the seeds: fresh songs, songs no playlist holds yet), scored from what every song carries,
  shifted by ``cold_song_offset`` so the two groups interleave by learned trust, below a head
  of ``cold_song_head`` positions kept for the best songs with evidence;
- cold start: every song of a playlist none of whose tracks is in the playlists data.
"""

from __future__ import annotations

import numpy as np

FEATURES: tuple[str, ...] = (
    "cooc",  # log1p(summed co-occurrence with the seeds), / max
    "cooc_idf",  # co-occurrence, each seed weighted 1/sqrt(its playlist count), / max
    "cooc_length",  # same over playlists weighted 1/sqrt(playlist length), / max
    "cooc_recent",  # idf co-occurrence with later seeds weighted up to 4x, / max
    "cooc_max",  # max over the seeds of P(song | seed) in the training playlists
    "neighbours",  # songs of the training playlists most like this one (cosine^2), / max
    "frequency",  # log1p(playlists holding the song), / max over the catalogue
    "artist",  # shares an artist with a seed
    "artist_share",  # share of the seeds (artist known) by one of the song's artists
    "artist_cooc",  # co-occurrence with the seeds' artists, / max
    "album",  # same album (name) as a catalogue seed
    "audio",  # cosine of standardized audio features to the seeds' mean, mapped to [0, 1]
    "genre_share",  # share of the catalogue seeds in the song's genre
    "genre_posterior",  # classifier posterior of the song's genre, averaged over the seeds
    "cluster_posterior",  # genre posterior x the genre model's posterior of the song's cluster
    "popularity",  # catalogue popularity / 100
)
COOC_FEATURES: tuple[str, ...] = FEATURES[:6]
COLUMN: dict[str, int] = {name: i for i, name in enumerate(FEATURES)}

# Used when a materialization has too few validation playlists to choose its own: fitted on
# 4 folds of the training playlists of the real MPD extract (benchmarks/bench_recommend.py
# --cv-defaults), a logistic regression of "is a held-back song" over songs with co-occurrence
# evidence, then calibrated on the validation playlists (``calibrated``) so that it compares
# with the cold-song blend. Coefficients of correlated co-occurrence signals offset each other;
# only the blend as a whole is meaningful.
DEFAULT_WEIGHTS: dict[str, float] = {
    "bias": -7.503,
    "cooc": 6.441,
    "cooc_idf": -9.13,
    "cooc_length": 3.601,
    "cooc_recent": 3.111,
    "cooc_max": 0.339,
    "neighbours": 1.401,
    "frequency": -1.823,
    "artist": 0.452,
    "artist_share": 2.471,
    "artist_cooc": 1.175,
    "album": -0.038,
    "audio": 0.03,
    "genre_share": 0.316,
    "genre_posterior": 0.045,
    "cluster_posterior": -0.008,
    "popularity": 0.437,
}
# The same fitted with the seeds hidden from the co-occurrence data (cold start).
DEFAULT_COLD_WEIGHTS: dict[str, float] = {
    "bias": -7.99,
    "frequency": 6.03,
    "artist": 1.37,
    "artist_share": 7.53,
    "artist_cooc": 6.18,
    "album": 2.45,
    "audio": 0.42,
    "genre_share": 1.14,
    "genre_posterior": 0.3,
    "cluster_posterior": 0.4,
    "popularity": 3.87,
}
# Songs without evidence in a playlist with evidence: fitted and calibrated on the real
# extract's validation playlists with a hashed 20% of the catalogue songs stripped from the
# training rows (benchmarks/bench_recommend.py, results/recommend.md), with the offset and head
# chosen there. Fitted over songs no training playlist holds: popularity carries most of it; a
# shared artist counts, a playlist made mostly of that artist's songs does not (its other songs
# nobody holds are rarely what comes next).
DEFAULT_COLD_SONG_WEIGHTS: dict[str, float] = {
    "bias": -24.561,
    "artist": 3.024,
    "artist_share": -25.831,
    "album": 1.908,
    "audio": 0.642,
    "genre_share": 2.305,
    "genre_posterior": -0.518,
    "cluster_posterior": 1.265,
    "popularity": 20.021,
}
DEFAULT_COLD_SONG_OFFSET = 4.0
DEFAULT_COLD_SONG_HEAD = 50  # positions kept for songs with evidence


def blend_kwargs(blends: dict[str, dict[str, float]]) -> dict[str, object]:
    """``Recommender`` keyword arguments from blends shaped as ``Recommender.blend_weights``."""
    cold_song = dict(blends["cold_song"])
    offset = cold_song.pop("offset", DEFAULT_COLD_SONG_OFFSET)
    head = cold_song.pop("head", DEFAULT_COLD_SONG_HEAD)
    return {
        "weights": blends["warm"],
        "cold_weights": blends["cold"],
        "cold_song_weights": cold_song,
        "cold_song_offset": float(offset),
        "cold_song_head": int(head),
    }


def weight_vector(weights: dict[str, float]) -> np.ndarray:
    """``[bias, *FEATURES]`` of a weights mapping; unknown names are an error."""
    unknown = set(weights) - set(FEATURES) - {"bias"}
    if unknown:
        raise ValueError(f"unknown blend weight(s): {', '.join(sorted(unknown))}")
    return np.array([weights.get("bias", 0.0)] + [weights.get(f, 0.0) for f in FEATURES])


def weight_dict(vector: np.ndarray) -> dict[str, float]:
    return dict(zip(("bias", *FEATURES), map(float, vector), strict=True))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), exact far into the tails (scores of distrusted songs stay ordered)."""
    from scipy.special import expit

    return expit(x)


def scaled(x: np.ndarray) -> np.ndarray:
    """``x / max(x)``; zeros when nothing is positive."""
    top = x.max() if x.size else 0.0
    return x / top if top > 0 else np.zeros_like(x)
