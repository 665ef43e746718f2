"""A module as an earlier commit had it, imported under another name, so a benchmark can run
today's code and the old code side by side in one process."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
# The build before issues 10-15: the "today's build" of their benchmarks.
BEFORE_COMMIT = "f1401b6"


def module_at(commit: str, path: str, name: str) -> ModuleType:
    """``path`` (e.g. ``playlist_assets/lib/recommend/recommender.py``) at ``commit``, imported as ``name``."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:{path}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    file = Path(tempfile.mkdtemp()) / f"{name}.py"
    file.write_text(source)
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
