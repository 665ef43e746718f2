"""What ``track_cooccurrence`` computes: co-occurrence over the training playlists and the
hybrid's blends chosen on the validation part, ranking the songs users are served (the whole
base, fresh songs included) through the same candidates and features as a request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from playlist_assets.lib.feedback.training import feedback_pairs
from playlist_assets.lib.recommend.blend import (
    BlendChoice,
    choose_blend_weights,
    prepare,
)
from playlist_assets.lib.recommend.cooccurrence import (
    HOLDOUT,
    TRAIN,
    VALIDATION,
    Case,
    TrackCooccurrence,
    case_tracks,
    continuation_cases,
    learn_cooccurrence,
    split_playlists,
    strip_songs,
)
from playlist_assets.lib.recommend.merge_choice import MergeChoice, choose_merge
from playlist_assets.lib.recommend.playlist_store import PlaylistStore, holds_any, playlist_pids
from playlist_assets.lib.recommend.recommender import Recommender
from playlist_assets.lib.recommend.settings import Blends, SplitSpec


@dataclass
class TunedCooccurrence:
    """What ``track_cooccurrence`` stores and reports."""

    cooccurrence: TrackCooccurrence
    training_playlists: int
    validation_playlists: int
    holdout_playlists: int
    validation_cases: int
    note: str
    choices: dict[str, Any]  # "warm"/"cold" BlendChoice, "merge" MergeChoice

    @property
    def blends(self) -> Blends:
        return self.cooccurrence.blends

    @property
    def validation_ndcg(self) -> dict[str, dict[str, float]]:
        """Validation NDCG of every candidate of the warm and cold-start choices."""
        return {
            g: {n: round(v, 4) for n, v in c.validation_ndcg.items()}
            for g, c in self.choices.items()
            if isinstance(c, BlendChoice)
        }

    def counts(self) -> dict[str, int]:
        cooc = self.cooccurrence
        return {
            "training_playlists": self.training_playlists,
            "validation_playlists": self.validation_playlists,
            "holdout_playlists": self.holdout_playlists,
            "validation_cases": self.validation_cases,
            "tracks": len(cooc.items),
            "catalogue_songs_in_playlists": int((cooc.catalogue_playlists > 0).sum()),
            "track_song_pairs": int(cooc.counts.nnz),
            "feedback_pairs": 0 if cooc.feedback_counts is None else int(cooc.feedback_counts.nnz),
        }

    def mlflow_metrics(self) -> dict[str, float]:
        """Counts, validation NDCG, the merge's validation figures and every blend weight."""
        merge = self.choices.get("merge")
        return {
            **self.counts(),
            **{
                f"validation_ndcg.{g}.{n}": v
                for g, scores in self.validation_ndcg.items()
                for n, v in scores.items()
            },
            **(merge.mlflow_metrics() if isinstance(merge, MergeChoice) else {}),
            **{
                f"blend_{g}.{k}": v
                for g, weights in self.blends.as_dict().items()
                for k, v in weights.items()
            },
        }


def tune_cooccurrence(
    playlists: pd.DataFrame | PlaylistStore,
    split: pd.Series,
    songs: pd.DataFrame | Recommender,
    classifier: Any,
    cluster_models: dict[str, Any],
    *,
    spec: SplitSpec,
    tune: bool = True,
    k: int = 500,
    feedback: pd.DataFrame | None = None,
) -> TunedCooccurrence:
    """Co-occurrence over the training playlists (every song of the base) and the blends chosen
    on the validation part. ``songs``: the serving songs (or a recommender holding them)."""
    base = (
        songs
        if isinstance(songs, Recommender)
        else Recommender(songs, None, classifier, cluster_models)
    )
    catalogue = base.ids
    training = split.index[split != HOLDOUT]
    if training.empty:
        raise ValueError("no training playlists (all held out)")
    cooc = learn_with_feedback(playlists, training, catalogue, feedback)
    fit_part = split.index[split == TRAIN]
    cases: list[Case] = []
    if tune:
        cases = continuation_cases(
            playlists,
            split.index[split == VALIDATION],
            catalogue,
            min_catalogue_tracks=spec.min_catalogue_tracks,
        )
    choices: dict[str, Any] = {}
    blends = Blends(source={"all": "default"})
    if cases and len(fit_part):
        choices, blends = _choose(base, playlists, fit_part, cases, spec, k, feedback)
    note = _note(choices, cases, tune)
    cooc.blends, cooc.spec = blends, spec
    cooc.tuning = {"note": note, "validation_cases": len(cases), **dict(blends.source)}
    cooc.split = {
        "holdout_pids": np.asarray(split.index[split == HOLDOUT], dtype=np.int64),
        "training_pids": np.asarray(training, dtype=np.int64),
    }
    counts = split.value_counts()
    return TunedCooccurrence(
        cooccurrence=cooc,
        training_playlists=len(training),
        validation_playlists=int(counts.get(VALIDATION, 0)),
        holdout_playlists=int(counts.get(HOLDOUT, 0)),
        validation_cases=len(cases),
        note=note,
        choices=choices,
    )


def learn_served(
    playlists: pd.DataFrame | PlaylistStore,
    songs: pd.DataFrame,
    reactions: pd.DataFrame,
    classifier: Any,
    cluster_models: dict[str, Any],
    spec: SplitSpec,
    *,
    tune: bool = True,
) -> tuple[TunedCooccurrence, int]:
    """What ``track_cooccurrence`` learns: the keyed split of the playlists, then
    ``tune_cooccurrence`` with the listeners' reactions as (seed, song) evidence
    (lib/feedback/training.py); and how many listeners' contexts that evidence comes from."""
    split = split_playlists(
        playlist_pids(playlists), spec.holdout_fraction, spec.validation_fraction, spec.salt
    )
    pairs, contexts = feedback_pairs(reactions, int((split == TRAIN).sum()))
    tuned = tune_cooccurrence(
        playlists,
        split,
        songs,
        classifier,
        cluster_models,
        spec=spec,
        tune=tune,
        feedback=pairs if contexts else None,
    )
    return tuned, contexts


def learn_with_feedback(
    playlists: pd.DataFrame | PlaylistStore,
    pids: pd.Index,
    catalogue: np.ndarray,
    feedback: pd.DataFrame | None,
    items: set[str] | None = None,
) -> TrackCooccurrence:
    """``learn_cooccurrence`` plus the listeners' evidence, when there is any: tuning folds get
    it too, so the blends are chosen on the scores users are served."""
    cooc = learn_cooccurrence(playlists, pids, catalogue, items=items)
    return cooc if feedback is None else cooc.with_feedback(feedback)


def _choose(
    base: Recommender,
    playlists: pd.DataFrame | PlaylistStore,
    fit_part: pd.Index,
    cases: list[Case],
    spec: SplitSpec,
    k: int,
    feedback: pd.DataFrame | None = None,
) -> tuple[dict[str, Any], Blends]:
    """The warm and cold-start blends on co-occurrence learned without the validation playlists,
    then the cold-song blend and the merge on a cold fold (``spec.strip_fraction`` of the
    catalogue songs stripped from those training rows)."""
    catalogue, seeds = base.ids, case_tracks(cases)  # a fold is read at its cases' seeds only
    fold = base.with_cooccurrence(
        learn_with_feedback(playlists, fit_part, catalogue, feedback, seeds), Blends()
    )
    warm = choose_blend_weights(fold, prepare(fold, cases, k=k), "warm")
    cold = choose_blend_weights(fold, prepare(fold, cases, k=k, cold=True), "cold")
    choices: dict[str, Any] = {"warm": warm, "cold": cold}
    blends = Blends(
        warm=warm.weights, cold=cold.weights, source={"warm": warm.source, "cold": cold.source}
    )
    stripped, _ = strip_songs(playlists, catalogue, spec.strip_fraction)
    if spec.strip_fraction > 0 and holds_any(stripped, fit_part):
        cold_fold = fold.with_cooccurrence(
            learn_with_feedback(stripped, fit_part, catalogue, feedback, seeds), blends
        )
        merge = choose_merge(cold_fold, prepare(cold_fold, cases, k=k), blends, k=k)
        choices["merge"] = merge
        blends = merge.blends
    return choices, blends


def _note(choices: dict[str, Any], cases: list[Case], tune: bool) -> str:
    if choices:
        return f"chosen on {len(cases)} validation playlists: " + ", ".join(
            f"{c.source} ({g})" for g, c in choices.items()
        )
    if tune:
        return f"defaults: {len(cases)} validation playlists, too few to choose on"
    return "defaults: tuning off"
