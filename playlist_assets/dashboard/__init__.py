"""The dashboard: one notebook, executed as the ``dashboard`` asset and served live by Voila.

The notebook only reads (warehouse, MLflow, Dagster instance); the reading and the figures live in
plain modules here so they are tested without a kernel.
"""

from __future__ import annotations

from pathlib import Path

NOTEBOOK_PATH = Path(__file__).with_name("dashboard.ipynb")
