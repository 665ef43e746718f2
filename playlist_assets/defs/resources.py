"""Resources of the embedded defaults; each real counterpart is a configuration change away.

- ``io_manager``: DataFrames as DuckDB tables (dagster-duckdb).
- ``model_io_manager``: model objects pickled under the data folder (replaced atomically), so
  serving loads them fast.
- ``warehouse``: direct SQL on the same DuckDB file.
- ``mlflow``: tracking and the model registry (SQLite under the data folder, or ``MLFLOW_TRACKING_URI``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBIOManager, DuckDBResource
from dagster_duckdb_pandas import DuckDBPandasTypeHandler
from pydantic import PrivateAttr

from playlist_assets import settings
from playlist_assets.defs.feed_resources import build_feed_resource
from playlist_assets.defs.model_files import ModelFilesIOManager

DEFAULT_REGISTERED_MODEL = "playlist_genre_classifier"


class ReplacingPandasTypeHandler(DuckDBPandasTypeHandler):
    """Unpartitioned tables are replaced whole.

    The stock handler deletes rows and inserts into the existing table, so a new catalogue file
    with another column set or a stray string in a numeric column failed inside the IO manager
    (before the quality check could say why), and an empty frame never created its table.
    """

    def handle_output(self, context, table_slice, obj: pd.DataFrame, connection) -> None:
        if table_slice.partition_dimensions:
            return super().handle_output(context, table_slice, obj, connection)
        connection.execute(f"create schema if not exists {table_slice.schema}")
        connection.execute(
            f"create or replace table {table_slice.schema}.{table_slice.table} as select * from obj"
        )
        context.add_output_metadata({"dagster/row_count": len(obj)})


class WarehouseIOManager(DuckDBIOManager):
    """DataFrames as DuckDB tables; partitioned assets keep dagster-duckdb's delete-by-partition."""

    @staticmethod
    def type_handlers() -> Sequence[DuckDBPandasTypeHandler]:
        return [ReplacingPandasTypeHandler()]

    @staticmethod
    def default_load_type() -> type:
        return pd.DataFrame


class MlflowTracker(dg.ConfigurableResource):
    """MLflow tracking + registry, with runs that are always closed.

    dagster-mlflow's ``mlflow_tracking`` is a legacy resource whose end-of-run hook does not
    fire under ``materialize()`` and leaves runs open; this resource scopes each MLflow run to a
    ``with`` block instead. mlflow itself is imported on first use, not at code-location load.
    """

    tracking_uri: str | None = None
    experiment_name: str = "playlist_assets"
    registered_model_name: str = DEFAULT_REGISTERED_MODEL

    _experiment_id: str | None = PrivateAttr(default=None)

    def resolved_uri(self) -> str:
        return self.tracking_uri or settings.default_mlflow_uri()

    def mlflow(self) -> Any:
        """The configured ``mlflow`` module (imported lazily, experiment created on first use)."""
        # Embedded defaults make no network calls: no progress bars, no usage telemetry.
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        import mlflow

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


def _mlflow_uri() -> str | dg.EnvVar | None:
    return dg.EnvVar(settings.MLFLOW_URI_ENV) if os.environ.get(settings.MLFLOW_URI_ENV) else None


def build_resources() -> dict[str, Any]:
    """Resources for the embedded defaults (paths resolved from the environment at load time)."""
    warehouse = str(settings.warehouse_path())
    settings.data_home().mkdir(parents=True, exist_ok=True)
    return {
        "io_manager": WarehouseIOManager(database=warehouse, schema="main"),
        "model_io_manager": ModelFilesIOManager(base_dir=str(settings.models_dir())),
        "warehouse": DuckDBResource(database=warehouse),
        "mlflow": MlflowTracker(tracking_uri=_mlflow_uri()),
        "feed": build_feed_resource(),
    }
