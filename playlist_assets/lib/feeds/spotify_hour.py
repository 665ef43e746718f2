"""One hour of the Spotify feed: search each genre, fetch audio features, Kaggle-shaped rows.

The calls go through ``SpotifyFeedClient`` (``spotify.py``), so the whole hour shares one time
budget and every failure is raised as one of its errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from playlist_assets.lib.feeds.normalize import (
    FeedBatch,
    empty_tracks,
    normalize_tracks,
    reject_frame,
    spotify_rows,
)
from playlist_assets.lib.feeds.spotify import SEARCH_MAX_OFFSET, SpotifyFeedClient

SOURCE = "spotify:search"


def search_query(genre: str, year: int) -> str:
    return f'genre:"{genre}" year:{year}'


def hour_offset(hour: datetime, per_genre: int) -> int:
    """Where this hour starts in the search results, so successive hours see different tracks."""
    hour_of_year = (hour - datetime(hour.year, 1, 1)).days * 24 + hour.hour
    span = max(1, SEARCH_MAX_OFFSET - per_genre)
    return (hour_of_year * per_genre) % span


def collect_hour(
    client: SpotifyFeedClient,
    genres: Sequence[str],
    hour: datetime,
    per_genre: int,
    year: int | None = None,
) -> FeedBatch:
    """Search each genre, fetch audio features, and return Kaggle-shaped rows for the hour.

    The source of each row is ``spotify:search``. Tracks Spotify has no audio features for
    are kept aside as rejects with the reason.
    """
    year = year or hour.year
    offset = hour_offset(hour, per_genre)
    tracks: list[dict[str, Any]] = []
    genre_of: dict[str, str] = {}
    for genre in genres:
        for item in client.search_tracks(search_query(genre, year), per_genre, offset):
            if item["id"] in genre_of:
                continue  # first genre wins, as in the Kaggle file's per-genre rows
            genre_of[item["id"]] = genre
            tracks.append(item)
    if not tracks:
        return FeedBatch(
            tracks=empty_tracks(),
            sources=[SOURCE],
            notes=[f"search found no tracks for {len(genres)} genres in {year}"],
        )
    features = client.audio_features([t["id"] for t in tracks])
    rows, missing = spotify_rows(tracks, features, genre_of)
    batch = normalize_tracks(rows, SOURCE)
    batch.sources = [SOURCE, f"spotify:audio-features ({len(features)} tracks)"]
    if missing:
        kept_aside = reject_frame(
            SOURCE,
            [reason for _, reason in missing],
            pd.DataFrame(
                [{"track_id": t.get("id"), "track_name": t.get("name")} for t, _ in missing]
            ),
        )
        batch.rejects = pd.concat([batch.rejects, kept_aside], ignore_index=True)
    return batch
