"""Training: the stable split, the genre classifier (champion/challenger) and per-genre clusters."""

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from playlist_assets import settings
from playlist_assets.defs.resources import MlflowTracker
from playlist_assets.lib.models import ClassifierBundle, ClusterModel
from playlist_assets.lib.schema import AUDIO_FEATURES

GENRES: tuple[str, ...] = settings.configured_genres()
TRAINING_KINDS = {"scikit-learn", "mlflow"}
OWNERS = ["team:ml-engineering"]


def genre_output_name(genre: str) -> str:
    """A Python identifier for a genre (``hip-hop`` -> ``hip_hop``) used as the output name."""
    return "".join(c if c.isalnum() else "_" for c in genre)


def cluster_model_key(genre: str) -> dg.AssetKey:
    return dg.AssetKey(["genre_cluster_models", genre])


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
    from playlist_assets.lib.split import is_test

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
        description="Test-split metric a new model must match or beat to become champion.",
    )


def _run_tags(context: dg.AssetExecutionContext) -> dict[str, str]:
    """MLflow tags linking a training run to its Dagster run and, for retrains, the drift behind it."""
    tags = {"dagster.run_id": context.run_id}
    for key, value in context.run.tags.items():
        if key.startswith("playlist_assets/") or key == "dagster/sensor_name":
            tags[key.replace("/", ".")] = value
    return tags


def _as_params(raw: dict[str, float]) -> dict[str, Any]:
    return {
        k: int(v) if float(v).is_integer() and k != "learning_rate" else v for k, v in raw.items()
    }


def _confusion_markdown(report: dict[str, Any]) -> str:
    labels, matrix = report["labels"], report["matrix"]
    frame = pd.DataFrame(matrix, index=labels, columns=labels)
    frame.index.name = "true \\ predicted"
    return frame.to_markdown()


def _prediction_mix(bundle_model: Any, songs: pd.DataFrame) -> dict[str, float]:
    predicted = pd.Series(bundle_model.predict(songs))
    return {
        str(k): float(v) for k, v in predicted.value_counts(normalize=True).sort_index().items()
    }


def _log_classifier_run(
    mlflow: Any,
    model: Any,
    params: dict[str, Any],
    metrics: dict[str, Any],
    train: pd.DataFrame,
    test: pd.DataFrame,
    feature_columns: list[str],
    registered_model_name: str,
) -> tuple[str | None]:
    """Log params, metrics, report artifacts and the model; register it; return the version."""
    import sklearn
    from mlflow.models import infer_signature

    mlflow.log_params({**params, "n_train": len(train), "n_test": len(test)})
    scalar = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
    mlflow.log_metrics(scalar)
    for label, row in metrics.get("per_class", {}).items():
        if isinstance(row, dict) and "f1-score" in row:
            mlflow.log_metric(f"f1_{genre_output_name(label)}", float(row["f1-score"]))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "confusion_matrix.json").write_text(json.dumps(metrics["confusion_matrix"]))
        pd.DataFrame(
            metrics["confusion_matrix"]["matrix"],
            index=metrics["confusion_matrix"]["labels"],
            columns=metrics["confusion_matrix"]["labels"],
        ).to_csv(folder / "confusion_matrix.csv")
        (folder / "classification_report.json").write_text(json.dumps(metrics["per_class"]))
        train[feature_columns + ["track_genre"]].to_parquet(folder / "train_features.parquet")
        mlflow.log_artifact(str(folder / "confusion_matrix.json"), "evaluation")
        mlflow.log_artifact(str(folder / "confusion_matrix.csv"), "evaluation")
        mlflow.log_artifact(str(folder / "classification_report.json"), "evaluation")
        mlflow.log_artifact(str(folder / "train_features.parquet"), "reference")
    # Integer columns declared as doubles: a new track with a missing value must still fit the signature.
    example = test[feature_columns].head(5)
    example = example.astype({c: "float64" for c in example.select_dtypes("integer").columns})
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        signature=infer_signature(example, model.predict(example)),
        input_example=example,
        registered_model_name=registered_model_name,
        # skops refuses the pipeline's own transformers; our code is on the loading side too.
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        # Explicit requirements skip MLflow's slow dependency inference.
        pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"pandas=={pd.__version__}"],
    )
    return str(info.registered_model_version) if info.registered_model_version else None


def _load_champion(mlflow: Any, client: Any, name: str, champion: Any) -> tuple[Any, pd.DataFrame]:
    """The champion's model and the training reference logged with it."""
    model = mlflow.sklearn.load_model(f"models:/{name}@champion")
    path = mlflow.artifacts.download_artifacts(
        run_id=champion.run_id, artifact_path="reference/train_features.parquet"
    )
    return model, pd.read_parquet(path)


@dg.asset(
    group_name="training",
    kinds=TRAINING_KINDS,
    owners=OWNERS,
    io_manager_key="model_io_manager",
    pool="duckdb",
)
def genre_classifier(
    context: dg.AssetExecutionContext,
    config: ClassifierConfig,
    mlflow: MlflowTracker,
    train_songs: pd.DataFrame,
    test_songs: pd.DataFrame,
) -> dg.Output[ClassifierBundle]:
    """The genre classifier serving uses: always the MLflow registry's ``champion``.

    Each materialization trains a candidate, logs it to MLflow and registers it. It becomes
    champion only when it is at least as good as the current champion on the same stable test
    split; otherwise it gets the ``challenger`` alias and the champion keeps serving.
    """
    from playlist_assets.lib import classifier as clf
    from playlist_assets.lib import registry

    params = {**clf.DEFAULT_PARAMS, **_as_params(config.params)}
    features = list(clf.FEATURE_COLUMNS)
    started = time.perf_counter()
    model = clf.fit_classifier(train_songs, **params)
    fit_seconds = time.perf_counter() - started
    metrics = clf.evaluate(model, test_songs)
    metrics["fit_seconds"] = fit_seconds

    ml = mlflow.mlflow()
    client = mlflow.client()
    name = mlflow.registered_model_name
    with mlflow.start_run(
        run_name="genre_classifier",
        tags={**_run_tags(context), "dagster.asset": "genre_classifier"},
    ) as run:
        version = _log_classifier_run(
            ml, model, params, metrics, train_songs, test_songs, features, name
        )
        champion = registry.current_champion(client, name)
        champion_model = champion_reference = None
        champion_score = None
        if champion is not None and str(champion.version) != version:
            try:
                champion_model, champion_reference = _load_champion(ml, client, name, champion)
                champion_score = float(
                    clf.evaluate(champion_model, test_songs)[config.promotion_metric]
                )
            except Exception as exc:  # incompatible old champion (other features/genres)
                context.log.warning(f"champion v{champion.version} cannot be scored: {exc}")
        decision = registry.decide(
            config.promotion_metric,
            float(metrics[config.promotion_metric]),
            champion_score,
            None if champion is None else str(champion.version),
        )
        if version is not None:
            registry.apply(client, name, version, decision)
        ml.set_tags({"promotion_decision": decision.alias, "promotion_reason": decision.reason})
        if champion_score is not None:
            ml.log_metric(f"champion_{config.promotion_metric}", champion_score)

    if decision.promoted or champion_model is None:
        bundle = ClassifierBundle(
            model=model,
            feature_columns=features,
            reference=train_songs[
                sorted(set(features) | set(AUDIO_FEATURES)) + ["track_genre"]
            ].reset_index(drop=True),
            reference_prediction_mix=_prediction_mix(model, test_songs),
            metrics={k: float(v) for k, v in metrics.items() if isinstance(v, int | float)},
            run_id=run.info.run_id,
            registered_model=name,
            version=version,
            alias=registry.CHAMPION,
        )
    else:
        bundle = ClassifierBundle(
            model=champion_model,
            feature_columns=features,
            reference=champion_reference,
            reference_prediction_mix=_prediction_mix(champion_model, test_songs),
            metrics={config.promotion_metric: champion_score or float("nan")},
            run_id=champion.run_id,
            registered_model=name,
            version=str(champion.version),
            alias=registry.CHAMPION,
        )
    per_class = pd.DataFrame(
        {k: v for k, v in metrics["per_class"].items() if isinstance(v, dict)}
    ).T
    return dg.Output(
        bundle,
        metadata={
            "accuracy": float(metrics["accuracy"]),
            "macro_f1": float(metrics["macro_f1"]),
            "fit_seconds": round(fit_seconds, 3),
            "n_train": len(train_songs),
            "n_test": len(test_songs),
            "promoted": decision.promoted,
            "decision": decision.reason,
            "candidate_score": decision.candidate_score,
            "champion_score": decision.champion_score
            if decision.champion_score is not None
            else float("nan"),
            "candidate_version": version or "unregistered",
            "serving_version": bundle.version or "unregistered",
            "mlflow_run_id": run.info.run_id,
            "mlflow_tracking_uri": mlflow.resolved_uri(),
            "per_class": dg.MetadataValue.md(per_class.round(3).to_markdown()),
            "confusion_matrix": dg.MetadataValue.md(
                _confusion_markdown(metrics["confusion_matrix"])
            ),
        },
    )


# ---------------------------------------------------------------------------------------------
# per-genre cluster models


class ClusterConfig(dg.Config):
    default_components: int = Field(default=3, description="GaussianMixture components per genre.")
    components: dict[str, int] = Field(
        default_factory=dict,
        description="Per-genre component counts, e.g. {'jazz': 4}; others use default_components.",
    )


@dg.multi_asset(
    outs={
        genre_output_name(genre): dg.AssetOut(
            key=cluster_model_key(genre),
            group_name="training",
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
    from sklearn.pipeline import make_pipeline

    from playlist_assets.lib.models import fit_cluster_model

    ml = mlflow.mlflow()
    by_genre = dict(tuple(train_songs.groupby("track_genre", sort=True)))
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
        k = int(config.components.get(genre, config.default_components))
        with mlflow.start_run(
            run_name=f"genre_cluster_models/{genre}",
            tags={
                **_run_tags(context),
                "dagster.asset": f"genre_cluster_models/{genre}",
                "genre": genre,
            },
        ) as run:
            model: ClusterModel = fit_cluster_model(songs, genre, k)
            model.run_id = run.info.run_id
            ml.log_params(
                {"genre": genre, "n_components": model.n_components, "n_songs": len(songs)}
            )
            ml.log_metrics({k_: v for k_, v in model.metrics.items() if v == v})
            ml.sklearn.log_model(
                make_pipeline(model.scaler, model.mixture),
                name="model",
                input_example=songs[model.feature_columns].head(3).to_numpy(dtype=float),
                pip_requirements=["scikit-learn"],
                serialization_format=ml.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            )
        sizes = pd.Series(model.predict(songs)).value_counts().sort_index()
        yield dg.Output(
            model,
            output_name=output,
            metadata={
                "genre": genre,
                "n_components": model.n_components,
                "n_songs": len(songs),
                **{k_: float(v) for k_, v in model.metrics.items()},
                "cluster_sizes": dg.MetadataValue.json({str(i): int(n) for i, n in sizes.items()}),
                "mlflow_run_id": run.info.run_id,
            },
        )


defs = dg.Definitions(assets=[song_split, genre_classifier, genre_cluster_models])
