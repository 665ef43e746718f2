"""Hourly feeds of new tracks (pure code): replay (``replay`` pool, ``fresh`` tracks), landing
folder, Spotify Web API.

Every feed returns a ``FeedBatch``: the Kaggle columns, typed, and the rows kept aside with
their reason. The Dagster wiring lives in ``playlist_assets.defs.feed_resources`` (one resource
class per feed) and ``playlist_assets.defs.feed`` (the asset).
"""

from playlist_assets.lib.feeds.landing import hour_folder_name, read_landing_hour
from playlist_assets.lib.feeds.normalize import (
    FEED_DTYPES,
    REJECT_COLUMNS,
    FeedBatch,
    empty_rejects,
    empty_tracks,
    normalize_tracks,
)
from playlist_assets.lib.feeds.replay import DriftSpec, ReplayError, load_pool, replay_hour

__all__ = [
    "FEED_DTYPES",
    "REJECT_COLUMNS",
    "DriftSpec",
    "FeedBatch",
    "ReplayError",
    "empty_rejects",
    "empty_tracks",
    "hour_folder_name",
    "load_pool",
    "normalize_tracks",
    "read_landing_hour",
    "replay_hour",
]
