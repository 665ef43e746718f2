"""Fresh replay: new, realistic tracks every hour, so a simulated year grows the songs base.

The pool replay redraws a fixed held-back pool, so after a few days nearly every row it feeds is
a track the songs base already has. The fresh mode draws each hour's tracks from the sample
generator's per-genre distributions instead (features, moods, popularity, names), with fresh
track ids: about 40 new songs an hour, some 350,000 in a year. The scene is the sample's (the
same artists as the catalogue), with now and then a new artist or a new album.

Deterministic by partition key: re-materializing an hour gives the same rows. Only the hour's
tracks are generated (the artists of each genre are built once per process), so an hour costs
milliseconds.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from playlist_assets.lib.feeds.normalize import FEED_COLUMNS, FEED_DTYPES, FeedBatch, empty_tracks
from playlist_assets.lib.feeds.replay import REPLAY_SOURCE, DriftSpec, ReplayError, apply_drift
from playlist_assets.lib.sample_data.names import (
    ArtistPool,
    artist_pool,
    random_album,
    random_artist,
)
from playlist_assets.lib.sample_data.profiles import PROFILES, rng_for
from playlist_assets.lib.sample_data.tracks import generate_tracks, genre_block
from playlist_assets.lib.schema import KAGGLE_COLUMNS

# The default sample's seed and artists per genre (300 tracks // 5): the catalogue's scene.
SCENE_SEED = 42
SCENE_ARTISTS = 60
NEW_ARTIST_SHARE = 0.06  # tracks by an artist the scene has not seen, on a debut album
NEW_ALBUM_SHARE = 0.08  # tracks by a known artist from an album not seen before


@functools.cache
def scene(genre: str) -> ArtistPool:
    """The genre's artists and albums, as in the sample catalogue (built once per process)."""
    return artist_pool(SCENE_SEED, genre, SCENE_ARTISTS)


def fresh_hour(
    genres: Sequence[str],
    partition_key: str,
    hour: datetime,
    tracks_per_hour: int,
    drift: DriftSpec | None = None,
) -> FeedBatch:
    """``tracks_per_hour`` new tracks spread over ``genres``: the same rows on every call.

    Called like ``replay_hour`` with the genres in the pool's place; the tracks depend on
    ``partition_key`` only, ``hour`` (its start) decides whether ``drift`` applies.
    """
    if tracks_per_hour < 0:
        raise ReplayError(f"tracks_per_hour must be >= 0, got {tracks_per_hour}")
    usable = [g for g in dict.fromkeys(genres) if g in PROFILES]
    if not usable:
        raise ReplayError(
            f"fresh replay has no sample profile for the genres {', '.join(genres) or '(none)'}; "
            f"known: {', '.join(sorted(PROFILES))}"
        )
    rng = rng_for(SCENE_SEED, "fresh", partition_key)
    counts = rng.multinomial(tracks_per_hour, np.full(len(usable), 1 / len(usable)))
    stream = f"fresh:{partition_key}"
    blocks = [
        genre_block(genre, int(n), SCENE_SEED, stream, scene(genre))
        for genre, n in zip(usable, counts, strict=True)
        if n
    ]
    if not blocks:
        return FeedBatch(tracks=empty_tracks(), sources=[REPLAY_SOURCE])
    columns = {c: np.concatenate([np.asarray(b[c]) for b in blocks]) for c in KAGGLE_COLUMNS}
    _new_releases(columns, rng)
    columns["source"] = np.full(len(columns["track_id"]), REPLAY_SOURCE, dtype=object)
    # Generated values are typed and in range already: no need for normalize_tracks' checks.
    dtypes = _feed_dtypes()
    tracks = pd.DataFrame({c: pd.array(columns[c], dtype=dtypes[c]) for c in FEED_COLUMNS})
    batch = FeedBatch(tracks=tracks, sources=[REPLAY_SOURCE])
    if drift is not None and drift.active(hour):
        batch.tracks = apply_drift(batch.tracks, reference(tuple(usable)), drift)
        batch.notes.append(f"drift: {', '.join(drift.features)} shifted by {drift.strength:+g} std")
    return batch


def _new_releases(columns: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """Give a few tracks a debut artist, and a few others a new album (in place)."""
    artists, albums = columns["artists"], columns["album_name"]
    genres = columns["track_genre"]
    draw = rng.random(len(artists))
    for i in np.flatnonzero(draw < NEW_ARTIST_SHARE + NEW_ALBUM_SHARE):
        genre = str(genres[i])
        lead, *guests = str(artists[i]).split(";")
        if draw[i] < NEW_ARTIST_SHARE:
            lead = random_artist(rng, genre)
            artists[i] = ";".join([lead, *guests])
        albums[i] = random_album(rng, genre, lead)


@functools.cache
def _feed_dtypes() -> dict[str, object]:
    """FEED_DTYPES resolved once (pandas parses a dtype string on every use)."""
    return {c: pd.api.types.pandas_dtype(d) for c, d in FEED_DTYPES.items()}


@functools.lru_cache(maxsize=8)
def reference(genres: tuple[str, ...]) -> pd.DataFrame:
    """What "one standard deviation" means for drift in fresh mode: a sample of the genres."""
    return generate_tracks(50, genres, SCENE_SEED, stream="fresh-reference")
