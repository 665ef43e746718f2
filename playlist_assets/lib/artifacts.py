"""Load the models the Dagster run stored, without Dagster or MLflow (fast, for serving)."""

from __future__ import annotations

import pickle
from pathlib import Path

from playlist_assets.lib.models import ClassifierBundle, ClusterModel


class ArtifactMissing(FileNotFoundError):
    """A model that serving needs has not been materialized yet."""


def _load(path: Path, what: str):
    if not path.exists():
        raise ArtifactMissing(f"{what} not found at {path}: materialize it first")
    with path.open("rb") as fh:
        return pickle.load(fh)


def classifier_path(models_dir: Path) -> Path:
    return Path(models_dir) / "genre_classifier"


def cluster_model_path(models_dir: Path, genre: str) -> Path:
    return Path(models_dir) / "genre_cluster_models" / genre


def load_classifier(models_dir: Path) -> ClassifierBundle:
    """The champion classifier bundle written by the ``genre_classifier`` asset."""
    return _load(classifier_path(models_dir), "asset genre_classifier")


def load_cluster_models(models_dir: Path) -> dict[str, ClusterModel]:
    """Every genre's cluster model written by ``genre_cluster_models/<genre>``."""
    folder = Path(models_dir) / "genre_cluster_models"
    if not folder.is_dir():
        raise ArtifactMissing(
            f"asset genre_cluster_models not found under {folder}: materialize it first"
        )
    return {
        p.name: _load(p, f"asset genre_cluster_models/{p.name}")
        for p in sorted(folder.iterdir())
        if p.is_file()
    }
