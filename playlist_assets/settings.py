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


# Spotify Web API: the app's client credentials, and the API / token URLs when a proxy or a local
# stand-in replaces Spotify's (deployment configuration: these URLs receive the credentials).
SPOTIFY_CLIENT_ID_ENV = "SPOTIPY_CLIENT_ID"
SPOTIFY_CLIENT_SECRET_ENV = "SPOTIPY_CLIENT_SECRET"
SPOTIFY_API_URL_ENV = "SPOTIFY_API_URL"
SPOTIFY_TOKEN_URL_ENV = "SPOTIFY_TOKEN_URL"

# The live dashboard (`playlist-assets dashboard`): the token a non-loopback page asks for, and
# the file its pre-heated kernel touches when ready.
DASHBOARD_TOKEN_ENV = "PLAYLIST_DASHBOARD_TOKEN"
DASHBOARD_READY_FILE_ENV = "PLAYLIST_DASHBOARD_READY_FILE"
