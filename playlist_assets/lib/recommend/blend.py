"""Choosing how much the hybrid trusts each signal, on validation playlists.

Every choice is made on the candidates a request would score (``Prepared``: each validation
case's candidates and features, computed once per recommender), so tuning sees what is served:

- the warm and cold-start blends: a logistic regression of "is one of the playlist's next songs",
  kept only when it ranks better than the defaults and a one-signal baseline there;
- the cold-song blend and how songs without evidence meet those with it (``merge``): fitted on a
  cold fold (a share of the catalogue songs stripped from the training rows, the configured
  share of cold targets), then each group's chance of being a next song calibrated from its blend
  and its rank in the group, so the list interleaves the groups by calibrated chance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from playlist_assets.lib.recommend.cooccurrence import Case
from playlist_assets.lib.recommend.features import Seeds
from playlist_assets.lib.recommend.metrics import ndcg
from playlist_assets.lib.recommend.names import COOC_FEATURES, FEATURES
from playlist_assets.lib.recommend.recommender import Recommender, Scored
from playlist_assets.lib.recommend.settings import (
    DEFAULT_COLD,
    DEFAULT_COLD_SONG,
    DEFAULT_WARM,
    weight_vector,
)

MIN_FIT_CASES = 20  # fewer validation playlists than this: keep the defaults
NEGATIVES = 50  # negatives sampled per case when fitting a blend
COLD_LAST = -1e3  # a logit shift that ranks every song without evidence after those with it


@dataclass
class Prepared:
    """One validation case as a request would score it: candidates, features, labels."""

    case: Case
    seeds: Seeds
    positions: np.ndarray  # the candidates (sorted positions)
    x: np.ndarray  # their features
    evidence: np.ndarray  # which candidates have co-occurrence evidence
    label: np.ndarray  # which candidates are the case's targets


def prepare(
    recommender: Recommender, cases: Sequence[Case], *, k: int = 500, cold: bool = False
) -> list[Prepared]:
    """Each case's candidates and features (``cold``: seeds hidden from the co-occurrence data;
    otherwise cases without evidence are left out)."""
    out = []
    recommender.table.posteriors_of([case.seeds for case in cases])
    for case in cases:
        seeds = recommender.seeds(case.seeds, case.seed_artists, use_items=not cold)
        if not cold and not len(seeds.items):
            continue
        positions = recommender.candidates(seeds, k)
        evidence = recommender.evidence_of(seeds, positions)
        label = np.isin(recommender.ids[positions], list(case.targets))
        x = recommender.features(seeds, positions)
        out.append(Prepared(case, seeds, positions, x, evidence, label))
    return out


def _pool(p: Prepared, group: str) -> np.ndarray:
    """Candidates a blend is fitted over: ``warm`` with evidence, ``cold_song`` without,
    ``cold`` (cold start) all of them."""
    if group == "warm":
        return p.evidence
    if group == "cold_song":
        return ~p.evidence
    return np.ones(len(p.positions), dtype=bool)


def _examples(
    p: Prepared, group: str, rng: np.random.Generator, negatives: int = NEGATIVES
) -> tuple[np.ndarray, np.ndarray]:
    """One case's rows for a blend: every positive of the pool, ``negatives`` sampled negatives."""
    pool = _pool(p, group)
    positive = np.flatnonzero(pool & p.label)
    negative = np.flatnonzero(pool & ~p.label)
    if len(negative) > negatives:
        negative = rng.choice(negative, negatives, replace=False)
    rows = np.concatenate([positive, negative])
    return p.x[rows], p.label[rows]


def _used_features(group: str) -> list[int]:
    """Feature columns a blend learns from (without evidence: no co-occurrence features)."""
    blind = group != "warm"
    return [i for i, f in enumerate(FEATURES) if not (blind and f in COOC_FEATURES)]


def _fit(
    examples: Sequence[tuple[np.ndarray, np.ndarray]], used: list[int], regularization: float = 1.0
) -> dict[str, float] | None:
    """The logistic regression of the examples, as blend weights on the raw features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if not examples:
        return None
    x = np.vstack([e[0] for e in examples])[:, used]
    y = np.concatenate([e[1] for e in examples])
    if y.sum() < 10 or (~y).sum() < 10:
        return None
    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    model = LogisticRegression(C=regularization, max_iter=5000).fit((x - scaler.mean_) / scale, y)
    coef = model.coef_[0] / scale
    weights = {"bias": float(model.intercept_[0] - (coef * scaler.mean_).sum())}
    weights.update({FEATURES[i]: float(c) for i, c in zip(used, coef, strict=True)})
    return weights


def fit_blend_weights(
    prepared: Sequence[Prepared], group: str = "warm", *, seed: int = 0
) -> dict[str, float] | None:
    """Blend weights from validation cases: a logistic regression of "is one of the playlist's
    next songs" over the group's candidates (``warm``, ``cold_song`` or ``cold``). None with fewer
    than MIN_FIT_CASES cases or too few examples to fit.

    The cases' recommender must have learned its co-occurrence WITHOUT the cases' playlists."""
    if len(prepared) < MIN_FIT_CASES:
        return None
    rng = np.random.default_rng(seed)
    return _fit([_examples(p, group, rng) for p in prepared], _used_features(group))


# Simple alternatives the fitted blend must beat on validation playlists to be used.
_BASELINES = {
    "warm": {"co-occurrence only": {"cooc": 1.0}},
    "cold": {"frequency only": {"frequency": 1.0, "popularity": 0.01}},
}
_DEFAULTS = {"warm": DEFAULT_WARM, "cold": DEFAULT_COLD}


@dataclass
class BlendChoice:
    """The blend weights chosen on validation playlists, and why."""

    weights: dict[str, float]
    source: str  # "fitted", "default" or a baseline's name
    validation_ndcg: dict[str, float]  # mean NDCG@k of every candidate
    cases: int


def case_ndcg(recommender: Recommender, p: Prepared, vector: np.ndarray, k: int) -> float:
    """NDCG of one case ranked by the blend ``vector`` (songs without evidence last, unless the
    seeds were hidden), as ``Recommender.select`` serves it."""
    logits = vector[0] + p.x @ vector[1:]
    if len(p.seeds.items):
        logits = np.where(p.evidence, logits, logits + COLD_LAST)
    chosen = recommender.select(Scored(p.positions, logits), p.seeds, k)
    return ndcg(recommender.ids[chosen].tolist(), p.case.targets)


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def choose_blend_weights(
    recommender: Recommender,
    prepared: Sequence[Prepared],
    group: str = "warm",
    *,
    include_defaults: bool = True,
    k: int = 500,
) -> BlendChoice:
    """Fit the ``group`` blend (``warm`` or ``cold``) on validation cases and keep it only if it
    ranks better than the defaults and a one-signal baseline there. The fitted blend is judged out
    of sample (fitted on half of the cases, scored on the other half, both ways); the others on
    every case. ``include_defaults=False`` leaves the code defaults out (they were fitted on the
    real extract's training playlists: leave them out when those may be held out)."""
    fallback = _DEFAULTS[group]
    candidates = {"default": fallback} if include_defaults else {}
    candidates.update(_BASELINES[group])
    scores = {
        name: _mean([case_ndcg(recommender, p, weight_vector(w), k) for p in prepared])
        for name, w in candidates.items()
    }
    halves = [list(prepared[i::2]) for i in (0, 1)]
    fits = [fit_blend_weights(h, group) if len(h) >= MIN_FIT_CASES else None for h in halves]
    if all(f is not None for f in fits):
        crossed = [
            _mean([case_ndcg(recommender, p, weight_vector(fits[1 - i] or {}), k) for p in half])
            for i, half in enumerate(halves)
        ]
        if not any(np.isnan(crossed)):
            scores["fitted"] = float(np.mean(crossed))
    ranked = sorted(
        (name for name in scores if not np.isnan(scores[name])),
        key=lambda name: (-scores[name], name != "fitted"),
    )
    best = ranked[0] if ranked else "default"
    if best == "fitted":
        weights = fit_blend_weights(prepared, group) or dict(fallback)
    else:
        weights = dict(candidates.get(best, fallback))
    return BlendChoice(weights, best, scores, len(prepared))


def default_cold_song() -> dict[str, float]:
    return dict(DEFAULT_COLD_SONG)
