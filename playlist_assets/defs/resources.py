"""Resources of the embedded defaults; each real counterpart is a configuration change away.

- ``io_manager``: DataFrames as DuckDB tables (dagster-duckdb).
- ``model_io_manager``: model objects pickled under the data folder (replaced atomically), so
  serving loads them fast.
- ``warehouse``: direct SQL on the same DuckDB file.
- ``mlflow``: tracking and the model registry (SQLite under the data folder, or
  ``MLFLOW_TRACKING_URI``); ``MlflowTracker.log_run`` logs one model's run in one call.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
from dagster_duckdb import DuckDBIOManager, DuckDBResource
from dagster_duckdb_pandas import DuckDBPandasTypeHandler
from pydantic import PrivateAttr

from playlist_assets import settings
from playlist_assets.defs.feed_resources import build_feed_resource
from playlist_assets.defs.model_files import ModelFilesIOManager
from playlist_assets.defs.recommender_settings import RecommenderSettings

DEFAULT_REGISTERED_MODEL = "playlist_genre_classifier"


class ReplacingPandasTypeHandler(DuckDBPandasTypeHandler):
    """Unpartitioned tables are replaced whole.

    The stock handler deletes rows and inserts into the existing table, so a new catalogue file
    with another column set or a stray string in a numeric column failed inside the IO manager
    (before the quality check could say why), and an empty frame never created its table.
    """

    def handle_output(self, context, table_slice, obj: pd.DataFrame, connection) -> None:
        if table_slice.partition_dimensions:
            return self._append_partition(context, table_slice, obj, connection)
        connection.execute(f"create schema if not exists {table_slice.schema}")
        connection.execute(
            f"create or replace table {table_slice.schema}.{table_slice.table} as select * from obj"
        )
        context.add_output_metadata({"dagster/row_count": len(obj)})

    @staticmethod
    def _append_partition(context, table_slice, obj: pd.DataFrame, connection) -> None:
        """The stock partition write (the IO manager has deleted the slice's old rows), without
        the stock handler's column schema on every hour's event: an hourly table's columns do
        not change by the hour, and instance storage per hour is a budget (~2.3 KB of ~7)."""
        if not obj.empty:
            table = f"{table_slice.schema}.{table_slice.table}"
            connection.execute(f"create schema if not exists {table_slice.schema}")
            connection.execute(f"create table if not exists {table} as select * from obj limit 0")
            connection.execute(f"insert into {table} select * from obj")
        context.add_output_metadata({"dagster/partition_row_count": len(obj)})


class WarehouseIOManager(DuckDBIOManager):
    """DataFrames as DuckDB tables; partitioned assets keep dagster-duckdb's delete-by-partition."""

    @staticmethod
    def type_handlers() -> Sequence[DuckDBPandasTypeHandler]:
        return [ReplacingPandasTypeHandler()]

    @staticmethod
    def default_load_type() -> type:
        return pd.DataFrame


@dataclass(frozen=True)
class LoggedRun:
    """What ``MlflowTracker.log_run`` leaves behind: the run, the registered version, links."""

    run_id: str
    experiment_id: str
    version: str | None = None
    run_url: str | None = None
    version_url: str | None = None


class _DropPickleWarning(logging.Filter):
    """mlflow.sklearn warns on every cloudpickle save; the project chose cloudpickle on purpose
    (skops would add a dependency and an allow-list of types read from the model's own MLmodel,
    which MLflow notes is no safer), so the warning is noise on every run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Saving scikit-learn models in the pickle")


class MlflowTracker(dg.ConfigurableResource):
    """MLflow tracking + registry, with runs that are always closed.

    One MLflow run per model under any launch path: each ``log_run`` opens and closes its own
    run (FINISHED, or FAILED if logging raises). The tracking URI is deployment configuration
    (``settings.mlflow_tracking_uri()``, from the environment; it may carry credentials), never a
    run-config field. mlflow itself is imported on first use, not at code-location load.
    """

    experiment_name: str = "playlist_assets"
    registered_model_name: str = DEFAULT_REGISTERED_MODEL

    _experiment_id: str | None = PrivateAttr(default=None)

    def resolved_uri(self) -> str:
        return settings.mlflow_tracking_uri()

    def mlflow(self) -> Any:
        """The configured ``mlflow`` module (imported lazily, experiment created on first use)."""
        # Embedded defaults make no network calls: no progress bars, no usage telemetry; and no
        # "Failed to import Git" warning when git is absent (a run records no commit then).
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
        import mlflow

        sklearn_logger = logging.getLogger("mlflow.sklearn")
        if not any(isinstance(f, _DropPickleWarning) for f in sklearn_logger.filters):
            sklearn_logger.addFilter(_DropPickleWarning())
        uri = self.resolved_uri()
        _check_store(uri)
        if uri.startswith("sqlite:///"):
            settings.mlflow_dir().mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        if self._experiment_id is None:
            self._experiment_id = _ensure_experiment(mlflow, self.experiment_name, uri)
        return mlflow

    def client(self) -> Any:
        from mlflow import MlflowClient

        mlflow = self.mlflow()
        return MlflowClient(tracking_uri=mlflow.get_tracking_uri())

    @contextmanager
    def start_run(self, run_name: str, tags: dict[str, str] | None = None) -> Iterator[Any]:
        """An MLflow run that ends FINISHED, or FAILED if the block raises."""
        mlflow = self.mlflow()
        if mlflow.active_run() is not None:  # never inherit a run someone left open
            mlflow.end_run(status="KILLED")
        with mlflow.start_run(
            run_name=run_name, experiment_id=self._experiment_id, tags=tags or {}
        ) as run:
            yield run

    def log_run(
        self,
        run_name: str,
        *,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        artifacts: Mapping[str, Any] | None = None,
        model: Any = None,
        input_example: pd.DataFrame | np.ndarray | None = None,
        register: bool = False,
        description: str | None = None,
    ) -> LoggedRun:
        """Log one model's run in one call and close it.

        ``artifacts`` maps a relative path (``evaluation/report.json``) to its content: a
        DataFrame (written as .csv or .parquet by the path's suffix), a dict/list (JSON) or a
        str. ``model`` is a scikit-learn estimator made of stock parts (MLflow tooling loads it
        without this project: ``lib/mlflow_models``), logged with pinned requirements and a
        signature inferred from ``input_example``; ``register`` adds it as a new version of
        ``registered_model_name`` (``description`` goes on the version). NaN metrics are skipped.
        """
        mlflow = self.mlflow()
        with self.start_run(run_name, dict(tags or {})) as run:
            if params:
                mlflow.log_params(dict(params))
            if metrics:
                mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v == v})
            if artifacts:
                _log_artifacts(mlflow, artifacts)
            version = None
            if model is not None:
                version = _log_model(
                    mlflow, model, input_example, self.registered_model_name if register else None
                )
        if version is not None and description:
            self.client().update_model_version(
                self.registered_model_name, version, description=description
            )
        return LoggedRun(
            run_id=run.info.run_id,
            experiment_id=run.info.experiment_id,
            version=version,
            run_url=run_url(run.info.experiment_id, run.info.run_id),
            version_url=model_url(self.registered_model_name, version) if version else None,
        )


def run_url(experiment_id: str, run_id: str) -> str | None:
    """The MLflow UI page of a run, when a UI is known (``settings.mlflow_ui_url``)."""
    ui = settings.mlflow_ui_url()
    return f"{ui}/#/experiments/{experiment_id}/runs/{run_id}" if ui else None


def model_url(name: str, version: str | None = None) -> str | None:
    """The MLflow UI page of a registered model, or of one of its versions."""
    ui = settings.mlflow_ui_url()
    if not ui:
        return None
    return f"{ui}/#/models/{name}" + (f"/versions/{version}" if version else "")


def link(text: str | None, url: str | None) -> dg.MetadataValue:
    """A clickable link when the MLflow UI is known, else the plain text."""
    return dg.MetadataValue.url(url) if url else dg.MetadataValue.text(text or "")


def _log_artifacts(mlflow: Any, artifacts: Mapping[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for relative, content in artifacts.items():
            path = Path(tmp) / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, pd.DataFrame):
                if path.suffix == ".parquet":
                    content.to_parquet(path)
                else:
                    content.to_csv(path)
            elif isinstance(content, dict | list):
                path.write_text(json.dumps(content))
            else:
                path.write_text(str(content))
            folder = str(Path(relative).parent)
            mlflow.log_artifact(str(path), None if folder == "." else folder)


def _log_model(
    mlflow: Any, model: Any, example: pd.DataFrame | np.ndarray | None, registered: str | None
) -> str | None:
    from mlflow.models import infer_signature

    from playlist_assets.lib.mlflow_models import check_stock_model, model_requirements

    check_stock_model(model)
    signature = None
    if example is not None:
        signature = infer_signature(example, model.predict(example))
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        signature=signature,
        input_example=example,
        registered_model_name=registered,
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        # Explicit requirements skip MLflow's slow dependency inference; MLflow adds its own pin.
        pip_requirements=model_requirements(),
    )
    return str(info.registered_model_version) if info.registered_model_version else None


def _check_store(uri: str) -> None:
    """A corrupt SQLite store fails the step with one line naming the file (not a traceback)."""
    from playlist_assets.lib.mlflow_runs import MlflowStoreError, check_sqlite_store

    try:
        check_sqlite_store(uri)
    except MlflowStoreError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


def _ensure_experiment(mlflow: Any, name: str, uri: str) -> str:
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    artifact_location = None
    if uri.startswith("sqlite:///"):
        # A SQLite backend has no artifact store of its own: keep artifacts beside it.
        folder = settings.mlflow_artifacts_dir()
        folder.mkdir(parents=True, exist_ok=True)
        artifact_location = folder.as_uri()
    try:
        return mlflow.create_experiment(name, artifact_location=artifact_location)
    except Exception:  # another process created it first
        experiment = mlflow.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


def build_resources() -> dict[str, Any]:
    """Resources for the embedded defaults (paths resolved from the environment at load time)."""
    warehouse = str(settings.warehouse_path())
    settings.data_home().mkdir(parents=True, exist_ok=True)
    return {
        "io_manager": WarehouseIOManager(database=warehouse, schema="main"),
        "model_io_manager": ModelFilesIOManager(base_dir=str(settings.models_dir())),
        "warehouse": DuckDBResource(database=warehouse),
        "mlflow": MlflowTracker(),
        "recommender_settings": RecommenderSettings(),
        "feed": build_feed_resource(),
    }


def mlflow_run_tags(context: dg.AssetExecutionContext, asset: str) -> dict[str, str]:
    """MLflow tags linking a model's run to its asset, its Dagster run (run recovery ends runs a
    dead Dagster run left open by this tag) and, for retrains, the drift behind it."""
    tags = {"dagster.run_id": context.run_id, "dagster.asset": asset}
    for key, value in context.run.tags.items():
        if key.startswith("playlist_assets/") or key == "dagster/sensor_name":
            tags[key.replace("/", ".")] = value
    return tags
