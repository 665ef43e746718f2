"""Is the data folder writable? Asked once before a run, so a read-only folder fails at once.

Without this check a run on a read-only data folder (a mounted volume, another user's folder)
spent 100+ s in dagster-duckdb's silent connection retries before failing with a traceback.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from playlist_assets.lib.constants import DataFolder


def unwritable_reason(folder: Path) -> str | None:
    """One line saying which path of the data folder cannot be written, or None if all can."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return f"data folder {folder} is not writable ({exc.strerror})"
    for path in DataFolder.at(folder).written():
        if path.exists() and not os.access(path, os.W_OK | (os.X_OK if path.is_dir() else 0)):
            return f"{path} in the data folder is not writable (permission denied)"
    return None
