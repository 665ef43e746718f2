"""The code location: every asset family's ``defs`` merged, plus the shared resources."""

from __future__ import annotations

import importlib
import os

# OpenMP threads that busy-wait starve each other on a small shared machine (a 2 s fit took 60 s);
# set before scikit-learn loads, inherited by every step process that re-imports this module.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import dagster as dg  # noqa: E402

from playlist_assets.defs.resources import build_resources  # noqa: E402

# One module per asset family; each exposes ``defs``. Order is the lineage, top to bottom.
FAMILY_MODULES: tuple[str, ...] = (
    "playlist_assets.defs.catalogue",
    "playlist_assets.defs.feed",
    "playlist_assets.defs.checks",
    "playlist_assets.defs.songs",
    "playlist_assets.defs.training",
    "playlist_assets.defs.serving",
    "playlist_assets.defs.fresh",
    "playlist_assets.defs.playlists",
    "playlist_assets.defs.monitoring",
    "playlist_assets.defs.dashboard",
)


def build_defs() -> dg.Definitions:
    families = [importlib.import_module(name).defs for name in FAMILY_MODULES]
    return dg.Definitions.merge(
        *families,
        # Steps mostly queue for the single DuckDB writer anyway, so one process per run is
        # faster (imports paid once) and lighter than a process per step. Runs still go in
        # parallel, and the "duckdb" pool keeps them from colliding on the file.
        dg.Definitions(resources=build_resources(), executor=dg.in_process_executor),
    )


defs = build_defs()
