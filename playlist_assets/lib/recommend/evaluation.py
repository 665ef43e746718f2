"""How well the recommender continues held-out playlists: the warm slice, cold start, cold songs.

The recommender scored is the one users are served: the whole base (``song_index`` + fresh
songs), the co-occurrence and blends of ``track_cooccurrence``, requests ranked by
``Recommender.score`` + ``select`` exactly as ``rank`` does.

- warm (``all``): the held-out playlists' first half given, their second half's catalogue songs
  to find (every strategy side by side);
- ``cold_start``: those of them none of whose tracks is in the playlists data;
- ``simulated_cold_start``: every playlist with its seeds hidden from the co-occurrence data;
- ``cold_songs``: a share of the catalogue songs stripped from the training playlists' rows
  (co-occurrence learned again without them); targets are the stripped songs of each held-out
  playlist's second half: how well a strategy brings back songs no playlist holds yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from playlist_assets.lib.recommend.cooccurrence import (
    Case,
    case_tracks,
    continuation_cases,
    learn_cooccurrence,
    strip_songs,
)
from playlist_assets.lib.recommend.metrics import ndcg, r_precision, recall_at, score_list
from playlist_assets.lib.recommend.names import (
    COLD_SONG_METRICS,
    COLD_SONG_STRATEGIES,
    EVAL_STRATEGIES,
    METRICS,
    RECALL_KS,
    SLICE_ALL,
    SLICE_COLD_SONGS,
    SLICE_COLD_START,
    SLICE_SIMULATED_COLD_START,
    STRATEGIES,
)
from playlist_assets.lib.recommend.playlist_store import PlaylistStore, select_playlists
from playlist_assets.lib.recommend.recommender import Recommender
from playlist_assets.lib.recommend.report import TABLE_COLUMNS, EvalResult
from playlist_assets.lib.recommend.settings import SplitSpec


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
    recommender.table.posteriors_of([case.seeds for case in cases])
    every = [
        recommender.seeds(
            case.seeds,
            case.seed_artists if use_artists else None,
            use_items=not hide_cooccurrence,
        )
        for case in cases
    ]
    choices = (
        recommender.baseline.choices(every) if "cluster" in strategies else [None] * len(cases)
    )
    rows = []
    for case, seeds, choice in zip(cases, every, choices, strict=True):
        for strategy in strategies:
            scored = recommender.score(strategy, seeds, k, cluster_choice=choice)
            chosen = recommender.select(scored, seeds, k)
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
    playlists: pd.DataFrame | PlaylistStore,
    training_pids: Sequence[int],
    holdout_pids: Sequence[int],
    recommender: Recommender,
    spec: SplitSpec,
) -> ColdSongSlice:
    """Strip a share of the catalogue songs from the TRAINING playlists, learn co-occurrence on
    what is left (``recommender``'s songs, models and blends), and keep the held-out cases whose
    second half holds stripped songs (targets: those songs). The held-out playlists themselves
    are left whole (their rows are the input)."""
    catalogue = recommender.ids
    training = select_playlists(playlists, training_pids)
    kept, stripped = strip_songs(training, catalogue, spec.strip_fraction)
    cases = []
    for case in continuation_cases(
        playlists, holdout_pids, catalogue, min_catalogue_tracks=spec.min_catalogue_tracks
    ):
        targets = [t for t in case.targets if t in stripped]
        if targets:
            cases.append(Case(case.pid, case.seeds, targets, case.seed_artists))
    # co-occurrence rows of the cases' seeds only: the requests read no other row
    cooc = learn_cooccurrence(kept, training_pids, catalogue, items=case_tracks(cases))
    stripped_recommender = recommender.with_cooccurrence(cooc, recommender.blends)
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


def held_out(cooccurrence: Any, learned: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """(held-out pids, training pids) ``cooccurrence`` recorded; an error if a held-out playlist
    was learned from, by it or by ``learned`` (another recommender's co-occurrence scored on the
    same playlists, e.g. the champion's)."""
    holdout = np.asarray(cooccurrence.split.get("holdout_pids", []), dtype=np.int64)
    training = np.asarray(cooccurrence.split.get("training_pids", []), dtype=np.int64)
    seen = set(training.tolist())
    if learned is not None:
        seen |= set(np.asarray(learned.split.get("training_pids", []), dtype=np.int64).tolist())
    leaked = set(holdout.tolist()) & seen
    if leaked:
        raise ValueError(f"{len(leaked)} held-out playlists were learned from")
    return holdout, training


def evaluate_holdout(
    playlists: pd.DataFrame | PlaylistStore,
    recommender: Recommender,
    spec: SplitSpec,
    strategies: Sequence[str] = EVAL_STRATEGIES,
    *,
    k: int = 500,
    split_of: Any = None,
) -> EvalResult:
    """Every slice of the evaluation on the held-out playlists that ``split_of`` (default: the
    recommender's own co-occurrence) recorded, ranked by ``recommender`` as it is served.

    Raises ValueError when a held-out playlist was learned from or a strategy is unknown.
    """
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; choose from {list(STRATEGIES)}")
    own = recommender.cooccurrence
    holdout, training = held_out(split_of or own, own if split_of is not None else None)
    cases = continuation_cases(
        playlists, holdout, recommender.ids, min_catalogue_tracks=spec.min_catalogue_tracks
    )
    per_case = evaluate(recommender, cases, strategies, k=k)
    cold_start = per_case[per_case["cold_start"]] if len(per_case) else per_case
    simulated = evaluate(
        recommender,
        cases,
        [s for s in strategies if s in ("hybrid", "cluster")],
        k=k,
        hide_cooccurrence=True,
    )
    cold = cold_song_slice(playlists, training, holdout, recommender, spec)
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
        blends=recommender.blends.as_dict(),
        per_case=per_case,
        cold_per_case=cold_songs,
    )
