"""Every test runs on embedded defaults in its own throw-away data folder, offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


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


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``PLAYLIST_ASSETS_HOME`` for one test."""
    home = tmp_path / "data"
    home.mkdir()
    monkeypatch.setenv("PLAYLIST_ASSETS_HOME", str(home))
    return home
