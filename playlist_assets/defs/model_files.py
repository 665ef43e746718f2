"""``model_io_manager``: model objects as pickles under the data folder, replaced atomically.

Dagster's ``FilesystemIOManager`` writes the pickle in place, so a run killed mid-write left a
truncated model that serving then failed on with an ``EOFError``. This one keeps the same file
layout (``<base_dir>/<asset key path>``, what ``lib/classifier/artifacts.py`` reads) but writes through a
temporary file and a rename, and names the file and asset when one cannot be read.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import Field
from upath import UPath

from playlist_assets.lib.classifier.artifacts import load_artifact, write_pickle_atomic


class _AtomicPickles(dg.UPathIOManager):
    extension: str = ""  # same file names as FilesystemIOManager: serving reads them directly

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        write_pickle_atomic(path, obj)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> Any:
        return load_artifact(path, context.asset_key.to_user_string())


class ModelFilesIOManager(dg.ConfigurableIOManagerFactory):
    """Pickled model objects under ``base_dir``, each replaced by one rename."""

    base_dir: str = Field(description="Folder the model files live in.")

    def create_io_manager(self, context: dg.InitResourceContext) -> _AtomicPickles:
        return _AtomicPickles(base_path=UPath(self.base_dir))
