"""The recommender's settings, each written once: how playlists are split, and the blends.

``SplitSpec`` is what ``track_cooccurrence`` learns with and ``recommendation_eval`` scores with
(both assets take it from one resource, and the co-occurrence records the spec it was learned
with, so a changed setting is caught instead of silently scoring another split). ``Blends`` is
how the hybrid weighs its signals: chosen on validation playlists by ``tune``, stored with the
co-occurrence, read by every recommender built on it; the code defaults below serve when there
are too few validation playlists to choose on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from playlist_assets.lib.recommend.merge import Merge
from playlist_assets.lib.recommend.names import FEATURES, SPLIT_SALT


@dataclass(frozen=True)
class SplitSpec:
    """How the playlists are split and which of them make evaluation cases."""

    holdout_fraction: float = 0.2  # never learned from: recommendation_eval's playlists
    validation_fraction: float = 0.2  # inside training: the blends are chosen on them
    salt: str = SPLIT_SALT  # key of the split's hash of the pid
    min_catalogue_tracks: int = 5  # fewer distinct catalogue songs: not a case
    # Share of the catalogue songs stripped from the training rows for the cold slice: the
    # cold-song blend is tuned on it and recommendation_eval scores it.
    strip_fraction: float = 0.25

    def __post_init__(self) -> None:
        if not 0 <= self.holdout_fraction < 1 or not 0 <= self.validation_fraction < 1:
            raise ValueError("holdout_fraction and validation_fraction must lie within [0, 1)")
        if self.holdout_fraction + self.validation_fraction >= 1:
            raise ValueError(
                "holdout_fraction + validation_fraction must leave playlists to train on"
            )
        if not 0 <= self.strip_fraction < 1:
            raise ValueError("strip_fraction must lie within [0, 1)")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Fitted on 4 folds of the training playlists of the real MPD extract (benchmarks/
# bench_recommend.py --cv-defaults): a logistic regression of "is a held-back song" over songs
# with co-occurrence evidence. Coefficients of correlated co-occurrence signals offset each other;
# only the blend as a whole is meaningful.
DEFAULT_WARM: dict[str, float] = {
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
DEFAULT_COLD: dict[str, float] = {
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
# Songs without evidence in a playlist with evidence, fitted on the real extract's validation
# playlists with a hashed 20% of the catalogue songs stripped from the training rows.
DEFAULT_COLD_SONG: dict[str, float] = {
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


def weight_vector(weights: Mapping[str, float]) -> np.ndarray:
    """``[bias, *FEATURES]`` of a weights mapping; unknown names are an error."""
    unknown = set(weights) - set(FEATURES) - {"bias"}
    if unknown:
        raise ValueError(f"unknown blend weight(s): {', '.join(sorted(unknown))}")
    return np.array([weights.get("bias", 0.0)] + [weights.get(f, 0.0) for f in FEATURES])


def weight_dict(vector: np.ndarray) -> dict[str, float]:
    return dict(zip(("bias", *FEATURES), map(float, vector), strict=True))


@dataclass(frozen=True)
class Blends:
    """The hybrid's three blends (logits over FEATURES) and how their songs interleave.

    - ``warm``: songs some training playlist puts with the seeds (co-occurrence evidence);
    - ``cold_song``: the other songs of a playlist with evidence (fresh songs, songs no playlist
      holds yet), or ``cold_song_model`` when one was fitted; ``merge`` calibrates both to the
      chance of being one of the playlist's next songs, so the list interleaves them;
    - ``cold``: every song of a playlist none of whose tracks the playlists data holds.
    """

    warm: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WARM))
    cold: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_COLD))
    cold_song: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_COLD_SONG))
    merge: Merge = field(default_factory=Merge)
    cold_song_model: Any = None  # a ColdSongModel (cold_model.py): serves instead of ``cold_song``
    # (its trees, or its trees plus that linear blend: ``ColdSongModel.linear``)
    source: Mapping[str, str] = field(default_factory=dict)  # how each blend was chosen

    def __post_init__(self) -> None:
        for weights in (self.warm, self.cold, self.cold_song):
            weight_vector(weights)  # unknown names fail here, where the blends are made

    def vectors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(warm, cold-start, cold-song) weight vectors, ``[bias, *FEATURES]``."""
        return weight_vector(self.warm), weight_vector(self.cold), weight_vector(self.cold_song)

    def with_(self, **changes: Any) -> Blends:
        return replace(self, **changes)

    def as_dict(self) -> dict[str, dict[str, float]]:
        """Every blend by name and the merge's curves (metadata, MLflow)."""
        return {
            "warm": dict(self.warm),
            "cold": dict(self.cold),
            "cold_song": dict(self.cold_song),
            "merge": {
                name: value
                for group, curve in (("warm", self.merge.warm), ("cold", self.merge.cold))
                for name, value in _curve_numbers(group, curve).items()
            },
        }


def _curve_numbers(group: str, curve: Any) -> dict[str, float]:
    """A merge curve's numbers by flat name (``warm_slope``, ``cold_rank_offset_3``, ...)."""
    out = {}
    for name, value in asdict(curve).items():
        if isinstance(value, tuple):
            out.update({f"{group}_{name[:-1]}_{i}": float(v) for i, v in enumerate(value)})
        else:
            out[f"{group}_{name}"] = float(value)
    return out
