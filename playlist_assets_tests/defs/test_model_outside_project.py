"""The registered champion works with stock MLflow tooling, outside the project's environment.

A throw-away virtual environment is built only from the logged model's own metadata
(``python_env.yaml``, ``requirements.txt``: pip takes the wheels from the package index or its
cache); ``models:/playlist_genre_classifier@champion`` and a cluster model load there and must
predict what the project's own models predict.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml

from playlist_assets import settings
from playlist_assets.defs.resources import DEFAULT_REGISTERED_MODEL, build_resources
from playlist_assets.defs.training import (
    cluster_model_key,
    genre_classifier,
    genre_cluster_models,
    song_split,
)
from playlist_assets.lib.classifier.artifacts import load_classifier, load_cluster_models
from playlist_assets.lib.classifier.pipeline import FEATURE_COLUMNS
from playlist_assets.lib.mlflow_models import PROJECT_PACKAGE, model_requirements
from playlist_assets.lib.sample_data.generate import generate_tracks
from playlist_assets.lib.schema import TYPED_DTYPES
from playlist_assets.settings import DEFAULT_GENRES

GENRE = "jazz"
CHAMPION = f"models:/{DEFAULT_REGISTERED_MODEL}@champion"

# Runs in the throw-away environment: no project, only what the models declare.
LOAD_OUTSIDE = """
import importlib.util, json, sys
import mlflow
assert importlib.util.find_spec(sys.argv[2]) is None, "the project is importable here"
predictions = {}
for name, uri in json.loads(sys.argv[1]).items():
    model = mlflow.pyfunc.load_model(uri)
    predictions[name] = model.predict(model.input_example).tolist()
print(json.dumps(predictions))
"""


def _materialize_models() -> None:
    tracks = generate_tracks(40, DEFAULT_GENRES, seed=0).drop_duplicates("track_id")
    songs = tracks.astype(TYPED_DTYPES).reset_index(drop=True)

    @dg.asset(name="validated_songs")
    def validated_songs() -> pd.DataFrame:
        return songs

    selection = dg.AssetSelection.assets(
        "validated_songs", "train_songs", "test_songs", "genre_classifier"
    ) | dg.AssetSelection.assets(cluster_model_key(GENRE))
    result = dg.materialize(
        [validated_songs, song_split, genre_classifier, genre_cluster_models],
        resources=build_resources(),
        selection=selection,
    )
    assert result.success


def _scratch_folder(tmp_path: Path) -> Path:
    """Where the throw-away environment goes: memory (/dev/shm) when there is one. Its ~650 MB
    took ~55 s more to write and delete on a disk mounted with ``discard`` (TRIM on delete)."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="model-venv-", dir=shm))
    return tmp_path / "scratch"


def _environment_from(model_dir: Path, venv: Path) -> Path:
    """A new virtual environment holding only the model's declared requirements."""
    python_env = yaml.safe_load((model_dir / "python_env.yaml").read_text())
    # The environment is built with this interpreter: it must be the one the model declares.
    assert python_env["python"] == platform.python_version()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        + ["--no-compile", "-r", str(model_dir / "requirements.txt")],
        check=True,
        timeout=900,
    )
    return python


@pytest.mark.slow
def test_registered_models_load_and_predict_outside_the_project(
    data_home: Path, tmp_path: Path
) -> None:
    import mlflow
    from mlflow.models import Model

    _materialize_models()
    uri = settings.mlflow_tracking_uri()
    mlflow.set_tracking_uri(uri)
    model_dir = Path(mlflow.artifacts.download_artifacts(CHAMPION, dst_path=str(tmp_path / "m")))
    requirements = (model_dir / "requirements.txt").read_text().split()
    assert set(model_requirements()) <= set(requirements)
    assert f"mlflow=={mlflow.__version__}" in requirements
    logged = Model.load(model_dir)
    assert logged.signature.inputs.input_names() == list(FEATURE_COLUMNS)
    example = logged.load_input_example(model_dir)

    cluster = load_cluster_models(data_home / "models")[GENRE]
    models = {"classifier": CHAMPION, "cluster": f"runs:/{cluster.run_id}/model"}
    script = tmp_path / "load_outside.py"
    script.write_text(LOAD_OUTSIDE)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "MLFLOW_TRACKING_URI": uri,
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    scratch = _scratch_folder(tmp_path)
    try:
        python = _environment_from(model_dir, scratch / "venv")
        done = subprocess.run(
            [str(python), str(script), json.dumps(models), PROJECT_PACKAGE],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:  # not left for pytest's retention to delete at some later session's start
        shutil.rmtree(scratch, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    outside = json.loads(done.stdout.strip().splitlines()[-1])

    bundle = load_classifier(data_home / "models")
    assert outside["classifier"] == bundle.predict(example).tolist()
    cluster_dir = mlflow.artifacts.download_artifacts(models["cluster"])
    cluster_example = Model.load(cluster_dir).load_input_example(cluster_dir)
    assert outside["cluster"] == cluster.pipeline().predict(cluster_example).tolist()
