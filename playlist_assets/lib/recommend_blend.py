"""Choosing how much the hybrid trusts each signal, on validation playlists.

Three blends (see ``recommend_features``): warm and cold-start weights are chosen as before on
co-occurrence learned without the validation playlists. The cold-song blend and its offset are
chosen on a cold slice: a share of the catalogue songs is stripped from the training rows, the
cold-song blend is fitted on songs without evidence, and the offset is the largest trust in
those songs that keeps the warm ranking's validation NDCG and R-precision within a tolerance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from playlist_assets.lib.cooccurrence import (
    Case,
)
from playlist_assets.lib.rec_metrics import ndcg, r_precision, recall_at
from playlist_assets.lib.recommend import Recommender, head_first
from playlist_assets.lib.recommend_features import (
    COOC_FEATURES,
    DEFAULT_COLD_SONG_HEAD,
    DEFAULT_COLD_SONG_OFFSET,
    DEFAULT_COLD_SONG_WEIGHTS,
    DEFAULT_COLD_WEIGHTS,
    DEFAULT_WEIGHTS,
    FEATURES,
    weight_vector,
)

MIN_FIT_CASES = 20  # fewer validation playlists than this: keep the defaults
# Offsets tried for the cold-song blend, and how much warm validation quality it may cost.
COLD_SONG_OFFSETS: tuple[float, ...] = tuple(float(x) for x in np.arange(-3.0, 4.01, 0.5))
COLD_SONG_HEADS: tuple[int, ...] = (0, 20, 50)
WARM_TOLERANCE = 0.003

Folds = Sequence[tuple[Recommender, Sequence[Case]]]


def fit_blend_weights(
    folds: Iterable[tuple[Recommender, Sequence[Case]]],
    *,
    cold: bool = False,
    cold_songs: bool = False,
    negatives: int = 50,
    regularization: float = 1.0,
    seed: int = 0,
) -> dict[str, float] | None:
    """Blend weights from validation playlists: a logistic regression of "is one of the playlist's
    held-back songs" on the features, over songs with co-occurrence evidence (``cold``: over every
    song, with the seeds hidden from the co-occurrence data; ``cold_songs``: over the songs no
    training playlist holds, for playlists with evidence, without the co-occurrence features).

    ``folds`` pairs a recommender whose co-occurrence was learned WITHOUT the cases' playlists
    with those cases. None with fewer than MIN_FIT_CASES cases or too few examples to fit.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    blind = cold or cold_songs
    used = [i for i, f in enumerate(FEATURES) if not (blind and f in COOC_FEATURES)]
    xs, ys = [], []
    folds = [(r, list(c)) for r, c in folds]
    if sum(len(c) for _, c in folds) < MIN_FIT_CASES:
        return None
    for recommender, cases in folds:
        for case in cases:
            seeds = recommender.seeds(case.seeds, case.seed_artists, use_items=not cold)
            if not cold and not len(seeds.items):
                continue
            features = recommender.features(seeds)
            label = np.zeros(recommender.n, dtype=bool)
            label[recommender.positions(case.targets)] = True
            if cold:
                pool = np.ones(recommender.n, dtype=bool)
            elif cold_songs:
                pool = recommender.frequency == 0
            else:
                pool = recommender.evidence(seeds).copy()
            pool[seeds.songs] = False
            positive = np.flatnonzero(pool & label)
            negative = np.flatnonzero(pool & ~label)
            if len(negative) > negatives:
                negative = rng.choice(negative, negatives, replace=False)
            rows = np.concatenate([positive, negative])
            xs.append(features[rows][:, used])
            ys.append(label[rows])
    if not xs:
        return None
    x, y = np.vstack(xs), np.concatenate(ys)
    if y.sum() < 10 or (~y).sum() < 10:
        return None
    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    model = LogisticRegression(C=regularization, max_iter=5000).fit((x - scaler.mean_) / scale, y)
    coef = model.coef_[0] / scale
    weights = {"bias": float(model.intercept_[0] - (coef * scaler.mean_).sum())}
    weights.update({FEATURES[i]: float(c) for i, c in zip(used, coef, strict=True)})
    return weights


# Simple alternatives the fitted blend must beat on validation playlists to be used.
_BASELINE_WEIGHTS = {"co-occurrence only": {"cooc": 1.0}}
_BASELINE_COLD_WEIGHTS = {"frequency only": {"frequency": 1.0, "popularity": 0.01}}


@dataclass
class BlendChoice:
    """The blend weights chosen on validation playlists, and why."""

    weights: dict[str, float]
    source: str  # "fitted", "default" or a baseline's name
    validation_ndcg: dict[str, float]  # mean NDCG@500 of every candidate
    cases: int


def validation_ndcg(
    folds: Folds, weights: dict[str, float], *, cold: bool = False, k: int = 500
) -> float:
    """Mean NDCG of the hybrid with ``weights`` over the cases (``cold``: co-occurrence hidden)."""
    vector = weight_vector(weights)
    scores = []
    for recommender, cases in folds:
        for case in cases:
            seeds = recommender.seeds(case.seeds, case.seed_artists, use_items=not cold)
            if not cold and not len(seeds.items):
                continue
            chosen = recommender.select(recommender.hybrid_score(seeds, vector), seeds, k)
            scores.append(ndcg(recommender.ids[chosen].tolist(), case.targets))
    return float(np.mean(scores)) if scores else float("nan")


def choose_blend_weights(
    folds: Folds, *, cold: bool = False, include_defaults: bool = True
) -> BlendChoice:
    """Fit the blend on validation playlists and keep it only if it ranks better than the
    defaults and a one-signal baseline there. The fitted blend is judged out of sample (fitted
    on half of the cases, scored on the other half, both ways); the others on every case.
    ``include_defaults=False`` leaves the code defaults out (they were fitted on the real
    extract's training playlists: leave them out when those may be held out)."""
    folds = [(r, list(c)) for r, c in folds]
    n_cases = sum(len(c) for _, c in folds)
    halves = [[(r, c[i::2]) for r, c in folds] for i in (0, 1)]
    fallback = DEFAULT_COLD_WEIGHTS if cold else DEFAULT_WEIGHTS
    candidates = {"default": fallback} if include_defaults else {}
    candidates.update(_BASELINE_COLD_WEIGHTS if cold else _BASELINE_WEIGHTS)
    scores = {name: validation_ndcg(folds, w, cold=cold) for name, w in candidates.items()}
    fitted_halves = [fit_blend_weights(h, cold=cold) for h in halves]
    if all(w is not None for w in fitted_halves):
        crossed = [
            validation_ndcg(halves[1 - i], w, cold=cold) for i, w in enumerate(fitted_halves)
        ]
        if not any(np.isnan(crossed)):
            scores["fitted"] = float(np.mean(crossed))
    ranked = sorted(
        (name for name in scores if not np.isnan(scores[name])),
        key=lambda name: (-scores[name], name != "fitted"),
    )
    best = ranked[0] if ranked else "default"
    if best == "fitted":
        weights = fit_blend_weights(folds, cold=cold) or dict(fallback)
    else:
        weights = dict(candidates.get(best, fallback))
    return BlendChoice(weights=weights, source=best, validation_ndcg=scores, cases=n_cases)


@dataclass
class ColdSongChoice:
    """The calibrated warm and cold-song blends and the offset chosen on the validation cold
    slice, and the trade-off behind the offset."""

    warm_weights: dict[str, float]
    weights: dict[str, float]
    offset: float
    head: int
    source: str  # "fitted" or "default"
    cases: int
    # per (head, offset) tried: warm NDCG, warm R-precision, cold recall@100, cold recall@500
    curve: dict[tuple[int, float], tuple[float, ...]] = field(default_factory=dict)


def calibrated(
    weights: dict[str, float], scores: np.ndarray, labels: np.ndarray, seed: int = 0
) -> dict[str, float]:
    """``weights`` scaled so that ``sigmoid(blend)`` is the share of held-back songs among songs
    scored so (Platt scaling on every positive and a re-weighted sample of negatives). The
    warm and cold-song blends are fitted on subsampled negatives from pools of very different
    sizes; calibrated, their scores compare, and the offset only has to correct what is left."""
    from sklearn.linear_model import LogisticRegression

    positive, negative = np.flatnonzero(labels), np.flatnonzero(~labels)
    if len(positive) < 5 or len(negative) < 5:
        return dict(weights)
    sample = np.random.default_rng(seed).choice(negative, min(len(negative), 50_000), replace=False)
    rows = np.concatenate([positive, sample])
    weight = np.concatenate(
        [np.ones(len(positive)), np.full(len(sample), len(negative) / len(sample))]
    )
    model = LogisticRegression(C=1e4).fit(
        scores[rows].reshape(-1, 1), labels[rows], sample_weight=weight
    )
    a, b = float(model.coef_[0, 0]), float(model.intercept_[0])
    if a <= 0:
        return dict(weights)
    out = {name: a * value for name, value in weights.items()}
    out["bias"] = out.get("bias", 0.0) + b
    return out


def choose_cold_song_blend(
    recommender: Recommender,
    cases: Sequence[Case],
    warm_weights: dict[str, float],
    *,
    k: int = 500,
    tolerance: float = WARM_TOLERANCE,
) -> ColdSongChoice:
    """Fit the cold-song blend on ``cases`` (the recommender's co-occurrence learned without
    them and without the stripped songs), calibrate it and the warm blend, then take the offset
    with the best recall of cold targets (songs no training playlist holds) among those whose
    warm NDCG and R-precision (targets with evidence) stay within ``tolerance`` of ranking every
    cold song last."""
    fitted = fit_blend_weights([(recommender, cases)], cold_songs=True)
    if fitted is None:
        default = dict(DEFAULT_COLD_SONG_WEIGHTS)
        return ColdSongChoice(
            dict(warm_weights),
            default,
            DEFAULT_COLD_SONG_OFFSET,
            DEFAULT_COLD_SONG_HEAD,
            "default",
            0,
        )
    warm_vector, cold_vector = weight_vector(warm_weights), weight_vector(fitted)
    seen = recommender.frequency > 0
    scored = []
    for case in cases:
        seeds = recommender.seeds(case.seeds, case.seed_artists)
        if not len(seeds.items):
            continue
        warm, cold = recommender.hybrid_logits(seeds, warm_vector, cold_vector)
        label = np.zeros(recommender.n, dtype=bool)
        targets = recommender.positions(case.targets)
        label[targets] = True
        label[seeds.songs] = False
        scored.append((seeds, warm, cold, seen, label, targets))
    if not scored:
        return ColdSongChoice(
            dict(warm_weights),
            fitted,
            DEFAULT_COLD_SONG_OFFSET,
            DEFAULT_COLD_SONG_HEAD,
            "default",
            0,
        )

    def pooled(column: int, evidence: bool) -> tuple[np.ndarray, np.ndarray]:
        keep = [s[3] == evidence for s in scored]
        return (
            np.concatenate([s[column][m] for s, m in zip(scored, keep, strict=True)]),
            np.concatenate([s[4][m] for s, m in zip(scored, keep, strict=True)]),
        )

    warm_cal = calibrated(warm_weights, *pooled(1, True))
    cold_cal = calibrated(fitted, *pooled(2, False))
    warm_vector, cold_vector = weight_vector(warm_cal), weight_vector(cold_cal)
    grid = [(0, -1e3)] + [(h, o) for h in COLD_SONG_HEADS for o in COLD_SONG_OFFSETS]
    rows: dict[tuple[int, float], list[tuple[float, ...]]] = {g: [] for g in grid}
    nan = float("nan")
    for seeds, _, _, _, _, targets in scored:
        evidence = recommender.evidence(seeds)
        x = recommender.features(seeds)
        warm, cold = warm_vector[0] + x @ warm_vector[1:], cold_vector[0] + x @ cold_vector[1:]
        warm_targets = recommender.ids[targets[seen[targets]]].tolist()
        cold_targets = recommender.ids[targets[~seen[targets]]].tolist()
        for head, offset in grid:
            # logits, the head lifted far above the rest (no sigmoid: nothing saturates)
            merged = np.where(seen, warm, cold + offset)
            score = head_first(merged, evidence, seeds, head, lift=1e6)
            ids = recommender.ids[recommender.select(score, seeds, k)].tolist()
            rows[(head, offset)].append(
                (
                    ndcg(ids, warm_targets) if warm_targets else nan,
                    r_precision(ids, warm_targets) if warm_targets else nan,
                    recall_at(ids, cold_targets, 100) if cold_targets else nan,
                    recall_at(ids, cold_targets, k) if cold_targets else nan,
                )
            )
    curve = {g: tuple(float(np.nanmean(c)) for c in zip(*r, strict=True)) for g, r in rows.items()}
    base = curve[grid[0]]
    allowed = [
        g
        for g in grid[1:]
        if curve[g][0] >= base[0] - tolerance and curve[g][1] >= base[1] - tolerance
    ]
    head, offset = (
        max(allowed, key=lambda g: (curve[g][2] + curve[g][3], -g[0], g[1])) if allowed else grid[0]
    )
    return ColdSongChoice(warm_cal, cold_cal, offset, head, "fitted", len(scored), curve)
