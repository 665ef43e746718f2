"""Choosing how much the hybrid trusts each signal, on validation playlists.

Three blends (see ``features``): warm and cold-start weights are chosen as before on
co-occurrence learned without the validation playlists. The cold-song blend and its offset are
chosen on a cold slice: a share of the catalogue songs is stripped from the training rows, the
cold-song blend is fitted on songs without evidence, and the offset is the largest trust in
those songs that keeps the warm ranking's validation NDCG and R-precision within a tolerance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from playlist_assets.lib.recommend.cooccurrence import (
    Case,
)
from playlist_assets.lib.recommend.features import (
    COOC_FEATURES,
    DEFAULT_COLD_SONG_HEAD,
    DEFAULT_COLD_SONG_OFFSET,
    DEFAULT_COLD_SONG_WEIGHTS,
    DEFAULT_COLD_WEIGHTS,
    DEFAULT_WEIGHTS,
    FEATURES,
    weight_vector,
)
from playlist_assets.lib.recommend.metrics import ndcg, r_precision, recall_at
from playlist_assets.lib.recommend.recommender import Recommender, Seeds, head_first

MIN_FIT_CASES = 20  # fewer validation playlists than this: keep the defaults
# Offsets tried for the cold-song blend, and how much warm validation quality it may cost.
COLD_SONG_OFFSETS: tuple[float, ...] = tuple(float(x) for x in np.arange(-3.0, 4.01, 0.5))
COLD_SONG_HEADS: tuple[int, ...] = (0, 20, 50)
WARM_TOLERANCE = 0.003

Folds = Sequence[tuple[Recommender, Sequence[Case]]]


def _examples(
    recommender: Recommender,
    seeds: Seeds,
    features: np.ndarray,
    targets: Sequence[str],
    *,
    cold: bool,
    cold_songs: bool,
    negatives: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One case's training rows for the blend: every positive, ``negatives`` sampled negatives."""
    label = np.zeros(recommender.n, dtype=bool)
    label[recommender.positions(targets)] = True
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
    return features[rows], label[rows]


def _fit(
    xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], used: list[int], regularization: float
) -> dict[str, float] | None:
    """The logistic regression of the examples, as blend weights on the raw features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if not xs:
        return None
    x, y = np.vstack(xs)[:, used], np.concatenate(ys)
    if y.sum() < 10 or (~y).sum() < 10:
        return None
    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    model = LogisticRegression(C=regularization, max_iter=5000).fit((x - scaler.mean_) / scale, y)
    coef = model.coef_[0] / scale
    weights = {"bias": float(model.intercept_[0] - (coef * scaler.mean_).sum())}
    weights.update({FEATURES[i]: float(c) for i, c in zip(used, coef, strict=True)})
    return weights


def _used_features(blind: bool) -> list[int]:
    """Feature columns a blend learns from (blind: without co-occurrence evidence)."""
    return [i for i, f in enumerate(FEATURES) if not (blind and f in COOC_FEATURES)]


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
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    folds = [(r, list(c)) for r, c in folds]
    if sum(len(c) for _, c in folds) < MIN_FIT_CASES:
        return None
    for recommender, cases in folds:
        for case in cases:
            seeds = recommender.seeds(case.seeds, case.seed_artists, use_items=not cold)
            if not cold and not len(seeds.items):
                continue
            x, y = _examples(
                recommender,
                seeds,
                recommender.features(seeds),
                case.targets,
                cold=cold,
                cold_songs=cold_songs,
                negatives=negatives,
                rng=rng,
            )
            xs.append(x)
            ys.append(y)
    return _fit(xs, ys, _used_features(cold or cold_songs), regularization)


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


def _case_ndcg(
    recommender: Recommender,
    case: Case,
    seeds: Seeds,
    vector: np.ndarray,
    features: np.ndarray,
    k: int,
) -> float:
    """NDCG of the hybrid ranking one case with the blend ``vector``, as served."""
    score = recommender.hybrid_score(seeds, vector, features=features)
    return ndcg(recommender.ids[recommender.select(score, seeds, k)].tolist(), case.targets)


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def choose_blend_weights(
    folds: Folds, *, cold: bool = False, include_defaults: bool = True, k: int = 500
) -> BlendChoice:
    """Fit the blend on validation playlists and keep it only if it ranks better than the
    defaults and a one-signal baseline there. The fitted blend is judged out of sample (fitted
    on half of the cases, scored on the other half, both ways); the others on every case.
    ``include_defaults=False`` leaves the code defaults out (they were fitted on the real
    extract's training playlists: leave them out when those may be held out).

    Each case's features are built twice, not once per candidate and fit: the first pass scores
    the fixed candidates and draws the fitting examples, the second scores each half's fit on
    the other half."""
    folds = [(r, list(c)) for r, c in folds]
    n_cases = sum(len(c) for _, c in folds)
    fallback = DEFAULT_COLD_WEIGHTS if cold else DEFAULT_WEIGHTS
    candidates = {"default": fallback} if include_defaults else {}
    candidates.update(_BASELINE_COLD_WEIGHTS if cold else _BASELINE_WEIGHTS)
    vectors = {name: weight_vector(w) for name, w in candidates.items()}
    per_case: dict[str, list[float]] = {name: [] for name in candidates}
    examples: list[list[tuple[np.ndarray, np.ndarray]]] = [[], []]  # per half
    usable: list[tuple[Recommender, Case, Seeds, int]] = []
    rng = np.random.default_rng(0)
    for recommender, cases in folds:
        for i, case in enumerate(cases):
            seeds = recommender.seeds(case.seeds, case.seed_artists, use_items=not cold)
            if not cold and not len(seeds.items):
                continue
            x = recommender.features(seeds)
            for name, vector in vectors.items():
                per_case[name].append(_case_ndcg(recommender, case, seeds, vector, x, k))
            examples[i % 2].append(
                _examples(
                    recommender,
                    seeds,
                    x,
                    case.targets,
                    cold=cold,
                    cold_songs=False,
                    negatives=50,
                    rng=rng,
                )
            )
            usable.append((recommender, case, seeds, i % 2))
    scores = {name: _mean(values) for name, values in per_case.items()}
    used = _used_features(cold)
    half_cases = [sum(len(c[i::2]) for _, c in folds) for i in (0, 1)]
    halves = [
        _fit([x for x, _ in examples[i]], [y for _, y in examples[i]], used, 1.0)
        if half_cases[i] >= MIN_FIT_CASES
        else None
        for i in (0, 1)
    ]
    if all(h is not None for h in halves):
        crossed: list[list[float]] = [[], []]  # by the half that was fitted
        vectors_of = [weight_vector(h or {}) for h in halves]
        for recommender, case, seeds, half in usable:
            x = recommender.features(seeds)
            other = 1 - half
            crossed[other].append(_case_ndcg(recommender, case, seeds, vectors_of[other], x, k))
        means = [_mean(c) for c in crossed]
        if not any(np.isnan(means)):
            scores["fitted"] = float(np.mean(means))
    ranked = sorted(
        (name for name in scores if not np.isnan(scores[name])),
        key=lambda name: (-scores[name], name != "fitted"),
    )
    best = ranked[0] if ranked else "default"
    if best == "fitted":
        everything = examples[0] + examples[1]
        fitted = _fit([x for x, _ in everything], [y for _, y in everything], used, 1.0)
        weights = fitted or dict(fallback)
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


def platt(scores: np.ndarray, labels: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """(a, b) such that ``sigmoid(a * score + b)`` is the share of held-back songs among songs
    scored so (Platt scaling on every positive and a re-weighted sample of negatives); (1, 0)
    when there are too few of either or the fit does not increase with the score."""
    from sklearn.linear_model import LogisticRegression

    positive, negative = np.flatnonzero(labels), np.flatnonzero(~labels)
    if len(positive) < 5 or len(negative) < 5:
        return 1.0, 0.0
    sample = np.random.default_rng(seed).choice(negative, min(len(negative), 50_000), replace=False)
    rows = np.concatenate([positive, sample])
    weight = np.concatenate(
        [np.ones(len(positive)), np.full(len(sample), len(negative) / len(sample))]
    )
    model = LogisticRegression(C=1e4).fit(
        scores[rows].reshape(-1, 1), labels[rows], sample_weight=weight
    )
    a, b = float(model.coef_[0, 0]), float(model.intercept_[0])
    return (a, b) if a > 0 else (1.0, 0.0)


def calibrated(weights: dict[str, float], a: float, b: float) -> dict[str, float]:
    """``weights`` whose blend is ``a * blend + b`` (``platt``'s scaling). The warm and cold-song
    blends are fitted on subsampled negatives from pools of very different sizes; calibrated,
    their scores compare, and the offset only has to correct what is left."""
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
        scored.append((seeds, warm, cold, recommender.evidence(seeds), label, targets))
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
        return (
            np.concatenate([s[column][seen == evidence] for s in scored]),
            np.concatenate([s[4][seen == evidence] for s in scored]),
        )

    (warm_a, warm_b), (cold_a, cold_b) = platt(*pooled(1, True)), platt(*pooled(2, False))
    grid = [(0, -1e3)] + [(h, o) for h in COLD_SONG_HEADS for o in COLD_SONG_OFFSETS]
    rows: dict[tuple[int, float], list[tuple[float, ...]]] = {g: [] for g in grid}
    nan = float("nan")
    for seeds, warm, cold, evidence, _, targets in scored:
        warm, cold = warm_a * warm + warm_b, cold_a * cold + cold_b  # the calibrated blends
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
    warm_cal = calibrated(warm_weights, warm_a, warm_b)
    cold_cal = calibrated(fitted, cold_a, cold_b)
    return ColdSongChoice(warm_cal, cold_cal, offset, head, "fitted", len(scored), curve)
