"""Sample tracks in the Kaggle "Spotify Tracks" format, drawn from each genre's profile."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from playlist_assets.lib.sample_data.names import ArtistPool, artist_pool, names_block, track_ids
from playlist_assets.lib.sample_data.profiles import (
    KEY_SHARES,
    LATENT,
    MOODS,
    NEIGHBOURS,
    PROFILES,
    SPREAD,
    genre_profile,
    latent_to_features,
    rng_for,
    round_sig,
    sigmoid,
)
from playlist_assets.lib.schema import KAGGLE_COLUMNS

_SHARED_SHARE = 0.03


_MIN_INSTRUMENTAL_SHARE = 0.03


_ZERO_SCALE = 0.2

# How strongly each LATENT feature follows a per-track "intensity" factor (energy and
# loudness up, acousticness down).
_INTENSITY = np.array([0.1, 0.35, 0.35, 0.0, -0.3, 0.0, 0.15, 0.1])


def genre_block(
    genre: str, n: int, seed: int, stream: str, pool: ArtistPool
) -> dict[str, np.ndarray]:
    """``n`` tracks of one genre as columns: moods, audio features, artists, names, popularity.

    One function because every column is drawn from the same random stream in a fixed order:
    splitting it would make the order (and so every generated sample) easy to change by accident.
    """
    prof = genre_profile(genre)
    rng = rng_for(seed, stream, genre)
    mood_idx = rng.choice(len(prof.moods), size=n, p=prof.mood_shares)
    moods = np.array(prof.moods)[mood_idx]
    spec = [MOODS[m] for m in prof.moods]
    intensity = rng.standard_normal(n)[:, None]
    noise = rng.standard_normal((n, len(LATENT)))
    u = prof.centres[mood_idx] + prof.within * (
        _INTENSITY * intensity + np.sqrt(1 - _INTENSITY**2) * noise
    )
    feats = latent_to_features(prof.mu, prof.sd, SPREAD * u)

    p_high, hi_mu, hi_sd, lo_zero, lo_mu, lo_sd = prof.instr
    instr_shift = np.array([s[1] for s in spec])[mood_idx]
    p_mood = sigmoid(np.log(p_high / (1 - p_high)) + instr_shift)
    # A genre's one-in-a-hundred instrumental track would sit 15 standard deviations out and
    # take a cluster of its own: keep the instrumental part only where it is common, and the
    # near-zero part below 0.01, so the genre's clusters are its moods, not its outliers.
    high = (rng.random(n) < p_mood) & (p_high >= _MIN_INSTRUMENTAL_SHARE)
    high_val = sigmoid(rng.normal(hi_mu, hi_sd, n))
    # Exact zeros are rarer than in the real file (a point mass is another thing a full-
    # covariance mixture collapses onto), and the near-zero level follows the mood.
    log_low = lo_mu + lo_sd * (0.5 * instr_shift + 0.85 * rng.standard_normal(n))
    low_val = np.where(rng.random(n) < lo_zero * _ZERO_SCALE, 0.0, 10 ** np.minimum(log_low, -2.0))
    instrumental = np.clip(np.where(high, high_val, low_val), 0.0, 0.99)
    instrumental = np.where(high, np.maximum(instrumental, 0.31), np.minimum(instrumental, 0.29))

    p_zero, pop_mu, pop_sd = prof.popularity
    popularity = np.clip(np.rint(rng.normal(pop_mu, pop_sd, n)), 1, 100).astype(np.int64)
    popularity[rng.random(n) < p_zero] = 0
    duration = np.clip(np.exp(rng.normal(*prof.duration, n)), 30_000, 1_200_000).astype(np.int64)

    major = np.clip(prof.major + np.array([s[2] for s in spec])[mood_idx], 0.02, 0.98)
    explicit = rng.random(n) < prof.explicit * np.array([s[3] for s in spec])[mood_idx]
    key = rng.choice(12, size=n, p=np.array(KEY_SHARES) / sum(KEY_SHARES))
    key[rng.random(n) < 0.002] = -1
    time_signature = rng.choice(np.array([0, 1, 3, 4, 5]), size=n, p=prof.time_signature)

    artists, albums, titles = names_block(rng, genre, pool, n, moods, prof.featuring)
    return {
        "track_id": track_ids(rng, n),
        "artists": np.array(artists, dtype=object),
        "album_name": np.array(albums, dtype=object),
        "track_name": np.array(titles, dtype=object),
        "popularity": popularity,
        "duration_ms": duration,
        "explicit": explicit,
        "danceability": np.round(feats["danceability"], 3),
        "energy": np.round(feats["energy"], 3),
        "key": key.astype(np.int64),
        "loudness": np.round(feats["loudness"], 3),
        "mode": (rng.random(n) < major).astype(np.int64),
        "speechiness": round_sig(feats["speechiness"]),
        "acousticness": round_sig(feats["acousticness"]),
        "instrumentalness": round_sig(instrumental),
        "liveness": round_sig(feats["liveness"]),
        "valence": np.round(feats["valence"], 3),
        "tempo": np.round(feats["tempo"], 3),
        "time_signature": time_signature.astype(np.int64),
        "track_genre": np.full(n, genre, dtype=object),
    }


def _share_across_genres(
    columns: dict[str, np.ndarray], genres: list[str], n: int, rng: np.random.Generator
) -> None:
    """List ~3% of tracks under a second genre too, as the real file does (in place).

    The copy replaces a row of the neighbour genre, so every genre keeps ``n`` rows.
    """
    start = {g: i * n for i, g in enumerate(genres)}
    taken = np.zeros(len(genres) * n, dtype=bool)
    src_rows, dest_rows = [], []
    for genre in genres:
        targets = [g for g in NEIGHBOURS.get(genre, ()) if g in start]
        n_share = int(round(_SHARED_SHARE * n / 2))
        if not targets or n_share == 0:
            continue
        for row in start[genre] + rng.choice(n, size=n_share, replace=False):
            target = targets[int(rng.integers(len(targets)))]
            free = start[target] + np.flatnonzero(~taken[start[target] : start[target] + n])
            if taken[row] or len(free) == 0:
                continue
            dest = int(free[int(rng.integers(len(free)))])
            taken[[row, dest]] = True
            src_rows.append(row)
            dest_rows.append(dest)
    for name, values in columns.items():
        if name != "track_genre":
            values[dest_rows] = values[src_rows]


def generate_tracks(
    n_per_genre: int, genres: Sequence[str], seed: int = 0, *, stream: str = "catalogue"
) -> pd.DataFrame:
    """Tracks in the Kaggle "Spotify Tracks" format, ``n_per_genre`` rows per genre.

    ``stream`` names an independent draw with the same artists (the replay pool uses its own),
    so two streams never share track ids but read like the same music scene.
    """
    genres = list(dict.fromkeys(genres))
    unknown = [g for g in genres if g not in PROFILES]
    if unknown:
        raise ValueError(f"no sample profile for genre(s) {unknown}; known: {sorted(PROFILES)}")
    if n_per_genre < 1:
        raise ValueError(f"n_per_genre must be at least 1, got {n_per_genre}")
    pool_size = max(4, n_per_genre // 5)
    blocks = [
        genre_block(g, n_per_genre, seed, stream, artist_pool(seed, g, pool_size)) for g in genres
    ]
    columns = {
        name: np.concatenate([np.asarray(b[name]) for b in blocks]) for name in KAGGLE_COLUMNS
    }
    _share_across_genres(columns, genres, n_per_genre, rng_for(seed, stream, "shared"))
    return pd.DataFrame(columns)
