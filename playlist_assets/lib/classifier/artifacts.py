"""Model files the Dagster run stores, written atomically and loaded without Dagster or MLflow.

A model file is written to a temporary file beside it and renamed over the old one, so a run
killed mid-write leaves the previous model, never half a pickle. A file that is still unreadable
(copied half-way, disk trouble) fails with one line naming it and the asset to re-materialize.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from playlist_assets.lib.classifier.models import ClassifierBundle, ClusterModel

# Modules whose classes model files written before lib/ was grouped into packages refer to.
MOVED_MODULES: dict[str, str] = {
    "playlist_assets.lib.models": "playlist_assets.lib.classifier.models",
    "playlist_assets.lib.classifier": "playlist_assets.lib.classifier.pipeline",
    "playlist_assets.lib.cooccurrence": "playlist_assets.lib.recommend.cooccurrence",
}


class _Unpickler(pickle.Unpickler):
    """Reads model files written before the move: old module paths map to their new homes."""

    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(MOVED_MODULES.get(module, module), name)


class ArtifactError(Exception):
    """A model that serving needs cannot be used; the message says what to materialize."""


class ArtifactMissing(ArtifactError, FileNotFoundError):
    """A model that serving needs has not been materialized yet."""


class ArtifactCorrupt(ArtifactError):
    """A model file exists but cannot be unpickled (truncated or overwritten)."""


def write_pickle_atomic(path: str | Path, obj: Any) -> None:
    """Pickle ``obj`` to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_artifact(path: str | Path, asset: str) -> Any:
    """Unpickle the file of ``asset``; missing or corrupt files raise one line naming both."""
    path = Path(path)
    if not path.exists():
        raise ArtifactMissing(f"asset {asset} not found at {path}: materialize it first")
    try:
        with path.open("rb") as fh:
            return _Unpickler(fh).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError) as exc:
        raise ArtifactCorrupt(
            f"{path} is truncated or corrupt ({type(exc).__name__}): re-materialize asset {asset}"
        ) from None
    except OSError as exc:
        raise ArtifactCorrupt(
            f"{path} cannot be read ({exc.strerror}): re-materialize asset {asset}"
        ) from None


def classifier_path(models_dir: Path) -> Path:
    return Path(models_dir) / "genre_classifier"


def cluster_model_path(models_dir: Path, genre: str) -> Path:
    return Path(models_dir) / "genre_cluster_models" / genre


def load_classifier(models_dir: Path) -> ClassifierBundle:
    """The champion classifier bundle written by the ``genre_classifier`` asset."""
    return load_artifact(classifier_path(models_dir), "genre_classifier")


def load_cluster_models(models_dir: Path) -> dict[str, ClusterModel]:
    """Every genre's cluster model written by ``genre_cluster_models/<genre>``."""
    folder = Path(models_dir) / "genre_cluster_models"
    if not folder.is_dir():
        raise ArtifactMissing(
            f"asset genre_cluster_models not found under {folder}: materialize it first"
        )
    return {
        p.name: load_artifact(p, f"genre_cluster_models/{p.name}")
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }
