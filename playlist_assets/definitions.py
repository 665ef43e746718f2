"""The code location: everything under ``defs/`` (found by ``load_from_defs_folder``), plus the
shared resources and the executor."""

from __future__ import annotations

import os
from pathlib import Path

# OpenMP threads that busy-wait starve each other on a small shared machine (a 2 s fit took 60 s);
# set before scikit-learn loads, inherited by every step process that re-imports this module.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import dagster as dg  # noqa: E402

import playlist_assets.defs as defs_package  # noqa: E402
from playlist_assets.defs.recovery import recovering_in_process_executor  # noqa: E402
from playlist_assets.defs.resources import build_resources  # noqa: E402


def load_defs_folder() -> dg.Definitions:
    """Every module of ``defs/``: through the ``[tool.dg]`` project config in a checkout, straight
    from the package when it is installed without one (a container image)."""
    package_dir = Path(defs_package.__file__).parent.parent
    try:
        return dg.load_from_defs_folder(path_within_project=package_dir)
    except dg.DagsterError:
        tree = dg.ComponentTree.from_module(defs_module=defs_package, project_root=package_dir)
        return tree.build_defs()


def build_defs() -> dg.Definitions:
    return dg.Definitions.merge(
        load_defs_folder(),
        # Steps mostly queue for the single DuckDB writer anyway, so one process per run is
        # faster (imports paid once) and lighter than a process per step. Runs still go in
        # parallel, and the "duckdb" pool keeps them from colliding on the file. Before its steps,
        # each run recovers runs that died holding a slot (defs/recovery.py).
        dg.Definitions(resources=build_resources(), executor=recovering_in_process_executor),
    )


defs = build_defs()
