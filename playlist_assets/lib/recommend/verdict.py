"""``recommendation_eval``'s work: score the served recommender, compare it with the champion,
promote it or keep it as the challenger, and say so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from playlist_assets.lib.recommend import champion
from playlist_assets.lib.recommend.evaluation import evaluate_holdout
from playlist_assets.lib.recommend.names import EVAL_STRATEGIES
from playlist_assets.lib.recommend.promotion import Promotion, compare
from playlist_assets.lib.recommend.recommender import Recommender
from playlist_assets.lib.recommend.report import EvalResult
from playlist_assets.lib.recommend.settings import SplitSpec


@dataclass
class Outcome:
    """What the evaluation found and what it did with the candidate."""

    result: EvalResult
    promotion: Promotion
    version: str  # the candidate's
    role: str  # champion or challenger
    champion_version: str | None  # the champion it was compared with

    def mlflow_metrics(self) -> dict[str, float]:
        metrics = self.result.mlflow_metrics()
        metrics["promoted"] = float(self.promotion.promote)
        for d in self.promotion.differences:
            key = f"vs_champion.{d.slice}.{d.metric}"
            metrics.update({f"{key}.low": d.low, f"{key}.high": d.high})
        return metrics

    def artifacts(self) -> dict[str, Any]:
        return {
            "recommendation_eval.md": markdown(self.result.table),
            "side_by_side.md": markdown(self.result.side_by_side(), first_metric=1),
            "promotion.md": self.promotion.reason + "\n\n" + differences_markdown(self.promotion),
        }

    def summary(self) -> dict[str, Any]:
        """Plain figures and markdown tables for the asset's metadata."""
        return {
            **self.result.headline(),
            "recommender_version": self.version,
            "role": self.role,
            "compared_with": self.champion_version or "no champion",
            "promotion": self.promotion.reason,
            "side_by_side_md": markdown(self.result.side_by_side(), first_metric=1),
            "table_md": markdown(self.result.table),
        }


def markdown(table: pd.DataFrame, first_metric: int = 3) -> str:
    if table.empty:
        return "_no playlist to score_"
    shown = table.copy()
    for column in shown.columns[first_metric:]:
        shown[column] = shown[column].map(lambda v: "n/a" if pd.isna(v) else f"{v:.4f}")
    return shown.to_markdown(index=False)


def differences_markdown(promotion: Promotion) -> str:
    table = promotion.table()
    if table.empty:
        return "_no comparison_"
    return markdown(
        table[["slice", "metric", "playlists", "candidate", "champion", "low", "high"]], 3
    )


def version_of(cooccurrence: Any) -> str:
    """A recommender's version: when and in which Dagster run its co-occurrence was learned."""
    tuning = getattr(cooccurrence, "tuning", {}) or {}
    run = str(tuning.get("run_id", "unknown"))[:8]
    when = str(tuning.get("learned_at", "")).replace("-", "").replace(":", "")[:13]
    return f"{when}-{run}" if when else run


def evaluate_and_promote(
    playlists: pd.DataFrame,
    songs: pd.DataFrame,
    cooccurrence: Any,
    classifier: Any,
    cluster_models: dict[str, Any],
    spec: SplitSpec,
    models: Path,
    *,
    strategies: Sequence[str] = EVAL_STRATEGIES,
    k: int = 500,
) -> Outcome:
    """Score the candidate (``cooccurrence`` on the serving songs), then the champion on the same
    held-out playlists, and install the candidate as champion or challenger. A ValueError when
    the co-occurrence was learned with other split settings than ``spec``."""
    learned = getattr(cooccurrence, "spec", None)
    if learned != spec:
        raise ValueError(
            f"track_cooccurrence was learned with {learned} but the settings are {spec}: "
            "re-materialize track_cooccurrence"
        )
    candidate = Recommender(songs, cooccurrence, classifier, cluster_models)
    result = evaluate_holdout(playlists, candidate, spec, strategies, k=k)
    version = version_of(cooccurrence)
    current = champion.card(models, champion.CHAMPION)
    compared = None
    if current is None:
        promotion = compare(result, None)
    elif current.version == version:
        promotion = Promotion(True, f"already the champion ({version})")
    else:
        served, _ = champion.serving(models)
        try:
            champion_result = evaluate_holdout(
                playlists,
                candidate.with_cooccurrence(served, getattr(served, "blends", None)),
                spec,
                ["hybrid"],
                k=k,
                split_of=cooccurrence,
            )
        except ValueError as exc:  # e.g. it learned from today's held-out playlists
            promotion = Promotion(True, f"champion {current.version} not comparable ({exc})")
        else:
            promotion, compared = compare(result, champion_result), current.version
    role = champion.CHAMPION if promotion.promote else champion.CHALLENGER
    card = champion.Card(
        version,
        str(cooccurrence.tuning.get("run_id", "")),
        role,
        pd.Timestamp.now(tz="UTC").isoformat(),
        promotion.reason,
    )
    champion.install(models, role, cooccurrence, card)
    if promotion.promote:
        champion.retire_challenger(models)
    return Outcome(result, promotion, version, role, compared)
