"""Every test runs on embedded defaults in its own throw-away data folder, offline."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real credentials, servers or data paths leak in from the developer's shell."""
    for name in (
        "MLFLOW_TRACKING_URI",
        "PLAYLIST_TRACKS_CSV",
        "PLAYLIST_MPD_PATH",
        "PLAYLIST_GENRES",
        "SPOTIPY_CLIENT_ID",
        "SPOTIPY_CLIENT_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def _mlflow_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated MLflow SQLite database: creating one costs seconds, copying it none."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow_template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _mlflow_db_template: Path) -> Path:
    """A fresh ``PLAYLIST_ASSETS_HOME`` for one test, with an empty MLflow backend in it."""
    home = tmp_path / "data"
    (home / "mlflow").mkdir(parents=True)
    shutil.copy(_mlflow_db_template, home / "mlflow" / "mlflow.db")
    monkeypatch.setenv("PLAYLIST_ASSETS_HOME", str(home))
    return home
