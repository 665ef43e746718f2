"""The API under test: a small materialized data folder, and the service started per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_harness import Api, launch, stop
from materialized_sample import materialize_sample


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The CLI tests' materialized sample (200 songs, 150 playlists); copied per test."""
    folder = tmp_path_factory.mktemp("api_sample")
    return materialize_sample(folder / "data", folder / "sample.json")


@pytest.fixture
def home(sample_home: dict, tmp_path: Path) -> Path:
    """This test's own copy of the sample data folder."""
    target = tmp_path / "data"
    shutil.copytree(sample_home["home"], target)
    return target


@pytest.fixture
def start_api(tmp_path: Path) -> Iterator:
    """``start_api(home, *flags, **env)`` -> a running ``Api``, stopped after the test."""
    started: list[Api] = []

    def start(home: Path, *flags: str, **env: str) -> Api:
        api = launch(home, tmp_path / f"api-{len(started)}.log", *flags, **env)
        started.append(api)
        return api

    yield start
    for api in started:
        stop(api)
