"""Synthetic audio features for the drift tests: a few separable genres, and a drift to inject."""

from __future__ import annotations

import numpy as np
import pandas as pd

GENRES = ("classical", "edm", "jazz")
# Per-genre centres of (danceability, energy, acousticness, loudness): separable, like the real data.
CENTRES = {
    "classical": (0.3, 0.2, 0.9, -20.0),
    "edm": (0.7, 0.85, 0.05, -5.0),
    "jazz": (0.5, 0.4, 0.6, -12.0),
}


def inject_drift(tracks: pd.DataFrame) -> pd.DataFrame:
    """Music gets quieter, calmer and more acoustic: four features move far."""
    drifted = tracks.copy()
    drifted["energy"] = (drifted["energy"] * 0.4).clip(0, 1)
    drifted["danceability"] = (drifted["danceability"] - 0.25).clip(0, 1)
    drifted["acousticness"] = (drifted["acousticness"] + 0.5).clip(0, 1)
    drifted["loudness"] = drifted["loudness"] - 10
    return drifted


def make_tracks(n: int, seed: int, drift: bool = False) -> pd.DataFrame:
    """Kaggle-like audio features for a few genres (deterministic per seed)."""
    rng = np.random.default_rng(seed)
    genre = rng.choice(GENRES, size=n)
    centre = np.array([CENTRES[g] for g in genre]).reshape(n, 4)
    frame = pd.DataFrame(
        {
            "track_id": [f"t{seed}_{i}" for i in range(n)],
            "danceability": np.clip(rng.normal(centre[:, 0], 0.1), 0, 1),
            "energy": np.clip(rng.normal(centre[:, 1], 0.1), 0, 1),
            "key": rng.integers(0, 12, n),
            "loudness": rng.normal(centre[:, 3], 2.0),
            "mode": rng.integers(0, 2, n),
            "speechiness": rng.beta(1.2, 15, n),
            "acousticness": np.clip(rng.normal(centre[:, 2], 0.1), 0, 1),
            "instrumentalness": np.where(rng.random(n) < 0.4, 0.0, rng.beta(0.5, 2, n)),
            "liveness": rng.beta(2, 8, n),
            "valence": rng.beta(2, 2, n),
            "tempo": rng.normal(120, 25, n),
            "time_signature": rng.choice([3, 4, 5], size=n, p=[0.1, 0.85, 0.05]),
            "track_genre": genre,
        }
    )
    return inject_drift(frame) if drift else frame
