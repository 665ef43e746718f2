"""What a model logged to MLflow needs to load outside this project: its pinned requirements,
and no reference to the project's own code.

MLflow tooling (``mlflow models serve``, ``mlflow models build-docker``, a serving platform that
reads the registry) loads a model in an environment built from the model's own
``requirements.txt``, which does not hold this project. A project class or function pickled
inside the model fails there with ``ModuleNotFoundError``, so the models are built from stock
parts and the training refuses one that is not.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

# What loading a logged model needs besides MLflow (which MLflow pins itself): the pickle holds
# scikit-learn estimators with numpy arrays and pandas methods called by name, and is read by
# cloudpickle; scikit-learn imports scipy.
MODEL_REQUIREMENTS: tuple[str, ...] = ("scikit-learn", "scipy", "numpy", "pandas", "cloudpickle")
PROJECT_PACKAGE = __name__.split(".")[0]


class ModelNeedsProjectCode(ValueError):
    """A model to log refers to this project's code: MLflow tooling could not load it."""


def model_requirements() -> list[str]:
    """``MODEL_REQUIREMENTS`` pinned to the installed versions, the ones training used."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS]


class _GlobalsRecorder(pickle.Unpickler):
    """Reads a pickle back, noting every class or function it refers to by name."""

    def __init__(self, payload: bytes) -> None:
        super().__init__(io.BytesIO(payload))
        self.names: set[tuple[str, str]] = set()

    def find_class(self, module: str, name: str) -> Any:
        self.names.add((module, name))
        return super().find_class(module, name)


def project_references(model: Any) -> list[str]:
    """This project's classes and functions that ``model``'s (cloud)pickle refers to by name."""
    import cloudpickle

    recorder = _GlobalsRecorder(cloudpickle.dumps(model))
    recorder.load()
    return sorted(
        f"{module}.{name}"
        for module, name in recorder.names
        if module == PROJECT_PACKAGE or module.startswith(f"{PROJECT_PACKAGE}.")
    )


def check_stock_model(model: Any) -> None:
    """Raise ``ModelNeedsProjectCode`` naming what ``model`` would need from this project."""
    found = project_references(model)
    if found:
        raise ModelNeedsProjectCode(
            f"{type(model).__name__} refers to {', '.join(found)}: MLflow tooling outside this "
            "project could not load it; build the model from scikit-learn and pandas parts"
        )
