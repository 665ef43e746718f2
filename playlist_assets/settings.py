"""Where the embedded defaults live and which environment variables override them.

Everything the project writes by default sits under one data folder so a user can
wipe or mount it as a whole. Paths are resolved on each call (never cached at import)
so every process of a multiprocess run sees the same folder.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_HOME_ENV = "PLAYLIST_ASSETS_HOME"
TRACKS_CSV_ENV = "PLAYLIST_TRACKS_CSV"
MPD_PATH_ENV = "PLAYLIST_MPD_PATH"
GENRES_ENV = "PLAYLIST_GENRES"
MLFLOW_URI_ENV = "MLFLOW_TRACKING_URI"
MLFLOW_UI_URL_ENV = "MLFLOW_UI_URL"
PARTITIONS_START_ENV = "PLAYLIST_PARTITIONS_START"

DEFAULT_PARTITIONS_START = "2026-11-01-00:00"

DEFAULT_GENRES: tuple[str, ...] = (
    "alternative",
    "classical",
    "country",
    "edm",
    "hip-hop",
    "jazz",
    "latin",
    "pop",
    "r-n-b",
    "rock",
)


def data_home() -> Path:
    """The data folder: ``$PLAYLIST_ASSETS_HOME`` or ``.data`` in the working directory."""
    return Path(os.environ.get(DATA_HOME_ENV) or ".data").expanduser().resolve()


def warehouse_path() -> Path:
    return data_home() / "warehouse.duckdb"


def models_dir() -> Path:
    return data_home() / "models"


def mlflow_dir() -> Path:
    return data_home() / "mlflow"


def default_mlflow_uri() -> str:
    return f"sqlite:///{mlflow_dir() / 'mlflow.db'}"


def mlflow_tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI`` (deployment configuration: it may carry credentials) or the
    embedded SQLite backend under the data folder."""
    return os.environ.get(MLFLOW_URI_ENV, "").strip() or default_mlflow_uri()


def mlflow_ui_url() -> str | None:
    """Where a browser opens MLflow: ``$MLFLOW_UI_URL``, else an http(s) tracking URI without
    its credentials, else None (no UI known: metadata shows plain ids)."""
    from urllib.parse import urlsplit, urlunsplit

    explicit = os.environ.get(MLFLOW_UI_URL_ENV, "").strip()
    if explicit:
        return explicit.rstrip("/")
    parts = urlsplit(mlflow_tracking_uri())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def mlflow_artifacts_dir() -> Path:
    return mlflow_dir() / "artifacts"


def sample_dir() -> Path:
    return data_home() / "sample"


def reports_dir() -> Path:
    return data_home() / "reports"


def landing_dir() -> Path:
    return data_home() / "landing"


def configured_genres() -> tuple[str, ...]:
    """Genres the songs base is restricted to (``$PLAYLIST_GENRES``, comma separated)."""
    raw = os.environ.get(GENRES_ENV, "").strip()
    if not raw:
        return DEFAULT_GENRES
    return tuple(g.strip() for g in raw.split(",") if g.strip())


def partitions_start() -> str:
    """First hour of the hourly partitions (``$PLAYLIST_PARTITIONS_START``, ``YYYY-MM-DD-HH:MM``)."""
    return os.environ.get(PARTITIONS_START_ENV, "").strip() or DEFAULT_PARTITIONS_START
