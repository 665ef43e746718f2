"""What the dashboard reads: the warehouse, MLflow and the Dagster instance — never recomputed.

Every loader returns a DataFrame that is empty when its source has not been materialized yet, so
the notebook can say what to materialize instead of raising. The warehouse is opened read-only
for one query at a time: a Dagster run may be holding DuckDB's write lock.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from playlist_assets import settings
from playlist_assets.lib import constants

DRIFT_SENSOR_NAME = constants.DRIFT_SENSOR
CHAMPION_ALIAS = "champion"
CLASSIFIER_ASSET = "genre_classifier"
CLUSTER_ASSET_PREFIX = "genre_cluster_models/"
EVAL_ASSET = "recommendation_eval"
DRIFT_ASSET = "feature_drift"
RETRAINING_JOB = constants.RETRAINING_JOB
HOURLY_FORMAT = constants.PARTITION_KEY_FORMAT
PARTITION_COLUMNS = ("partition_hour", "partition_key", "partition")
_LOCK_MARKERS = ("could not set lock", "conflicting lock", "lock on file")


class WarehouseBusy(RuntimeError):
    """A Dagster run holds the warehouse's write lock; the reader should try again shortly."""


def _is_lock_error(exc: Exception) -> bool:
    return any(marker in str(exc).lower() for marker in _LOCK_MARKERS)


@contextmanager
def connect(path: Path | None = None, *, retry_wait: float = 1.0) -> Iterator[Any | None]:
    """A short read-only DuckDB connection, or None when the warehouse does not exist yet.

    On a lock conflict it waits ``retry_wait`` seconds and tries once more, then raises
    :class:`WarehouseBusy` with a message fit for the page.
    """
    import duckdb

    path = Path(path or settings.warehouse_path())
    if not path.exists():
        yield None
        return
    con = None
    for attempt in range(2):
        try:
            con = duckdb.connect(str(path), read_only=True)
            break
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                raise
            if attempt:
                raise WarehouseBusy(
                    f"The warehouse {path} is busy: a Dagster run is writing to it. "
                    "Reload the page (or re-run this cell) in a moment."
                ) from exc
            time.sleep(retry_wait)
    try:
        yield con
    finally:
        con.close()


def table_columns(path: Path | None = None) -> dict[str, list[str]]:
    """Columns of every table in schema ``main``: ``{}`` on a fresh install."""
    with connect(path) as con:
        if con is None:
            return {}
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        ).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


def query(sql: str, requires: str | Sequence[str], *, path: Path | None = None) -> pd.DataFrame:
    """Run ``sql`` when every table it ``requires`` exists; an empty frame otherwise."""
    needed = [requires] if isinstance(requires, str) else list(requires)
    with connect(path) as con:
        if con is None:
            return pd.DataFrame()
        present = {
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        }
        if not set(needed) <= present:
            return pd.DataFrame()
        return con.execute(sql).df()


def _partition_column(columns: Sequence[str]) -> str | None:
    return next((c for c in PARTITION_COLUMNS if c in columns), None)


# ---------------------------------------------------------------------------------------------
# songs base


def songs_per_genre(path: Path | None = None) -> pd.DataFrame:
    """``genre, songs`` of the validated songs base."""
    return query(
        "SELECT track_genre AS genre, count(*) AS songs FROM validated_songs "
        "GROUP BY 1 ORDER BY songs DESC, genre",
        "validated_songs",
        path=path,
    )


def tracks_per_partition(path: Path | None = None) -> pd.DataFrame:
    """``partition_hour, source, tracks``: how many new tracks each hourly partition brought."""
    columns = table_columns(path).get("new_tracks", [])
    partition = _partition_column(columns)
    if partition is None:
        return pd.DataFrame()
    source = "source" if "source" in columns else "'feed'"
    return query(
        f'SELECT "{partition}" AS partition_hour, {source} AS source, count(*) AS tracks '
        "FROM new_tracks GROUP BY 1, 2 ORDER BY 1, 2",
        "new_tracks",
        path=path,
    )


def quarantine_reasons(path: Path | None = None) -> pd.DataFrame:
    """``source, reason, rows`` of quarantined tracks, largest first."""
    columns = table_columns(path).get("quarantined_tracks", [])
    if "reason" not in columns:
        return pd.DataFrame()
    source = "source" if "source" in columns else "'unknown'"
    return query(
        f"SELECT {source} AS source, reason, count(*) AS rows FROM quarantined_tracks "
        "GROUP BY 1, 2 ORDER BY rows DESC, source, reason",
        "quarantined_tracks",
        path=path,
    )


def quarantine_examples(limit: int = 10, path: Path | None = None) -> pd.DataFrame:
    """The latest quarantined rows, for the table under the chart."""
    columns = table_columns(path).get("quarantined_tracks", [])
    keep = [
        c for c in ("source", "row_number", "track_id", "reason", "quarantined_at") if c in columns
    ]
    if not keep:
        return pd.DataFrame()
    order = "quarantined_at DESC" if "quarantined_at" in keep else "1"
    cols = ", ".join(f'"{c}"' for c in keep)
    return query(
        f"SELECT {cols} FROM quarantined_tracks ORDER BY {order} LIMIT {int(limit)}",
        "quarantined_tracks",
        path=path,
    )


# ---------------------------------------------------------------------------------------------
# drift


def feature_drift(path: Path | None = None) -> pd.DataFrame:
    """One row per (partition, feature) with ``partition_hour, feature, psi, drifted`` at least.

    Column names are normalised (``ks_statistic`` -> ``ks_stat``); partitions are sorted.
    """
    columns = table_columns(path).get("feature_drift", [])
    partition = _partition_column(columns)
    if partition is None or "feature" not in columns:
        return pd.DataFrame()
    frame = query("SELECT * FROM feature_drift", "feature_drift", path=path)
    frame = frame.rename(columns={partition: "partition_hour", "ks_statistic": "ks_stat"})
    frame["partition_hour"] = pd.to_datetime(frame["partition_hour"], errors="coerce")
    return frame.sort_values(["partition_hour", "feature"]).reset_index(drop=True)


def drift_threshold(drift: pd.DataFrame, default: float = 0.2) -> float:
    """The PSI threshold the drift asset used (a column when it stores one), else ``default``."""
    for column in ("psi_threshold", "threshold"):
        if column in drift.columns and drift[column].notna().any():
            return float(drift[column].dropna().iloc[-1])
    return default


# ---------------------------------------------------------------------------------------------
# recommendations


def recommendation_eval(path: Path | None = None) -> pd.DataFrame:
    """The latest ``recommendation_eval`` table as the asset stored it."""
    return query("SELECT * FROM recommendation_eval", "recommendation_eval", path=path)


def cold_song_eval(path: Path | None = None) -> pd.DataFrame:
    """The cold slice of the latest evaluation: how well each strategy brings back songs no
    training playlist held (``strategy, playlists, recall_at_100, recall_at_500, ...``)."""
    from playlist_assets.lib.recommend.names import COLD_SONG_METRICS, SLICE_COLD_SONGS

    table = recommendation_eval(path)
    wanted = ["strategy", "playlists", *COLD_SONG_METRICS]
    if table.empty or not set(wanted) <= set(table.columns):
        return pd.DataFrame(columns=wanted)
    return table.loc[table["slice"] == SLICE_COLD_SONGS, wanted].reset_index(drop=True)


def warm_and_cold(path: Path | None = None) -> pd.DataFrame:
    """The latest evaluation's warm and cold headline figures side by side, per strategy."""
    from playlist_assets.lib.recommend.report import side_by_side

    return side_by_side(recommendation_eval(path))


def serving_recommender(models: Path | None = None) -> dict[str, str]:
    """The recommender champion's card (version, when, why) and the challenger's, when any."""
    from playlist_assets.lib.recommend import champion

    folder = models or settings.models_dir()
    cards = {role: champion.card(folder, role) for role in (champion.CHAMPION, champion.CHALLENGER)}
    return {
        f"{role} {field}": value
        for role, card in cards.items()
        if card is not None
        for field, value in (("version", card.version), ("decision", card.reason))
    }


def example_playlist_ref(path: Path | None = None) -> str:
    """A reference the "try it" form starts with: ``mpd:<pid>`` of a stored playlist, else the
    five most popular songs of the index as track ids; ``""`` when neither exists."""
    columns = table_columns(path)
    if "pid" in columns.get("playlists", []):
        frame = query(
            "SELECT pid, count(*) AS n FROM playlists GROUP BY pid HAVING n >= 5 "
            "ORDER BY pid DESC LIMIT 1",
            "playlists",
            path=path,
        )
        if len(frame):
            return f"mpd:{frame['pid'].iloc[0]}"
    if "track_id" in columns.get("song_index", []):
        frame = query(
            "SELECT track_id FROM song_index ORDER BY popularity DESC, track_id LIMIT 5",
            "song_index",
            path=path,
        )
        return " ".join(frame["track_id"])
    return ""


# ---------------------------------------------------------------------------------------------
# MLflow


def mlflow_uri() -> str:
    return settings.mlflow_tracking_uri()


def _mlflow_client(uri: str | None = None) -> Any | None:
    """An MLflow client, or None when the default SQLite store has never been written."""
    uri = uri or mlflow_uri()
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return None
    # A dashboard makes no network calls of its own: no progress bars, no usage telemetry.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _run_kind(tags: dict[str, str], metrics: dict[str, float]) -> str:
    """Which asset logged the run: its ``dagster.asset`` tag, else a guess from its metrics."""
    asset = tags.get("dagster.asset")
    if asset is not None:
        if asset == CLASSIFIER_ASSET:
            return "classifier"
        if asset.startswith(CLUSTER_ASSET_PREFIX):
            return "cluster"
        return "recommendation_eval" if asset == EVAL_ASSET else "other"
    if "silhouette" in metrics:
        return "cluster"
    if "accuracy" in metrics and "macro_f1" in metrics:
        return "classifier"
    return "other"


def mlflow_runs(uri: str | None = None, max_results: int = 2000) -> pd.DataFrame:
    """Every finished run of every experiment, flattened: one row per run.

    Columns: ``run_id, run_name, kind, genre, start_time, status, experiment`` plus one column
    per metric (``metrics.<name>`` keeps MLflow's naming) and the ``tags`` dict.
    """
    client = _mlflow_client(uri)
    if client is None:
        return pd.DataFrame()
    experiments = {e.experiment_id: e.name for e in client.search_experiments()}
    if not experiments:
        return pd.DataFrame()
    runs = client.search_runs(
        list(experiments),
        filter_string="attributes.status = 'FINISHED'",
        max_results=max_results,
        order_by=["attributes.start_time ASC"],
    )
    rows = []
    for run in runs:
        tags = dict(run.data.tags)
        metrics = dict(run.data.metrics)
        params = dict(run.data.params)
        rows.append(
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name or tags.get("mlflow.runName", ""),
                "kind": _run_kind(tags, metrics),
                "genre": tags.get("genre") or params.get("genre"),
                "start_time": pd.to_datetime(run.info.start_time, unit="ms"),
                "status": run.info.status,
                "experiment": experiments.get(run.info.experiment_id, ""),
                "tags": tags,
                **{f"metrics.{k}": v for k, v in metrics.items()},
            }
        )
    return pd.DataFrame(rows)


def runs_of_kind(runs: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The runs of one kind (``classifier``, ``cluster``, ``recommendation_eval``), oldest first."""
    if runs.empty:
        return runs
    picked = runs[runs["kind"] == kind]
    if picked.empty:
        return picked.reset_index(drop=True)
    # Drop the metric columns only other kinds of runs have.
    picked = picked.dropna(axis=1, how="all")
    return picked.sort_values("start_time").reset_index(drop=True)


def champion(uri: str | None = None) -> dict[str, str]:
    """``{name, version, run_id}`` of the registry's ``champion``; ``{}`` when there is none."""
    client = _mlflow_client(uri)
    if client is None:
        return {}
    for model in client.search_registered_models():
        version = (getattr(model, "aliases", None) or {}).get(CHAMPION_ALIAS)
        if version is None:
            continue
        mv = client.get_model_version(model.name, str(version))
        return {"name": model.name, "version": str(version), "run_id": mv.run_id or ""}
    return {}


def confusion_matrix(run_id: str, uri: str | None = None) -> pd.DataFrame:
    """The confusion matrix a classifier run logged (rows true, columns predicted)."""
    client = _mlflow_client(uri)
    if client is None or not run_id:
        return pd.DataFrame()
    candidates = _artifact_paths(client, run_id, "")
    named = [p for p in candidates if "confusion" in p.rsplit("/", 1)[-1].lower()]
    for wanted in (".json", ".csv"):
        for artifact in (p for p in named if p.endswith(wanted)):
            with tempfile.TemporaryDirectory() as tmp:
                local = Path(client.download_artifacts(run_id, artifact, tmp))
                if wanted == ".json":
                    raw = json.loads(local.read_text())
                    labels = [str(label) for label in raw["labels"]]
                    return pd.DataFrame(raw["matrix"], index=labels, columns=labels)
                return pd.read_csv(local, index_col=0)
    return pd.DataFrame()


def _artifact_paths(client: Any, run_id: str, folder: str, depth: int = 2) -> list[str]:
    paths: list[str] = []
    for info in client.list_artifacts(run_id, folder or None):
        if info.is_dir:
            if depth > 0 and not info.path.endswith("model"):
                paths.extend(_artifact_paths(client, run_id, info.path, depth - 1))
        else:
            paths.append(info.path)
    return paths


# ---------------------------------------------------------------------------------------------
# Dagster instance
