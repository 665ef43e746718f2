"""What ``track_cooccurrence`` computes: co-occurrence over the training playlists and the
hybrid's blends chosen on the validation part (warm, cold start, cold songs on a cold slice)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from playlist_assets.lib.classifier.split import evaluation_pool
from playlist_assets.lib.recommend.blend import (
    BlendChoice,
    choose_blend_weights,
    choose_cold_song_blend,
)
from playlist_assets.lib.recommend.cooccurrence import (
    HOLDOUT,
    TRAIN,
    VALIDATION,
    Case,
    TrackCooccurrence,
    continuation_cases,
    learn_cooccurrence,
    strip_songs,
)
from playlist_assets.lib.recommend.features import (
    DEFAULT_COLD_SONG_HEAD,
    DEFAULT_COLD_SONG_OFFSET,
    DEFAULT_COLD_SONG_WEIGHTS,
    DEFAULT_COLD_WEIGHTS,
    DEFAULT_WEIGHTS,
)
from playlist_assets.lib.recommend.names import DEFAULT_MAX_EVAL_SONGS
from playlist_assets.lib.recommend.recommender import Recommender


@dataclass
class TunedCooccurrence:
    """What ``track_cooccurrence`` stores and reports."""

    cooccurrence: TrackCooccurrence
    training_playlists: int
    validation_playlists: int
    holdout_playlists: int
    validation_cases: int
    note: str
    choices: dict[str, Any]  # "warm"/"cold" BlendChoice, "cold_song" ColdSongChoice

    @property
    def blends(self) -> dict[str, dict[str, float]]:
        """Every blend's weights (``cold_song`` with its offset), as the recommender uses them."""
        tuning = self.cooccurrence.tuning
        return {
            "warm": dict(self.cooccurrence.weights or DEFAULT_WEIGHTS),
            "cold": dict(self.cooccurrence.cold_weights or DEFAULT_COLD_WEIGHTS),
            "cold_song": {
                **tuning.get("cold_song_weights", DEFAULT_COLD_SONG_WEIGHTS),
                "offset": tuning.get("cold_song_offset", DEFAULT_COLD_SONG_OFFSET),
                "head": float(tuning.get("cold_song_head", DEFAULT_COLD_SONG_HEAD)),
            },
        }

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
        }

    def mlflow_metrics(self) -> dict[str, float]:
        """Counts, validation NDCG and every blend weight, named as MLflow shows them."""
        prefixes = {"warm": "weight_", "cold": "cold_weight_", "cold_song": "cold_song_weight_"}
        return {
            **self.counts(),
            **{
                f"validation_ndcg.{g}.{n}": v
                for g, scores in self.validation_ndcg.items()
                for n, v in scores.items()
            },
            **{
                f"{prefixes[g]}{k}": v
                for g, weights in self.blends.items()
                for k, v in weights.items()
            },
        }


def tune_cooccurrence(
    playlists: pd.DataFrame,
    split: pd.Series,
    song_index: pd.DataFrame,
    classifier: Any,
    cluster_models: dict[str, Any],
    *,
    tune: bool = True,
    min_catalogue_tracks: int = 5,
    strip_fraction: float = 0.2,
    split_config: dict[str, Any] | None = None,
    max_songs: int = DEFAULT_MAX_EVAL_SONGS,
) -> TunedCooccurrence:
    """Co-occurrence over the training playlists (every song of the base) and the blends chosen
    on the validation part, ranking among at most ``max_songs`` songs (``evaluation_pool``)."""
    catalogue = song_index["track_id"].astype(str).to_numpy()
    training = split.index[split != HOLDOUT]
    if training.empty:
        raise ValueError("no training playlists (all held out)")
    cooc = learn_cooccurrence(playlists, training, catalogue)
    cooc.weights, cooc.cold_weights = dict(DEFAULT_WEIGHTS), dict(DEFAULT_COLD_WEIGHTS)
    choices: dict[str, Any] = {}
    cases: list[Case] = []
    fit_part = split.index[split == TRAIN]
    if tune:
        cases = continuation_cases(
            playlists,
            split.index[split == VALIDATION],
            catalogue,
            min_catalogue_tracks=min_catalogue_tracks,
        )
    if cases and len(fit_part):
        song_index = evaluation_pool(song_index, playlists, max_songs)
        fold = Recommender(  # warm and cold-start weights chosen as before: cold songs last
            song_index,
            learn_cooccurrence(playlists, fit_part, catalogue),
            classifier,
            cluster_models,
            cold_song_offset=-1e3,
        )
        choices["warm"] = choose_blend_weights([(fold, cases)])
        choices["cold"] = choose_blend_weights([(fold, cases)], cold=True)
        # The pool holds every song of the playlists: the same rows are stripped as over the
        # whole base, without hashing every song of it.
        pool_ids = song_index["track_id"].astype(str).to_numpy()
        stripped, _ = strip_songs(playlists, pool_ids, strip_fraction)
        if stripped["pid"].isin(set(fit_part)).any():
            cold_fold = fold.with_cooccurrence(learn_cooccurrence(stripped, fit_part, catalogue))
            choices["cold_song"] = choose_cold_song_blend(cold_fold, cases, choices["warm"].weights)
        cooc.weights, cooc.cold_weights = choices["warm"].weights, choices["cold"].weights
    if "cold_song" in choices:
        cooc.weights = choices["cold_song"].warm_weights
        cooc.tuning["cold_song_weights"] = choices["cold_song"].weights
        cooc.tuning["cold_song_offset"] = choices["cold_song"].offset
        cooc.tuning["cold_song_head"] = choices["cold_song"].head
    if choices:
        note = f"chosen on {len(cases)} validation playlists: " + ", ".join(
            f"{c.source} ({g})" for g, c in choices.items()
        )
    elif tune:
        note = f"defaults: {len(cases)} validation playlists, too few to choose on"
    else:
        note = "defaults: tuning off"
    cooc.tuning.update(
        note=note,
        validation_cases=len(cases),
        **{f"{g}_source": c.source for g, c in choices.items()},
    )
    cooc.split = {
        **(split_config or {}),
        "min_catalogue_tracks": min_catalogue_tracks,
        "strip_fraction": strip_fraction,
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
