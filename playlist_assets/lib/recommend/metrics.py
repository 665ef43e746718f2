"""Playlist-continuation metrics as the RecSys Challenge 2018 defines them, and the old system's score.

Notation of the challenge rules: ``G`` the set of held-out (relevant) tracks, ``R`` the ranked list
of recommended tracks, positions counted from 1.

- R-precision = |G ∩ R[1:|G|]| / |G|; with ``artist_credit`` (the challenge's later rule, 0.25) a
  recommended track among the first |G| that is not relevant but shares an artist with ``G`` earns
  that fraction of a match, each relevant artist counted once.
- NDCG = DCG / IDCG with DCG = rel_1 + sum_{i>=2} rel_i / log2(i) over all of ``R`` and
  IDCG = 1 + sum_{i=2}^{|G ∩ R|} 1 / log2(i); 0 when nothing relevant is retrieved.
- Recommended Songs clicks = floor((first relevant position - 1) / 10), 51 when ``R`` holds none.
- hit@k = 1 when some relevant track is among the first ``k``; recall@k = |G ∩ R[1:k]| / |G|.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import numpy as np

MAX_CLICKS = 51

# The nine features the old system summarised a playlist with (its to_rec CSV columns).
OLD_SIMILARITY_FEATURES: tuple[str, ...] = (
    "danceability",
    "energy",
    "key",
    "loudness",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "valence",
    "tempo",
)


def _hits(recommended: Sequence[str], relevant: set[str]) -> np.ndarray:
    return np.fromiter((r in relevant for r in recommended), dtype=bool, count=len(recommended))


def r_precision(
    recommended: Sequence[str],
    relevant: Iterable[str],
    *,
    recommended_artists: Sequence[str] | None = None,
    relevant_artists: Iterable[str] | None = None,
    artist_credit: float = 0.0,
) -> float:
    """Share of the relevant tracks found among the first |G| recommendations."""
    relevant = set(relevant)
    if not relevant:
        raise ValueError("r_precision needs at least one relevant track")
    top = list(dict.fromkeys(recommended[: len(relevant)]))
    matched = sum(1 for t in top if t in relevant)
    if artist_credit and recommended_artists is not None and relevant_artists is not None:
        wanted = set(relevant_artists)
        found = {
            a
            for t, a in zip(recommended[: len(relevant)], recommended_artists, strict=False)
            if t not in relevant and a in wanted
        }
        matched += artist_credit * len(found)
    return matched / len(relevant)


@functools.lru_cache(maxsize=8)
def _discount(n: int) -> np.ndarray:
    """The challenge's discount of positions 1..n: 1, then 1/log2(position)."""
    positions = np.arange(1, n + 1, dtype=float)
    discount = np.ones_like(positions)
    discount[1:] = 1.0 / np.log2(positions[1:])
    discount.flags.writeable = False
    return discount


def ndcg(recommended: Sequence[str], relevant: Iterable[str]) -> float:
    """Normalized discounted cumulative gain over the whole list, challenge discounting."""
    relevant = set(relevant)
    rel = _hits(list(dict.fromkeys(recommended)), relevant)
    n_found = int(rel.sum())
    if n_found == 0:
        return 0.0
    discount = _discount(len(rel))
    dcg = float(discount[rel].sum())
    idcg = float(discount[:n_found].sum())
    return dcg / idcg


def clicks(recommended: Sequence[str], relevant: Iterable[str]) -> int:
    """Pages of 10 a listener refreshes before a relevant track shows (51 when none ever does)."""
    relevant = set(relevant)
    for i, track in enumerate(recommended):
        if track in relevant:
            return i // 10
    return MAX_CLICKS


def hit_at(recommended: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """1.0 when a relevant track is among the first ``k`` recommendations."""
    relevant = set(relevant)
    return float(any(t in relevant for t in recommended[:k]))


def recall_at(recommended: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """Share of the relevant tracks among the first ``k`` recommendations."""
    relevant = set(relevant)
    if not relevant:
        raise ValueError("recall needs at least one relevant track")
    return len(relevant.intersection(recommended[:k])) / len(relevant)


def feature_cosine(playlist_features: np.ndarray, recommended_features: np.ndarray) -> float:
    """The old system's score: cosine between the playlist's mean feature vector and the recommendations'.

    Both arguments are row-per-track feature matrices (already scaled); NaN when either is empty
    or a mean vector is all zeros.
    """
    a = np.asarray(playlist_features, dtype=float)
    b = np.asarray(recommended_features, dtype=float)
    if a.size == 0 or b.size == 0:
        return float("nan")
    u, v = a.reshape(-1, a.shape[-1]).mean(axis=0), b.reshape(-1, b.shape[-1]).mean(axis=0)
    norm = np.linalg.norm(u) * np.linalg.norm(v)
    return float(u @ v / norm) if norm > 0 else float("nan")


def score_list(
    recommended: Sequence[str], relevant: Iterable[str], ks: Sequence[int] = (10, 100)
) -> dict[str, float]:
    """Every challenge metric of one recommendation list, keyed as the evaluation reports them."""
    relevant = set(relevant)
    scores = {
        "r_precision": r_precision(recommended, relevant),
        "ndcg": ndcg(recommended, relevant),
        "clicks": float(clicks(recommended, relevant)),
    }
    for k in ks:
        scores[f"hit_at_{k}"] = hit_at(recommended, relevant, k)
    return scores
