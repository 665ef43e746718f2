"""A stand-in data folder (warehouse tables + MLflow runs) shared by the dashboard tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import standin  # noqa: E402


@pytest.fixture(scope="session")
def standin_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Written once per session; tests only read it."""
    return standin.build(tmp_path_factory.mktemp("dashboard") / "data")


@pytest.fixture
def filled_home(standin_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``PLAYLIST_ASSETS_HOME`` pointing at the stand-in folder, no Dagster instance."""
    monkeypatch.setenv("PLAYLIST_ASSETS_HOME", str(standin_home))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return standin_home


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh install: an empty data folder (not even an MLflow database), no Dagster instance."""
    home = tmp_path / "fresh"
    home.mkdir()
    monkeypatch.setenv("PLAYLIST_ASSETS_HOME", str(home))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return home
