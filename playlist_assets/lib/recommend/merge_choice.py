"""Choosing the cold-song scorer and the merge on a cold fold of the validation playlists.

The cold fold strips ``SplitSpec.strip_fraction`` of the catalogue songs from the training rows:
the validation playlists' next songs then include that share of songs without evidence, as a
deployment's playlists include fresh songs. Each cold-song scorer (linear blend, trees, both
summed) is calibrated against the warm blend (``merge.fit_curve``) and merged; the one that finds
the most cold targets in the first 100 places without costing the warm targets their hit@100
beyond noise serves. What every merge did on these playlists is reported beside ranking every
song without evidence last.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from playlist_assets.lib.recommend.blend import Prepared, default_cold_song, fit_blend_weights
from playlist_assets.lib.recommend.cold_model import ColdSongModel, fit_cold_model
from playlist_assets.lib.recommend.merge import Merge, fit_curve
from playlist_assets.lib.recommend.metrics import clicks, hit_at, ndcg, r_precision, recall_at
from playlist_assets.lib.recommend.recommender import Recommender, Scored
from playlist_assets.lib.recommend.settings import Blends, weight_vector

COLD_LAST = Merge()


@dataclass
class MergeChoice:
    """The blends with the fitted cold-song blend and merge, and what they did on validation."""

    blends: Blends
    source: str  # the cold-song scorer that serves: "fitted" (linear), "trees", "summed", "default"
    cases: int
    cold_target_share: float  # share of the cases' next songs without evidence
    # per ranking ("cold last", "merged <scorer>", "merged": the chosen): NDCG
    # over every next song, warm NDCG, R-precision, clicks, hit@100 (targets with
    # evidence) and recall@100, recall@500 (targets without)
    validation: dict[str, dict[str, float]] = field(default_factory=dict)

    def mlflow_metrics(self) -> dict[str, float]:
        out = {"merge.cold_target_share": self.cold_target_share, "merge.cases": self.cases}
        for ranking, figures in self.validation.items():
            key = ranking.replace(" ", "_")
            out.update({f"merge.{key}.{m}": v for m, v in figures.items() if v == v})
        return out


# The place after which songs without evidence come first (``Merge.tail_from``). On the shared
# MPD extract's held-out playlists (3 folds, benchmarks/results/recommend.md), from place 150 the
# stripped songs found in 500 places rose from 0.655 to 0.737 (popularity alone: 0.699) and
# the first right song of the warm lists moved for none; from place 100 it moved for the few
# whose first right song lay in places 101-150 (clicks 1.05 -> 1.38).
TAIL_FROM = 150
# A merge may not lose the warm targets' hit@100 against cold songs last by more than this many
# standard errors of the paired difference over the validation cases (more would be beyond noise).
HIT_NOISE = 2.0


def choose_merge(
    recommender: Recommender, prepared: Sequence[Prepared], blends: Blends, *, k: int = 500
) -> MergeChoice:
    """Fit the cold-song scorers and both curves on the cold fold's ``prepared`` cases (their
    recommender learned without the stripped songs' rows and without the cases' playlists), and
    keep the scorer whose merged lists find the most cold targets in their first 100 places,
    provided the warm targets' hit@100 is not worse than ranking them last beyond noise
    (``HIT_NOISE``).

    Scorers of the songs without evidence: the fitted linear cold-song blend, gradient-boosted
    trees, and the two summed ("summed"). The trees are cross-fitted: each half of the cases is
    scored by trees fitted on the other half, so the curves and the figures see out-of-sample
    scores, as serving will. Every merge hands the places after TAIL_FROM to the songs
    without evidence (``Merge.tail_from``)."""
    prepared = list(prepared)
    targets = sum(int(p.label.sum()) for p in prepared)
    cold_targets = sum(int((p.label & ~p.evidence).sum()) for p in prepared)
    share = cold_targets / targets if targets else 0.0
    fitted = fit_blend_weights(prepared, "cold_song")
    cold_song = fitted or default_cold_song()
    warm_vector = weight_vector(blends.warm)
    warm_logits = [warm_vector[0] + p.x @ warm_vector[1:] for p in prepared]
    warm_curve = fit_curve(
        [w[p.evidence] for p, w in zip(prepared, warm_logits, strict=True)],
        [p.label[p.evidence] for p in prepared],
    )
    last = _rows(recommender, prepared, warm_logits, None, COLD_LAST, k)
    validation = {"cold last": _means(last)}
    best: tuple[float, str, Merge, Any] | None = None
    for name, model, cold_logits in _scorers(prepared, fitted):
        cold_curve = fit_curve(
            [c[~p.evidence] for p, c in zip(prepared, cold_logits, strict=True)],
            [p.label[~p.evidence] for p in prepared],
        )
        if warm_curve is None or cold_curve is None:
            continue
        merge = Merge(warm_curve, cold_curve, TAIL_FROM)
        rows = _rows(recommender, prepared, warm_logits, cold_logits, merge, k)
        figures = validation[f"merged {name}"] = _means(rows)
        found = figures.get("cold_recall_at_100", 0.0)
        if _holds_hits(rows, last) and (best is None or found > best[0]):
            best = (found, name, merge, model)
    source, merge, model = ("default", COLD_LAST, None) if best is None else best[1:]
    if best is not None:
        validation["merged"] = validation[f"merged {source}"]
    chosen = Blends(
        warm=blends.warm,
        cold=blends.cold,
        cold_song=cold_song,
        merge=merge,
        cold_song_model=model,
        source={**blends.source, "cold_song": source},
    )
    return MergeChoice(chosen, source, len(prepared), share, validation)


def _scorers(
    prepared: list[Prepared], fitted: dict[str, float] | None
) -> list[tuple[str, Any, list[np.ndarray]]]:
    """(name, what serves it, each case's logits) of every cold-song scorer that could be fitted."""
    out: list[tuple[str, Any, list[np.ndarray]]] = []
    vector = weight_vector(fitted) if fitted else None
    linear = [vector[0] + p.x @ vector[1:] for p in prepared] if vector is not None else []
    if vector is not None:
        out.append(("fitted", None, linear))
    model, trees = _cross_fitted(prepared)
    if model is not None:
        out.append(("trees", model, trees))
        if vector is not None:
            summed = [t + li for t, li in zip(trees, linear, strict=True)]
            out.append(("summed", ColdSongModel(model.model, vector), summed))
    return out


def _cross_fitted(prepared: list[Prepared]) -> tuple[Any, list[np.ndarray]]:
    """The cold-song trees fitted on every case, and each case's cold logits from the trees
    fitted on the other half (None when a half has too few cold targets to fit)."""
    halves = [prepared[0::2], prepared[1::2]]
    models = [
        fit_cold_model([p.x[~p.evidence] for p in h], [p.label[~p.evidence] for p in h])
        for h in halves
    ]
    final = fit_cold_model(
        [p.x[~p.evidence] for p in prepared], [p.label[~p.evidence] for p in prepared]
    )
    if final is None or any(m is None for m in models):
        return None, []
    out = []
    for i, p in enumerate(prepared):
        logit = np.zeros(len(p.positions))
        logit[~p.evidence] = models[1 - i % 2].logit(p.x[~p.evidence])
        out.append(logit)
    return final, out


_METRICS = (
    "ndcg",  # every next song, with evidence or not
    "warm_ndcg",
    "warm_r_precision",
    "warm_clicks",
    "warm_hit_at_100",
    "cold_recall_at_100",
    "cold_recall_at_500",
)


def _rows(
    recommender: Recommender,
    prepared: Sequence[Prepared],
    warm_logits: Sequence[np.ndarray],
    cold_logits: Sequence[np.ndarray] | None,
    merge: Merge,
    k: int,
) -> np.ndarray:
    """Each case's figures (cases x ``_METRICS``; NaN where a case has no such targets) ranked
    by ``merge`` (``cold_logits`` None: the songs without evidence all score zero, as ranking
    them last needs no scorer)."""
    nan = float("nan")
    rows = []
    for i, (p, warm) in enumerate(zip(prepared, warm_logits, strict=True)):
        cold = cold_logits[i] if cold_logits is not None else np.zeros(len(warm))
        chosen = recommender.select(Scored(p.positions, merge(warm, cold, p.evidence)), p.seeds, k)
        ids = recommender.ids[chosen].tolist()
        warm_targets = recommender.ids[p.positions[p.label & p.evidence]].tolist()
        cold_targets = [t for t in p.case.targets if t not in set(warm_targets)]
        rows.append(
            (
                ndcg(ids, list(p.case.targets)),
                ndcg(ids, warm_targets) if warm_targets else nan,
                r_precision(ids, warm_targets) if warm_targets else nan,
                float(clicks(ids, warm_targets)) if warm_targets else nan,
                hit_at(ids, warm_targets, 100) if warm_targets else nan,
                recall_at(ids, cold_targets, 100) if cold_targets else nan,
                recall_at(ids, cold_targets, k) if cold_targets else nan,
            )
        )
    return np.asarray(rows, dtype=float).reshape(len(rows), len(_METRICS))


def _means(rows: np.ndarray) -> dict[str, float]:
    if not len(rows):
        return {}
    with warnings.catch_warnings():  # a metric no case has (no cold targets): NaN, said once
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(rows, axis=0)
    return {m: float(v) for m, v in zip(_METRICS, means, strict=True)}


def _holds_hits(rows: np.ndarray, last: np.ndarray) -> bool:
    """Whether the warm hit@100 of ``rows`` is not below ``last``'s beyond noise (paired)."""
    col = _METRICS.index("warm_hit_at_100")
    diff = rows[:, col] - last[:, col]
    diff = diff[~np.isnan(diff)]
    if not len(diff):
        return True
    noise = HIT_NOISE * float(diff.std(ddof=1)) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
    return float(diff.mean()) >= -noise
