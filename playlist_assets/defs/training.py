"""Training: the stable split, the genre classifier (champion/challenger) and per-genre clusters."""

from typing import Any

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from playlist_assets import settings
from playlist_assets.defs.partitions import hour_window
from playlist_assets.defs.resources import (
    LoggedRun,
    MlflowTracker,
    link,
    mlflow_run_tags,
    model_url,
)
from playlist_assets.lib.classifier.models import ClassifierBundle, ClusterModel
from playlist_assets.lib.classifier.split import (
    DEFAULT_MAX_TEST_ROWS,
    DEFAULT_MAX_TRAIN_ROWS,
    capped_sample,
)
from playlist_assets.lib.constants import ACKNOWLEDGE_SINCE_TAG, EPISODE_SINCE_TAG
from playlist_assets.lib.constants import RETRAIN_CHECK_NAME as CHECK_NAME
from playlist_assets.lib.drift.episodes import retrain_check

GENRES: tuple[str, ...] = settings.configured_genres()
TRAINING_KINDS = {"scikit-learn", "mlflow"}
OWNERS = ["team:ml-engineering"]


def genre_output_name(genre: str) -> str:
    """A Python identifier for a genre (``hip-hop`` -> ``hip_hop``) used as the output name."""
    return "".join(c if c.isalnum() else "_" for c in genre)


def cluster_model_key(genre: str) -> dg.AssetKey:
    return dg.AssetKey(["genre_cluster_models", genre])


# What serving reads to score songs: the champion classifier and every genre's cluster model.
SERVING_MODEL_INS: dict[str, dg.AssetIn] = {
    "genre_classifier": dg.AssetIn(),
    **{f"clusters_{genre_output_name(g)}": dg.AssetIn(key=cluster_model_key(g)) for g in GENRES},
}


# ---------------------------------------------------------------------------------------------
# split


class SplitConfig(dg.Config):
    test_fraction: float = Field(
        default=0.2,
        description="Share of tracks in the test split. Changing it moves tracks: keep it fixed.",
    )


@dg.multi_asset(
    outs={
        "train_songs": dg.AssetOut(
            group_name="training",
            kinds={"duckdb", "pandas"},
            owners=OWNERS,
            description="Songs the models learn from (stable hash split of validated_songs).",
        ),
        "test_songs": dg.AssetOut(
            group_name="training",
            kinds={"duckdb", "pandas"},
            owners=OWNERS,
            description="Songs the models are judged on; a track never moves to train on retrain.",
        ),
    },
    pool="duckdb",
)
def song_split(config: SplitConfig, validated_songs: pd.DataFrame):
    """Split by a hash of track_id, so the same track lands on the same side on every retrain."""
    from playlist_assets.lib.classifier.split import is_test

    test_mask = is_test(validated_songs["track_id"], test_fraction=config.test_fraction)
    train, test = validated_songs[~test_mask], validated_songs[test_mask]
    for name, frame in (("train_songs", train), ("test_songs", test)):
        yield dg.Output(
            frame.reset_index(drop=True),
            output_name=name,
            metadata={
                "dagster/row_count": len(frame),
                "share": round(len(frame) / max(len(validated_songs), 1), 4),
                "per_genre": dg.MetadataValue.json(
                    frame["track_genre"].value_counts().sort_index().to_dict()
                ),
            },
        )


# ---------------------------------------------------------------------------------------------
# classifier


class ClassifierConfig(dg.Config):
    params: dict[str, float] = Field(
        default_factory=dict,
        description="Overrides of the classifier's DEFAULT_PARAMS (e.g. learning_rate, max_iter).",
    )
    promotion_metric: str = Field(
        default="macro_f1",
        description="Test-split metric a new model must match or beat to become champion (a tie "
        "promotes). Both models are scored on today's test_songs in the same run.",
    )
    max_train_rows: int = Field(
        default=DEFAULT_MAX_TRAIN_ROWS,
        description="Training rows at most: a stratified sample by genre, chosen by a hash of the "
        "track id so it stays stable as the songs base grows (0 = no cap).",
    )
    max_test_rows: int = Field(
        default=DEFAULT_MAX_TEST_ROWS,
        description="Test rows candidate and champion are scored on at most: the same kind of "
        "stable, stratified sample of test_songs, the same for both models (0 = no cap).",
    )
    acknowledge_hours: int = Field(
        default=24,
        description="Feed hours a retrain acknowledges at most (from the drift episode's first "
        "hour, or the newest hours for a manual run): hours like these do not trigger again.",
    )


CLASSIFIER_CHECK = dg.AssetCheckSpec(
    CHECK_NAME,
    asset="genre_classifier",
    blocking=False,
    description="WARN when a retrain requested by drift did not beat the champion: the drift "
    "persists and the serving model is unchanged. Passes when a champion is promoted or the "
    "drift ends (drift_retraining_sensor records that).",
)


def _as_params(raw: dict[str, float]) -> dict[str, Any]:
    return {
        k: int(v) if float(v).is_integer() and k != "learning_rate" else v for k, v in raw.items()
    }


def _acknowledged(
    warehouse: DuckDBResource, bundle: ClassifierBundle, since: str | None, hours: int
) -> ClassifierBundle:
    """Attach the feed rows this retrain saw (its acknowledged reference) to the serving bundle."""
    from playlist_assets.lib.drift.episodes import MIN_ACKNOWLEDGED_ROWS, read_acknowledged

    start = hour_window(since)[0] if since and since != "unpartitioned" else None
    with warehouse.get_connection() as con:
        rows = read_acknowledged(con, start, hours)
    if len(rows) >= MIN_ACKNOWLEDGED_ROWS:
        bundle.acknowledged = rows.drop(columns=["partition_hour"], errors="ignore")
        bundle.acknowledged_prediction_mix = _prediction_mix(bundle.model, rows)
    return bundle


@dg.asset(
    group_name="training",
    kinds=TRAINING_KINDS,
    owners=OWNERS,
    io_manager_key="model_io_manager",
    pool="duckdb",
    check_specs=[CLASSIFIER_CHECK],
)
def genre_classifier(
    context: dg.AssetExecutionContext,
    config: ClassifierConfig,
    mlflow: MlflowTracker,
    warehouse: DuckDBResource,
    train_songs: pd.DataFrame,
    test_songs: pd.DataFrame,
):
    """The genre classifier serving uses: always the MLflow registry's ``champion``.

    Each materialization trains a candidate and scores it and the champion on today's test
    split, in the same run. The candidate becomes champion when it is at least as good on the
    promotion metric; otherwise it gets the ``challenger`` alias and the champion keeps serving.
    The page leads with what serves, then the candidate, then the decision.
    """
    from playlist_assets.lib.classifier import registry
    from playlist_assets.lib.classifier.run import compare_with_champion, train_candidate

    params = {**clf_defaults(), **_as_params(config.params)}
    test_songs = capped_sample(test_songs, config.max_test_rows, salt="test-sample")
    candidate = train_candidate(train_songs, test_songs, params, config.max_train_rows)
    champion = registry.load_champion(
        mlflow.mlflow(), mlflow.client(), mlflow.registered_model_name
    )
    comparison = compare_with_champion(candidate, champion, test_songs, config.promotion_metric)
    logged = mlflow.log_run(
        "genre_classifier",
        tags={**mlflow_run_tags(context, "genre_classifier"), **comparison.mlflow_tags()},
        params=candidate.mlflow_params(),
        metrics=comparison.mlflow_metrics(),
        artifacts=candidate.artifacts(),
        model=candidate.model,
        input_example=candidate.example,
        register=True,
        description=comparison.decision.reason,
    )
    registry.apply(
        mlflow.client(), mlflow.registered_model_name, logged.version, comparison.decision
    )
    bundle = comparison.serving_bundle(logged, mlflow.registered_model_name)
    ack_since = context.run.tags.get(ACKNOWLEDGE_SINCE_TAG)
    bundle = _acknowledged(warehouse, bundle, ack_since, config.acknowledge_hours)
    bundle.acknowledged_run = logged.run_id
    yield dg.Output(bundle, metadata=classifier_page(comparison, logged, bundle, mlflow))
    yield _check_result(context, comparison, logged)


def _check_result(
    context: dg.AssetExecutionContext, comparison: Any, logged: LoggedRun
) -> dg.AssetCheckResult:
    """The WARN check: did the retrain that drift requested answer it?"""
    since = context.run.tags.get(EPISODE_SINCE_TAG)
    decision = comparison.decision
    passed, message = retrain_check(
        promoted=decision.promoted,
        episode_since=since,
        run=context.run_id[:8],
        metric=decision.metric,
        candidate=decision.candidate_score,
        champion=decision.champion_score,
        champion_version=decision.champion_version,
    )
    return dg.AssetCheckResult(
        check_name=CHECK_NAME,
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=message,
        metadata={"episode_since": since or "none", "candidate_run": logged.run_id},
    )


def clf_defaults() -> dict[str, Any]:
    from playlist_assets.lib.classifier.pipeline import DEFAULT_PARAMS

    return dict(DEFAULT_PARAMS)


def _prediction_mix(model: Any, songs: pd.DataFrame) -> dict[str, float]:
    from playlist_assets.lib.drift.measure import prediction_mix

    return prediction_mix(model.predict(songs))


def classifier_page(
    comparison: Any, logged: LoggedRun, bundle: ClassifierBundle, mlflow: MlflowTracker
) -> dict[str, Any]:
    """genre_classifier's metadata, in reading order: what serves, the candidate, the decision."""
    decision = comparison.decision
    serving = comparison.serving_metrics
    name = mlflow.registered_model_name
    meta: dict[str, Any] = {
        "serving_version": link(bundle.version, model_url(name, bundle.version)),
        "serving_accuracy": float(serving["accuracy"]),
        "serving_macro_f1": float(serving["macro_f1"]),
        "champion_score": (
            float(decision.champion_score)
            if decision.champion_score is not None
            else dg.MetadataValue.text("no champion yet")
        ),
        "candidate_version": link(logged.version, logged.version_url),
        "candidate_score": float(decision.candidate_score),
        "accuracy": float(comparison.candidate.metrics["accuracy"]),
        "macro_f1": float(comparison.candidate.metrics["macro_f1"]),
        "promoted": decision.promoted,
        "decision": decision.reason,
        "promotion_metric": decision.metric,
        "n_train": comparison.candidate.n_train,
        "n_train_base": comparison.candidate.n_train_base,
        "n_test": comparison.n_test,
        "test_split_hash": comparison.split_hash,
        "fit_seconds": round(comparison.candidate.fit_seconds, 3),
        "mlflow_run_id": link(logged.run_id, logged.run_url),
        "registered_model": link(name, model_url(name)),
        "per_class": dg.MetadataValue.md(comparison.candidate.per_class_markdown()),
        "confusion_matrix": dg.MetadataValue.md(comparison.candidate.confusion_markdown()),
    }
    return meta


# ---------------------------------------------------------------------------------------------
# per-genre cluster models


class ClusterConfig(dg.Config):
    default_components: int = Field(default=3, description="GaussianMixture components per genre.")
    components: dict[str, int] = Field(
        default_factory=dict,
        description="Per-genre component counts, e.g. {'jazz': 4}; others use default_components.",
    )
    max_train_rows: int = Field(
        default=DEFAULT_MAX_TRAIN_ROWS,
        description="Training rows at most across genres (same stratified, hash-stable sample as "
        "the classifier's; 0 = no cap).",
    )


# Their own group, so the global lineage collapses the ten per-genre nodes into one.
CLUSTER_GROUP = "genre_cluster_models"


@dg.multi_asset(
    outs={
        genre_output_name(genre): dg.AssetOut(
            key=cluster_model_key(genre),
            group_name=CLUSTER_GROUP,
            kinds=TRAINING_KINDS,
            owners=OWNERS,
            io_manager_key="model_io_manager",
            description=f"GaussianMixture of {genre} songs on standardized audio features.",
            is_required=False,
        )
        for genre in GENRES
    },
    can_subset=True,
    pool="duckdb",
)
def genre_cluster_models(
    context: dg.AssetExecutionContext,
    config: ClusterConfig,
    mlflow: MlflowTracker,
    train_songs: pd.DataFrame,
):
    """One GaussianMixture per genre; each genre is its own asset and can be materialized alone."""
    from playlist_assets.lib.classifier.models import fit_cluster_model

    by_genre = dict(tuple(capped_sample(train_songs, config.max_train_rows).groupby("track_genre")))
    for genre in GENRES:
        output = genre_output_name(genre)
        if output not in context.op_execution_context.selected_output_names:
            continue
        songs = by_genre.get(genre)
        if songs is None or len(songs) < 2:
            raise dg.Failure(
                description=f"genre_cluster_models/{genre}: train_songs has "
                f"{0 if songs is None else len(songs)} songs of genre {genre!r}; at least 2 are needed."
            )
        model: ClusterModel = fit_cluster_model(
            songs, genre, int(config.components.get(genre, config.default_components))
        )
        logged = mlflow.log_run(
            f"genre_cluster_models/{genre}",
            tags=mlflow_run_tags(context, f"genre_cluster_models/{genre}"),
            params={"genre": genre, "n_components": model.n_components, "n_songs": len(songs)},
            metrics=model.metrics,
            model=model.pipeline(),
            input_example=songs[model.feature_columns].head(3).to_numpy(dtype=float),
        )
        model.run_id = logged.run_id
        yield dg.Output(model, output_name=output, metadata=_cluster_page(model, songs, logged))


def _cluster_page(model: ClusterModel, songs: pd.DataFrame, logged: LoggedRun) -> dict[str, Any]:
    sizes = pd.Series(model.predict(songs)).value_counts().sort_index()
    return {
        "genre": model.genre,
        "n_components": model.n_components,
        "n_songs": len(songs),
        **{k: float(v) for k, v in model.metrics.items()},
        "cluster_sizes": dg.MetadataValue.json({str(i): int(n) for i, n in sizes.items()}),
        "mlflow_run_id": link(logged.run_id, logged.run_url),
    }


defs = dg.Definitions(assets=[song_split, genre_classifier, genre_cluster_models])
