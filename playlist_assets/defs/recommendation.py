"""Recommendation: what the hybrid learns from the playlists, and how well it continues them.

- ``track_cooccurrence``: co-occurrence of every track with the catalogue's songs over the
  TRAINING playlists (a stable hash split by pid; the held-out part is recorded in it), plus the
  hybrid's blends chosen on a validation part of the training playlists (``lib.recommend.blend``).
- ``recommendation_eval``: on the held-out playlists, the first half given, 500 songs
  recommended from the catalogue, scored with the RecSys Challenge 2018 metrics and the old
  system's cosine score, for every strategy side by side, for cold-start playlists, and for
  cold songs stripped from the training playlists (``lib.recommend.evaluation``).
"""

from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from playlist_assets.defs.resources import MlflowTracker, mlflow_run_tags
from playlist_assets.defs.training import SERVING_MODEL_INS
from playlist_assets.lib.classifier.models import ClassifierBundle, ClusterModel
from playlist_assets.lib.recommend.cooccurrence import (
    SPLIT_SALT,
    TrackCooccurrence,
    split_playlists,
)
from playlist_assets.lib.recommend.names import DEFAULT_MAX_EVAL_SONGS, EVAL_STRATEGIES

GROUP = "recommendation"
OWNERS = ["team:ml-engineering"]


def _max_eval_songs() -> Any:
    return Field(
        default=DEFAULT_MAX_EVAL_SONGS,
        description="Songs ranked when tuning and evaluating: every playlist song plus a stable "
        "sample of the rest, so a growing base does not slow every retrain (0 = the whole base; "
        "serving always ranks the whole base).",
    )


class CooccurrenceConfig(dg.Config):
    holdout_fraction: float = Field(
        default=0.2,
        description="Share of playlists held out for recommendation_eval (never learned from).",
    )
    validation_fraction: float = Field(
        default=0.2,
        description="Share of playlists (inside training) the blend weights are chosen on.",
    )
    salt: str = Field(default=SPLIT_SALT, description="Key of the playlist split's hash.")
    min_catalogue_tracks: int = Field(
        default=5,
        description="Playlists with fewer distinct catalogue songs are not used as validation cases.",
    )
    tune_weights: bool = Field(
        default=True,
        description="Choose the blend weights on the validation playlists (else the defaults).",
    )
    strip_fraction: float = Field(
        default=0.2,
        description=(
            "Share of the catalogue songs stripped from the training rows for the cold slice "
            "(the cold-song blend is chosen on it, recommendation_eval scores it)."
        ),
    )
    max_eval_songs: int = _max_eval_songs()


def _cluster_models(models: dict[str, ClusterModel]) -> dict[str, ClusterModel]:
    return {m.genre: m for m in models.values()}


def _rounded(weights: dict[str, float]) -> dg.MetadataValue:
    return dg.MetadataValue.json({k: round(v, 4) for k, v in weights.items()})


@dg.asset(
    group_name=GROUP,
    kinds={"scipy", "mlflow"},
    owners=OWNERS,
    pool="duckdb",
    io_manager_key="model_io_manager",
    ins={"playlists": dg.AssetIn(), "song_index": dg.AssetIn(), **SERVING_MODEL_INS},
)
def track_cooccurrence(
    context: dg.AssetExecutionContext,
    config: CooccurrenceConfig,
    mlflow: MlflowTracker,
    playlists: pd.DataFrame,
    song_index: pd.DataFrame,
    genre_classifier: ClassifierBundle,
    **cluster_models: ClusterModel,
) -> dg.Output[TrackCooccurrence]:
    """Which songs people put together: sparse co-occurrence of every track of the TRAINING
    playlists with the catalogue's songs, and the hybrid's blends chosen on validation playlists
    (co-occurrence then learned without them; the cold-song blend also without a share of the
    catalogue songs). Held-out playlists are recorded here so the evaluation never scores a
    playlist this was learned from."""
    from playlist_assets.lib.recommend.tune import tune_cooccurrence

    try:
        split = split_playlists(
            playlists["pid"].unique(),
            config.holdout_fraction,
            config.validation_fraction,
            config.salt,
        )
        tuned = tune_cooccurrence(
            playlists,
            split,
            song_index,
            genre_classifier,
            _cluster_models(cluster_models),
            tune=config.tune_weights,
            min_catalogue_tracks=config.min_catalogue_tracks,
            strip_fraction=config.strip_fraction,
            split_config=config.model_dump(
                include={"salt", "holdout_fraction", "validation_fraction"}
            ),
            max_songs=config.max_eval_songs,
        )
    except ValueError as exc:
        raise dg.Failure(description=f"track_cooccurrence: {exc}") from exc
    params = {**config.model_dump(), "weights_source": tuned.note}
    run_id = mlflow.log_run(
        "track_cooccurrence",
        tags=mlflow_run_tags(context, "track_cooccurrence"),
        params=params,
        metrics=tuned.mlflow_metrics(),
    ).run_id
    return dg.Output(tuned.cooccurrence, metadata=_cooccurrence_metadata(tuned, song_index, run_id))


def _cooccurrence_metadata(tuned: Any, song_index: pd.DataFrame, run_id: str) -> dict[str, Any]:
    blends = tuned.blends
    return {
        **tuned.counts(),
        "catalogue_songs": len(song_index),
        "weights_source": tuned.note,
        "validation_ndcg": dg.MetadataValue.json(tuned.validation_ndcg),
        "blend_weights": _rounded(blends["warm"]),
        "cold_start_weights": _rounded(blends["cold"]),
        "cold_song_weights": _rounded(blends["cold_song"]),
        "top_pairs": dg.MetadataValue.md(
            tuned.cooccurrence.pairs(limit=10).to_markdown(index=False)
        ),
        "mlflow_run_id": run_id,
    }


class EvalConfig(dg.Config):
    k: int = Field(default=500, description="Songs recommended per playlist (RecSys 2018: 500).")
    strategies: list[str] = Field(
        default=list(EVAL_STRATEGIES), description="Strategies scored side by side."
    )
    max_eval_songs: int = _max_eval_songs()


def _markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "_no playlist to score_"
    shown = table.copy()
    for column in shown.columns[3:]:
        shown[column] = shown[column].map(lambda v: "n/a" if pd.isna(v) else f"{v:.4f}")
    return shown.to_markdown(index=False)


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "pandas", "mlflow"},
    owners=OWNERS,
    pool="duckdb",
    ins={
        "playlists": dg.AssetIn(),
        "song_index": dg.AssetIn(),
        "track_cooccurrence": dg.AssetIn(),
        **SERVING_MODEL_INS,
    },
)
def recommendation_eval(
    context: dg.AssetExecutionContext,
    config: EvalConfig,
    mlflow: MlflowTracker,
    playlists: pd.DataFrame,
    song_index: pd.DataFrame,
    track_cooccurrence: TrackCooccurrence,
    genre_classifier: ClassifierBundle,
    **cluster_models: ClusterModel,
) -> dg.Output[pd.DataFrame]:
    """Held-out playlists, first half given: how well each strategy finds the catalogue songs of
    the second half (R-precision, NDCG, clicks, hit@10, hit@100 over 500 songs; the old system's
    cosine score on the first 20), for all playlists and for cold-start ones; and the cold slice:
    recall@100/@500, R-precision and NDCG of songs stripped from the training playlists."""
    from playlist_assets.lib.recommend.evaluation import evaluate_holdout

    try:
        result = evaluate_holdout(
            playlists,
            song_index,
            track_cooccurrence,
            genre_classifier,
            _cluster_models(cluster_models),
            config.strategies,
            k=config.k,
            max_songs=config.max_eval_songs,
        )
    except ValueError as exc:
        raise dg.Failure(description=f"recommendation_eval: {exc}") from exc
    report = {"recommendation_eval.md": _markdown(result.table)}
    params = _eval_params(config, track_cooccurrence)
    run_id = mlflow.log_run(
        "recommendation_eval",
        tags=mlflow_run_tags(context, "recommendation_eval"),
        params=params,
        metrics=result.mlflow_metrics(),
        artifacts=report,
    ).run_id
    return dg.Output(result.table, metadata=_eval_metadata(result, config.k, run_id))


def _eval_params(config: EvalConfig, cooccurrence: TrackCooccurrence) -> dict[str, Any]:
    return {
        "k": config.k,
        "max_eval_songs": config.max_eval_songs,
        "strategies": ",".join(config.strategies),
        "holdout_playlists": len(cooccurrence.split.get("holdout_pids", [])),
        "weights_source": cooccurrence.tuning.get("note", ""),
    }


def _eval_metadata(result: Any, k: int, run_id: str) -> dict[str, Any]:
    return {
        "dagster/row_count": len(result.table),
        **result.headline(),
        "k": k,
        "table": dg.MetadataValue.md(_markdown(result.table)),
        "blend_weights": dg.MetadataValue.json(result.blend_weights),
        "mlflow_run_id": run_id,
    }


defs = dg.Definitions(assets=[track_cooccurrence, recommendation_eval])
