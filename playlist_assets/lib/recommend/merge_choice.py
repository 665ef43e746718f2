"""Choosing the cold-song blend and the merge on a cold fold of the validation playlists.

The cold fold strips ``SplitSpec.strip_fraction`` of the catalogue songs from the training rows:
the validation playlists' next songs then include that share of songs without evidence, as a
deployment's playlists include fresh songs. The cold-song blend is fitted on the candidates
without evidence, then both groups' calibration curves (``merge.fit_curve``). What the merge
does on these playlists is reported beside ranking every song without evidence last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from playlist_assets.lib.recommend.blend import Prepared, default_cold_song, fit_blend_weights
from playlist_assets.lib.recommend.cold_model import fit_cold_model
from playlist_assets.lib.recommend.merge import Merge, fit_curve
from playlist_assets.lib.recommend.metrics import clicks, hit_at, ndcg, r_precision, recall_at
from playlist_assets.lib.recommend.recommender import Recommender, Scored
from playlist_assets.lib.recommend.settings import Blends, weight_vector

COLD_LAST = Merge()


@dataclass
class MergeChoice:
    """The blends with the fitted cold-song blend and merge, and what they did on validation."""

    blends: Blends
    source: str  # "fitted" or "default"
    cases: int
    cold_target_share: float  # share of the cases' next songs without evidence
    # per ranking ("cold last", "merged"): warm NDCG, R-precision, clicks, hit@100 (targets with
    # evidence) and recall@100, recall@500 (targets without)
    validation: dict[str, dict[str, float]] = field(default_factory=dict)

    def mlflow_metrics(self) -> dict[str, float]:
        out = {"merge.cold_target_share": self.cold_target_share, "merge.cases": self.cases}
        for ranking, figures in self.validation.items():
            key = ranking.replace(" ", "_")
            out.update({f"merge.{key}.{m}": v for m, v in figures.items() if v == v})
        return out


def choose_merge(
    recommender: Recommender, prepared: Sequence[Prepared], blends: Blends, *, k: int = 500
) -> MergeChoice:
    """Fit the cold-song scorer and both curves on the cold fold's ``prepared`` cases (their
    recommender learned without the stripped songs' rows and without the cases' playlists).

    The trees are cross-fitted: each half of the cases is scored by trees fitted on the other
    half, so the curves (and the figures reported) see out-of-sample scores, as serving will."""
    prepared = list(prepared)
    targets = sum(int(p.label.sum()) for p in prepared)
    cold_targets = sum(int((p.label & ~p.evidence).sum()) for p in prepared)
    share = cold_targets / targets if targets else 0.0
    fitted = fit_blend_weights(prepared, "cold_song")
    cold_song = fitted or default_cold_song()
    model, cold_logits = _cross_fitted(prepared)
    if model is None:  # too few cold targets for trees: the linear blend
        vector = weight_vector(cold_song)
        cold_logits = [vector[0] + p.x @ vector[1:] for p in prepared]
    warm_vector = weight_vector(blends.warm)
    logits = [
        (warm_vector[0] + p.x @ warm_vector[1:], c)
        for p, c in zip(prepared, cold_logits, strict=True)
    ]
    warm_curve = fit_curve(
        [w[p.evidence] for p, (w, _) in zip(prepared, logits, strict=True)],
        [p.label[p.evidence] for p in prepared],
    )
    cold_curve = fit_curve(
        [c[~p.evidence] for p, (_, c) in zip(prepared, logits, strict=True)],
        [p.label[~p.evidence] for p in prepared],
    )
    source = "default"
    if warm_curve and cold_curve and (fitted or model):
        source = "trees" if model is not None else "fitted"
    merge = Merge(warm_curve, cold_curve) if source != "default" else COLD_LAST
    chosen = Blends(
        warm=blends.warm,
        cold=blends.cold,
        cold_song=cold_song,
        merge=merge,
        cold_song_model=model if source == "trees" else None,
        source={**blends.source, "cold_song": source},
    )
    validation = {
        name: _figures(recommender, prepared, logits, m, k)
        for name, m in (("cold last", COLD_LAST), ("merged", merge))
    }
    return MergeChoice(chosen, source, len(prepared), share, validation)


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


def _figures(
    recommender: Recommender,
    prepared: Sequence[Prepared],
    logits: Sequence[tuple[np.ndarray, np.ndarray]],
    merge: Merge,
    k: int,
) -> dict[str, float]:
    """Mean warm and cold figures of the cases ranked by ``merge``."""
    rows = []
    for p, (warm, cold) in zip(prepared, logits, strict=True):
        chosen = recommender.select(Scored(p.positions, merge(warm, cold, p.evidence)), p.seeds, k)
        ids = recommender.ids[chosen].tolist()
        warm_targets = recommender.ids[p.positions[p.label & p.evidence]].tolist()
        cold_targets = [t for t in p.case.targets if t not in set(warm_targets)]
        nan = float("nan")
        rows.append(
            (
                ndcg(ids, warm_targets) if warm_targets else nan,
                r_precision(ids, warm_targets) if warm_targets else nan,
                float(clicks(ids, warm_targets)) if warm_targets else nan,
                hit_at(ids, warm_targets, 100) if warm_targets else nan,
                recall_at(ids, cold_targets, 100) if cold_targets else nan,
                recall_at(ids, cold_targets, k) if cold_targets else nan,
            )
        )
    names = (
        "warm_ndcg",
        "warm_r_precision",
        "warm_clicks",
        "warm_hit_at_100",
        "cold_recall_at_100",
        "cold_recall_at_500",
    )
    if not rows:
        return {}
    return {
        n: float(np.nanmean(col)) for n, col in zip(names, zip(*rows, strict=True), strict=True)
    }
