"""Where an input file comes from: run config, else an environment variable, else the sample."""

import os
from pathlib import Path

from playlist_assets import settings


def resolve_input(configured: str | None, env_name: str, sample_file: str) -> Path:
    """Config beats the environment; with neither, the deterministic sample is written on first
    use and its ``sample_file`` (``tracks_csv`` or ``playlists_json``) is the input."""
    chosen = configured or os.environ.get(env_name)
    if chosen:
        return Path(chosen).expanduser()
    from playlist_assets.lib.sample_data.generate import ensure_sample

    return Path(getattr(ensure_sample(settings.sample_dir()), sample_file))
