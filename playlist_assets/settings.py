"""Where the embedded defaults live and which environment variables override them.

Everything the project writes by default sits under one data folder so a user can
wipe or mount it as a whole. Paths are resolved on each call (never cached at import)
so every process of a multiprocess run sees the same folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from playlist_assets.lib.constants import DataFolder

DATA_HOME_ENV = "PLAYLIST_ASSETS_HOME"
TRACKS_CSV_ENV = "PLAYLIST_TRACKS_CSV"
MPD_PATH_ENV = "PLAYLIST_MPD_PATH"
GENRES_ENV = "PLAYLIST_GENRES"
MLFLOW_URI_ENV = "MLFLOW_TRACKING_URI"
MLFLOW_UI_URL_ENV = "MLFLOW_UI_URL"
PARTITIONS_START_ENV = "PLAYLIST_PARTITIONS_START"
DAGSTER_HOME_ENV = "DAGSTER_HOME"

# The hourly feed (defs/feed_resources.py): which backend, the replay's knobs, Spotify access.
FEED_ENV = "PLAYLIST_FEED"
REPLAY_MODE_ENV = "PLAYLIST_REPLAY_MODE"
REPLAY_DRIFT_FEATURES_ENV = "PLAYLIST_REPLAY_DRIFT_FEATURES"
REPLAY_DRIFT_START_ENV = "PLAYLIST_REPLAY_DRIFT_START"
REPLAY_DRIFT_STRENGTH_ENV = "PLAYLIST_REPLAY_DRIFT_STRENGTH"
SPOTIFY_CLIENT_ID_ENV = "SPOTIPY_CLIENT_ID"  # spotipy's own names, so one setting serves both
SPOTIFY_CLIENT_SECRET_ENV = "SPOTIPY_CLIENT_SECRET"
# Endpoints that receive the client credentials: deployment configuration, never run config.
SPOTIFY_API_URL_ENV = "SPOTIFY_API_URL"
SPOTIFY_TOKEN_URL_ENV = "SPOTIFY_TOKEN_URL"

DEFAULT_PARTITIONS_START = "2026-11-01-00:00"
# The hourly assets carry this tag: `--select 'not tag:cadence=hourly'` is the whole unpartitioned
# graph (`--select '*'` is refused once partitioned assets exist), and a new hourly asset joins
# the hourly runs by carrying it.
HOURLY_TAGS = {"cadence": "hourly"}
HOURLY_SELECTION = "tag:cadence=hourly"
UNPARTITIONED_SELECTION = f"not {HOURLY_SELECTION}"

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


def data_folder() -> DataFolder:
    """The data folder's layout (``lib.constants.DataFolder``) at :func:`data_home`."""
    return DataFolder.at(data_home())


def warehouse_path() -> Path:
    return data_folder().warehouse


def models_dir() -> Path:
    return data_folder().models


def mlflow_dir() -> Path:
    return data_folder().mlflow


def default_mlflow_uri() -> str:
    return f"sqlite:///{data_folder().mlflow_db}"


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
    return data_folder().mlflow_artifacts


def dagster_home() -> Path:
    """``$DAGSTER_HOME``, else ``dagster_home/`` in the data folder (where the scripts put it)."""
    raw = os.environ.get(DAGSTER_HOME_ENV)
    return Path(raw).expanduser().resolve() if raw else data_folder().dagster_home


def sample_dir() -> Path:
    return data_folder().sample


def reports_dir() -> Path:
    return data_folder().reports


def landing_dir() -> Path:
    return data_folder().landing


def configured_genres() -> tuple[str, ...]:
    """Genres the songs base is restricted to (``$PLAYLIST_GENRES``, comma separated)."""
    raw = os.environ.get(GENRES_ENV, "").strip()
    if not raw:
        return DEFAULT_GENRES
    return tuple(g.strip() for g in raw.split(",") if g.strip())


def partitions_start() -> str:
    """First hour of the hourly partitions (``$PLAYLIST_PARTITIONS_START``, ``YYYY-MM-DD-HH:MM``)."""
    return os.environ.get(PARTITIONS_START_ENV, "").strip() or DEFAULT_PARTITIONS_START


def spotify_api_url() -> str | None:
    """The Spotify Web API base URL (``$SPOTIFY_API_URL``); ``None``: Spotify's own."""
    return os.environ.get(SPOTIFY_API_URL_ENV, "").strip() or None


def spotify_token_url() -> str | None:
    """The client-credentials token URL (``$SPOTIFY_TOKEN_URL``); ``None``: Spotify's own."""
    return os.environ.get(SPOTIFY_TOKEN_URL_ENV, "").strip() or None


# The live dashboard (`playlist-assets dashboard`): the token a non-loopback page asks for, and
# the file its pre-heated kernel touches when ready.
DASHBOARD_TOKEN_ENV = "PLAYLIST_DASHBOARD_TOKEN"
DASHBOARD_READY_FILE_ENV = "PLAYLIST_DASHBOARD_READY_FILE"
