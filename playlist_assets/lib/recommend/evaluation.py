"""How well the recommender continues held-out playlists: the warm slice, cold start, cold songs.

- warm (``all``): the held-out playlists' first half given, their second half's catalogue songs
  to find, with the co-occurrence ``track_cooccurrence`` learned (every strategy side by side);
- ``cold_start``: those of them none of whose tracks is in the playlists data;
- ``simulated_cold_start``: every playlist with its seeds hidden from the co-occurrence data;
- ``cold_songs``: a share of the catalogue songs stripped from the training playlists' rows
  (co-occurrence learned again without them); targets are the stripped songs of each held-out
  playlist's second half: how well a strategy brings back songs no playlist holds yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from playlist_assets.lib.classifier.split import evaluation_pool
from playlist_assets.lib.recommend.cooccurrence import (
    Case,
    continuation_cases,
    learn_cooccurrence,
    strip_songs,
)
from playlist_assets.lib.recommend.features import blend_kwargs
from playlist_assets.lib.recommend.metrics import ndcg, r_precision, recall_at, score_list
from playlist_assets.lib.recommend.names import (
    COLD_SONG_METRICS,
    COLD_SONG_STRATEGIES,
    DEFAULT_MAX_EVAL_SONGS,
    EVAL_STRATEGIES,
    METRICS,
    RECALL_KS,
    SLICE_ALL,
    SLICE_COLD_SONGS,
    SLICE_COLD_START,
    SLICE_SIMULATED_COLD_START,
    STRATEGIES,
)
from playlist_assets.lib.recommend.recommender import Recommender

TABLE_COLUMNS: tuple[str, ...] = (
    "slice",
    "strategy",
    "playlists",
    *METRICS,
    *(m for m in COLD_SONG_METRICS if m not in METRICS),
)


def evaluate(
    recommender: Recommender,
    cases: Sequence[Case],
    strategies: Sequence[str] = EVAL_STRATEGIES,
    *,
    k: int = 500,
    use_artists: bool = True,
    hide_cooccurrence: bool = False,
) -> pd.DataFrame:
    """One row per (case, strategy): RecSys 2018 metrics, the old cosine score, cold-start flag.

    ``hide_cooccurrence`` simulates cold start: the seeds are withheld from the co-occurrence data.
    """
    every = [
        recommender.seeds(
            case.seeds,
            case.seed_artists if use_artists else None,
            use_items=not hide_cooccurrence,
        )
        for case in cases
    ]
    choices = recommender.cluster_choices(every) if "cluster" in strategies else [None] * len(cases)
    rows = []
    for case, seeds, choice in zip(cases, every, choices, strict=True):
        for strategy in strategies:
            score, _ = recommender.score(strategy, seeds, cluster_choice=choice)
            chosen = recommender.select(score, seeds, k)
            ids = recommender.ids[chosen].tolist()
            row = {"pid": case.pid, "strategy": strategy, "cold_start": not len(seeds.items)}
            row.update(score_list(ids, case.targets))
            row["cosine"] = recommender.old_similarity(case.seeds, chosen)
            rows.append(row)
    return pd.DataFrame(rows)


def summarize(per_case: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Mean metric per strategy (in STRATEGIES order) and the number of playlists scored."""
    metrics = list(metrics)
    if per_case.empty:
        return pd.DataFrame(columns=["strategy", "playlists", *metrics])
    table = per_case.groupby("strategy", sort=False)[metrics].mean()
    table.insert(0, "playlists", per_case.groupby("strategy", sort=False).size())
    order = [s for s in STRATEGIES if s in table.index]
    return table.loc[order].reset_index()


@dataclass
class ColdSongSlice:
    """The recommender learned without the stripped songs' rows, and the cases that seek them."""

    recommender: Recommender
    cases: list[Case]  # targets: stripped songs only
    stripped: frozenset[str]


def cold_song_slice(
    playlists: pd.DataFrame,
    training_pids: Sequence[int],
    holdout_pids: Sequence[int],
    recommender: Recommender,
    weights: dict[str, Any],
    *,
    fraction: float = 0.2,
    min_catalogue_tracks: int = 5,
) -> ColdSongSlice:
    """Strip a share of the catalogue songs from the TRAINING playlists, learn co-occurrence on
    what is left (``recommender``'s songs and models, blend ``weights``), and keep the held-out
    cases whose second half holds stripped songs (targets: those songs). The held-out playlists
    themselves are left whole (their rows are the input)."""
    catalogue = recommender.ids
    training = playlists[playlists["pid"].isin(set(training_pids))]
    kept, stripped = strip_songs(training, catalogue, fraction)
    cooc = learn_cooccurrence(kept, training_pids, catalogue)
    stripped_recommender = recommender.with_cooccurrence(cooc, **weights)
    cases = []
    for case in continuation_cases(
        playlists, holdout_pids, catalogue, min_catalogue_tracks=min_catalogue_tracks
    ):
        targets = [t for t in case.targets if t in stripped]
        if targets:
            cases.append(Case(case.pid, case.seeds, targets, case.seed_artists))
    return ColdSongSlice(stripped_recommender, cases, stripped)


def evaluate_cold_songs(
    cold: ColdSongSlice, strategies: Sequence[str] = COLD_SONG_STRATEGIES, *, k: int = 500
) -> pd.DataFrame:
    """One row per (case, strategy): recall@100/@500, R-precision and NDCG of the stripped songs."""
    rows = []
    recommender = cold.recommender
    for case in cold.cases:
        for strategy in strategies:
            chosen, _, _, _ = recommender.rank(
                case.seeds, k, strategy, artists=case.seed_artists, allow_unknown=True
            )
            ids = recommender.ids[chosen].tolist()
            row: dict[str, Any] = {"pid": case.pid, "strategy": strategy}
            row.update({f"recall_at_{n}": recall_at(ids, case.targets, n) for n in RECALL_KS})
            row["r_precision"] = r_precision(ids, case.targets)
            row["ndcg"] = ndcg(ids, case.targets)
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
    blend_weights: dict[str, dict[str, float]] = field(default_factory=dict)

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

    def headline(self) -> dict[str, float | int | bool]:
        """Counts and the hybrid's headline figures, for the asset's metadata."""
        out: dict[str, float | int | bool] = {
            "playlists_scored": self.cases,
            "cold_start_playlists": self.cold_start_playlists,
            "cold_song_playlists": self.cold_song_cases,
            "stripped_songs": self.stripped_songs,
        }
        for slice_, metric in (
            (SLICE_ALL, "r_precision"),
            (SLICE_ALL, "ndcg"),
            (SLICE_COLD_SONGS, "recall_at_100"),
            (SLICE_COLD_SONGS, "recall_at_500"),
        ):
            value = self.value(slice_, "hybrid", metric)
            if value is not None:
                out[f"hybrid_{metric}"] = value
        if (self.table["strategy"] == "hybrid").any():
            out.update(
                {f"hybrid_ahead_on_{m}": self.hybrid_ahead(m) for m in ("r_precision", "ndcg")}
            )
        return out

    def mlflow_metrics(self) -> dict[str, float]:
        """``<slice>.<strategy>.<metric>`` of every cell, the counts and the blend weights."""
        metrics = {
            f"{row['slice']}.{row['strategy']}.{m}": float(row[m])
            for row in self.table.to_dict("records")
            for m in TABLE_COLUMNS[3:]
            if pd.notna(row[m])
        }
        metrics.update(cases=self.cases, cold_song_cases=self.cold_song_cases)
        for group, weights in self.blend_weights.items():
            metrics.update({f"blend_{group}.{k}": v for k, v in weights.items()})
        return metrics


def evaluate_holdout(
    playlists: pd.DataFrame,
    song_index: pd.DataFrame,
    cooccurrence: Any,
    classifier: Any,
    cluster_models: dict[str, Any],
    strategies: Sequence[str] = EVAL_STRATEGIES,
    *,
    k: int = 500,
    max_songs: int = DEFAULT_MAX_EVAL_SONGS,
) -> EvalResult:
    """Every slice of the evaluation on the held-out playlists ``cooccurrence`` recorded, ranking
    among at most ``max_songs`` songs of the base (``evaluation_pool``).

    Raises ValueError when a held-out playlist was learned from or a strategy is unknown.
    """
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; choose from {list(STRATEGIES)}")
    split = cooccurrence.split
    holdout = np.asarray(split.get("holdout_pids", []), dtype=np.int64)
    training = np.asarray(split.get("training_pids", []), dtype=np.int64)
    leaked = set(holdout.tolist()) & set(training.tolist())
    if leaked:
        raise ValueError(f"{len(leaked)} held-out playlists were learned from")
    song_index = evaluation_pool(song_index, playlists, max_songs)
    recommender = Recommender(song_index, cooccurrence, classifier, cluster_models)
    min_tracks = int(split.get("min_catalogue_tracks", 5))
    cases = continuation_cases(playlists, holdout, recommender.ids, min_catalogue_tracks=min_tracks)
    per_case = evaluate(recommender, cases, strategies, k=k)
    cold_start = per_case[per_case["cold_start"]] if len(per_case) else per_case
    simulated = evaluate(
        recommender,
        cases,
        [s for s in strategies if s in ("hybrid", "cluster")],
        k=k,
        hide_cooccurrence=True,
    )
    weights = recommender.blend_weights
    cold = cold_song_slice(
        playlists,
        training,
        holdout,
        recommender,
        blend_kwargs(weights),
        fraction=float(split.get("strip_fraction", 0.2)),
        min_catalogue_tracks=min_tracks,
    )
    cold_songs = evaluate_cold_songs(cold, k=k)
    parts = [
        summarize(per_case).assign(slice=SLICE_ALL),
        summarize(cold_start).assign(slice=SLICE_COLD_START),
        summarize(simulated).assign(slice=SLICE_SIMULATED_COLD_START),
        summarize(cold_songs, COLD_SONG_METRICS).assign(slice=SLICE_COLD_SONGS),
    ]
    parts = [p for p in parts if not p.empty]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    table = table.reindex(columns=list(TABLE_COLUMNS))
    table[list(TABLE_COLUMNS[3:])] = table[list(TABLE_COLUMNS[3:])].astype(float)
    table["playlists"] = table["playlists"].fillna(0).astype("int64")
    table[["slice", "strategy"]] = table[["slice", "strategy"]].astype(str)
    return EvalResult(
        table=table,
        cases=len(cases),
        cold_start_playlists=int(cold_start["pid"].nunique()) if len(cold_start) else 0,
        cold_song_cases=len(cold.cases),
        stripped_songs=len(cold.stripped),
        blend_weights=weights,
    )
