"""Recommendation: what the hybrid learns from the playlists, how well it continues them, and
which recommender serves.

- ``track_cooccurrence``: co-occurrence of every track with the catalogue's songs over the
  TRAINING playlists (a stable hash split by pid; the held-out part is recorded in it), plus the
  hybrid's blends chosen on a validation part, ranking the songs users are served.
- ``recommendation_eval``: on the held-out playlists, the first half given, 500 songs from the
  recommender users would get (the whole base, fresh songs included), scored with the RecSys
  Challenge 2018 metrics for every strategy side by side, for cold-start playlists, and for cold
  songs stripped from the training playlists; then the candidate is promoted to serve only if
  neither its warm nor its cold figures are worse than the champion's beyond noise.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from playlist_assets import settings
from playlist_assets.defs.recommender_settings import RecommenderSettings
from playlist_assets.defs.resources import MlflowTracker, mlflow_run_tags
from playlist_assets.defs.training import SERVING_MODEL_INS
from playlist_assets.lib.classifier.models import ClassifierBundle, ClusterModel
from playlist_assets.lib.constants import DUCKDB_POOL
from playlist_assets.lib.recommend.names import EVAL_STRATEGIES

GROUP = "recommendation"
OWNERS = ["team:ml-engineering"]
PROMOTION_CHECK = "recommender_not_worse"


class CooccurrenceConfig(dg.Config):
    tune_weights: bool = Field(
        default=True,
        description="Choose the blends on the validation playlists (else the defaults).",
    )


def _cluster_models(models: dict[str, ClusterModel]) -> dict[str, ClusterModel]:
    return {m.genre: m for m in models.values()}


@dg.asset(
    group_name=GROUP,
    kinds={"scipy", "mlflow"},
    owners=OWNERS,
    pool=DUCKDB_POOL,
    io_manager_key="model_io_manager",
    deps=["song_index", "recommendation_feedback"],
    ins={"playlists": dg.AssetIn(), **SERVING_MODEL_INS},
)
def track_cooccurrence(
    context: dg.AssetExecutionContext,
    config: CooccurrenceConfig,
    mlflow: MlflowTracker,
    recommender_settings: RecommenderSettings,
    warehouse: DuckDBResource,
    playlists: Any,  # lib.recommend.playlist_store.PlaylistStore
    genre_classifier: ClassifierBundle,
    **cluster_models: ClusterModel,
) -> dg.Output[Any]:
    """Which songs people put together: sparse co-occurrence of every track of the TRAINING
    playlists with the songs users are served (song_index + fresh songs), and the hybrid's blends
    chosen on validation playlists (co-occurrence then learned without them; the cold-song blend
    and the merge also without a share of the catalogue songs). Held-out playlists are recorded
    here so the evaluation never scores a playlist this was learned from."""
    from playlist_assets.lib.feedback.training import read_reactions
    from playlist_assets.lib.recommend.load import serving_songs
    from playlist_assets.lib.recommend.tune import learn_served

    spec = recommender_settings.spec()
    with warehouse.get_connection() as con:
        songs, reactions = serving_songs(con), read_reactions(con)
    try:
        tuned, fed = learn_served(
            playlists,
            songs,
            reactions,
            genre_classifier,
            _cluster_models(cluster_models),
            spec,
            tune=config.tune_weights,
        )
    except ValueError as exc:
        raise dg.Failure(description=f"track_cooccurrence: {exc}") from exc
    tuned.cooccurrence.tuning.update(run_id=context.run_id, learned_at=_now())
    run_id = mlflow.log_run(
        "track_cooccurrence",
        tags=mlflow_run_tags(context, "track_cooccurrence"),
        params={**spec.as_dict(), **config.model_dump(), "weights_source": tuned.note},
        metrics=tuned.mlflow_metrics(),
    ).run_id
    metadata = _cooccurrence_metadata(tuned, len(songs), run_id)
    return dg.Output(tuned.cooccurrence, metadata={**metadata, "feedback_contexts": fed})


def _now() -> str:
    return pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _cooccurrence_metadata(tuned: Any, n_songs: int, run_id: str) -> dict[str, Any]:
    merge = tuned.choices.get("merge")
    return {
        **tuned.counts(),
        "catalogue_songs": n_songs,
        "weights_source": tuned.note,
        "cold_target_share": round(merge.cold_target_share, 4) if merge else 0.0,
        "merge_validation": dg.MetadataValue.json(merge.validation if merge else {}),
        "validation_ndcg": dg.MetadataValue.json(tuned.validation_ndcg),
        "blends": dg.MetadataValue.json(
            {g: {k: round(v, 4) for k, v in w.items()} for g, w in tuned.blends.as_dict().items()}
        ),
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


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "pandas", "mlflow"},
    owners=OWNERS,
    pool=DUCKDB_POOL,
    deps=["song_index"],
    ins={"playlists": dg.AssetIn(), "track_cooccurrence": dg.AssetIn(), **SERVING_MODEL_INS},
    check_specs=[
        dg.AssetCheckSpec(
            PROMOTION_CHECK,
            asset="recommendation_eval",
            blocking=False,
            description="WARN when the new recommender was held back as the challenger: a warm "
            "or cold headline figure is worse than the serving champion's beyond noise (paired "
            "bootstrap on the held-out playlists).",
        )
    ],
)
def recommendation_eval(
    context: dg.AssetExecutionContext,
    config: EvalConfig,
    mlflow: MlflowTracker,
    recommender_settings: RecommenderSettings,
    warehouse: DuckDBResource,
    playlists: Any,  # lib.recommend.playlist_store.PlaylistStore
    track_cooccurrence: Any,  # lib.recommend.cooccurrence.TrackCooccurrence
    genre_classifier: ClassifierBundle,
    **cluster_models: ClusterModel,
) -> Iterator[Any]:
    """Held-out playlists, first half given: how well each strategy of the recommender users
    would be served finds the catalogue songs of the second half (R-precision, NDCG, clicks,
    hit@10, hit@100 over 500 songs; the old system's cosine score), for cold-start playlists, and
    the cold slice (recall@100/@500 of songs stripped from the training playlists); then the
    promotion: the new recommender serves unless it is worse than the champion beyond noise."""
    from playlist_assets.lib.recommend.load import serving_songs
    from playlist_assets.lib.recommend.verdict import evaluate_and_promote

    spec = recommender_settings.spec()
    with warehouse.get_connection() as con:
        songs = serving_songs(con)
    try:
        outcome = evaluate_and_promote(
            playlists,
            songs,
            track_cooccurrence,
            genre_classifier,
            _cluster_models(cluster_models),
            spec,
            settings.models_dir(),
            strategies=config.strategies,
            k=config.k,
        )
    except ValueError as exc:
        raise dg.Failure(description=f"recommendation_eval: {exc}") from exc
    run_id = mlflow.log_run(
        "recommendation_eval",
        tags=mlflow_run_tags(context, "recommendation_eval"),
        params={"k": config.k, "strategies": ",".join(config.strategies), **spec.as_dict()},
        metrics=outcome.mlflow_metrics(),
        artifacts=outcome.artifacts(),
    ).run_id
    yield dg.Output(outcome.result.table, metadata=_eval_metadata(outcome, config.k, run_id))
    yield _promotion_check(outcome)


def _promotion_check(outcome: Any) -> dg.AssetCheckResult:
    from playlist_assets.lib.recommend.verdict import differences_markdown

    return dg.AssetCheckResult(
        check_name=PROMOTION_CHECK,
        passed=outcome.promotion.promote,
        severity=dg.AssetCheckSeverity.WARN,
        description=outcome.promotion.reason,
        metadata={
            "recommender_version": outcome.version,
            "compared_with": outcome.champion_version or "no champion",
            "differences": dg.MetadataValue.md(differences_markdown(outcome.promotion)),
        },
    )


def _eval_metadata(outcome: Any, k: int, run_id: str) -> dict[str, Any]:
    summary = outcome.summary()
    return {
        "dagster/row_count": len(outcome.result.table),
        "k": k,
        **{key: value for key, value in summary.items() if not key.endswith("_md")},
        "side_by_side": dg.MetadataValue.md(summary["side_by_side_md"]),
        "table": dg.MetadataValue.md(summary["table_md"]),
        "mlflow_run_id": run_id,
    }


defs = dg.Definitions(assets=[track_cooccurrence, recommendation_eval])
