"""What ``recommendation_eval`` stores and reports: one table, warm and cold side by side."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from playlist_assets.lib.recommend.names import (
    COLD_SONG_METRICS,
    METRICS,
    SLICE_ALL,
    SLICE_COLD_SONGS,
)

TABLE_COLUMNS: tuple[str, ...] = (
    "slice",
    "strategy",
    "playlists",
    *METRICS,
    *(m for m in COLD_SONG_METRICS if m not in METRICS),
)
# The headline figures users judge a recommender by: warm quality and finding cold songs.
WARM_HEADLINE: tuple[str, ...] = ("r_precision", "ndcg", "clicks", "hit_at_100")
COLD_HEADLINE: tuple[str, ...] = ("recall_at_100", "recall_at_500")
SIDE_BY_SIDE: tuple[str, ...] = ("hybrid", "cooccurrence", "popular", "random")


def side_by_side(table: pd.DataFrame) -> pd.DataFrame:
    """Warm (R-precision, NDCG, clicks, hit@100) and cold (recall@100/@500) figures of the
    hybrid and its baselines from an evaluation table, one row each: what the metadata, the
    MLflow run and the dashboard lead with."""
    if table.empty:
        return pd.DataFrame()
    cells = table.set_index(["slice", "strategy"])
    rows = []
    for strategy in SIDE_BY_SIDE:
        row: dict[str, Any] = {"strategy": strategy}
        for slice_, prefix, metrics in (
            (SLICE_ALL, "warm", WARM_HEADLINE),
            (SLICE_COLD_SONGS, "cold", COLD_HEADLINE),
        ):
            for metric in metrics:
                key = (slice_, strategy)
                known = metric in cells.columns and key in cells.index
                row[f"{prefix}_{metric}"] = cells[metric].get(key) if known else None
        if any(pd.notna(v) for k, v in row.items() if k != "strategy"):
            rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class EvalResult:
    """What ``recommendation_eval`` stores (``table``) and reports."""

    table: pd.DataFrame  # one row per (slice, strategy), TABLE_COLUMNS
    cases: int
    cold_start_playlists: int
    cold_song_cases: int
    stripped_songs: int
    blends: dict[str, dict[str, float]] = field(default_factory=dict)
    per_case: pd.DataFrame = field(default_factory=pd.DataFrame)  # warm slice, per playlist
    cold_per_case: pd.DataFrame = field(default_factory=pd.DataFrame)  # cold slice, per playlist

    def value(self, slice_: str, strategy: str, metric: str) -> float | None:
        row = self.table[(self.table["slice"] == slice_) & (self.table["strategy"] == strategy)]
        return None if row.empty or pd.isna(row[metric].iloc[0]) else float(row[metric].iloc[0])

    def hybrid_ahead(self, metric: str) -> bool:
        """The hybrid beats every other strategy of the warm slice on ``metric``."""
        mine = self.value(SLICE_ALL, "hybrid", metric)
        others = set(self.table.loc[self.table["slice"] == SLICE_ALL, "strategy"]) - {"hybrid"}
        return mine is not None and all(
            mine > (self.value(SLICE_ALL, s, metric) or 0.0) for s in others
        )

    def side_by_side(self) -> pd.DataFrame:
        return side_by_side(self.table)

    def headline(self) -> dict[str, float | int | bool]:
        """Counts and the hybrid's headline figures, for the asset's metadata."""
        out: dict[str, float | int | bool] = {
            "playlists_scored": self.cases,
            "cold_start_playlists": self.cold_start_playlists,
            "cold_song_playlists": self.cold_song_cases,
            "stripped_songs": self.stripped_songs,
        }
        for metric in WARM_HEADLINE:
            value = self.value(SLICE_ALL, "hybrid", metric)
            if value is not None:
                out[f"hybrid_{metric}"] = value
        for metric in COLD_HEADLINE:
            value = self.value(SLICE_COLD_SONGS, "hybrid", metric)
            if value is not None:
                out[f"hybrid_cold_{metric}"] = value
        if (self.table["strategy"] == "hybrid").any():
            out.update(
                {f"hybrid_ahead_on_{m}": self.hybrid_ahead(m) for m in ("r_precision", "ndcg")}
            )
        return out

    def mlflow_metrics(self) -> dict[str, float]:
        """``<slice>.<strategy>.<metric>`` of every cell, the counts and the blends."""
        metrics = {
            f"{row['slice']}.{row['strategy']}.{m}": float(row[m])
            for row in self.table.to_dict("records")
            for m in TABLE_COLUMNS[3:]
            if pd.notna(row[m])
        }
        metrics.update(cases=self.cases, cold_song_cases=self.cold_song_cases)
        for group, weights in self.blends.items():
            metrics.update({f"blend_{group}.{k}": v for k, v in weights.items()})
        return metrics
