"""The sample generator's per-genre model: parameters, the latent feature space, moods.

The parameter tables (measured on the real Kaggle file) live in ``sample_generator.json``,
shipped with the package; this module turns them into each genre's profile and maps between
Kaggle feature units and the latent space the generator draws in.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from importlib.resources import files

import numpy as np
import pandas as pd

# Bump when the generator's output changes, so ensure_sample() rewrites old samples.
GENERATOR_VERSION = 2

PARAMS: dict = json.loads(
    files("playlist_assets.lib.sample_data").joinpath("sample_generator.json").read_text("utf-8")
)
PROFILES: dict[str, dict[str, list[float]]] = PARAMS["profiles"]
KEY_SHARES: list[float] = PARAMS["key_shares"]
# mood -> (offsets in genre std per LATENT feature, instrumental logit shift, P(major) shift,
# explicit-rate factor).
MOODS: dict[str, list] = PARAMS["moods"]
GENRE_MOODS: dict[str, list[list]] = PARAMS["genre_moods"]  # genre -> [[mood, share], ...]
NEIGHBOURS: dict[str, list[str]] = PARAMS["neighbours"]  # genres a track may also be under

# Audio features drawn in a latent space where the genre's distribution is close to normal:
# logit for [0, 1] features, log above a floor for the skewed ones, log(-dB) for loudness.
LATENT: tuple[str, ...] = (
    "danceability",
    "energy",
    "loudness",
    "speechiness",
    "acousticness",
    "liveness",
    "valence",
    "tempo",
)
_LOGIT = ("danceability", "energy", "acousticness", "valence")
_FLOORS = {"speechiness": 0.022, "liveness": 0.02}
_TOP = 0.996  # the largest value of any [0, 1] feature in the real file

# Within-mood spread (in genre standard deviations).
_WITHIN = 0.5
# Genres 10% tighter than measured: with the moods' sharper edges, this puts the genre
# classifier's accuracy where the real file's is (about 0.6).
SPREAD = 0.9


@dataclass(frozen=True)
class GenreProfile:
    mu: np.ndarray
    sd: np.ndarray
    instr: tuple[float, ...]
    duration: tuple[float, float]
    popularity: tuple[float, float, float]
    explicit: float
    major: float
    featuring: float
    time_signature: np.ndarray  # shares of 0, 1, 3, 4, 5
    moods: tuple[str, ...]
    mood_shares: np.ndarray
    centres: np.ndarray  # (moods, LATENT) latent z-scores, centred on the genre
    within: np.ndarray  # (LATENT,) spread inside a mood


@functools.cache
def genre_profile(genre: str) -> GenreProfile:
    row = PROFILES[genre]
    latent = np.array(row["latent"]).reshape(-1, 2)
    ts = np.array(row["ts"])
    moods = GENRE_MOODS[genre]
    shares = np.array([w for _, w in moods])
    shares = shares / shares.sum()
    # Centre the moods so the genre keeps its real mean, and spread each mood just enough
    # that the genre keeps its real variance (never tighter than _WITHIN).
    offsets = np.array([MOODS[m][0] for m, _ in moods])
    centres = offsets - shares @ offsets
    between = shares @ centres**2
    return GenreProfile(
        mu=latent[:, 0],
        sd=latent[:, 1],
        instr=row["instr"],
        duration=row["duration"],  # type: ignore[arg-type]
        popularity=row["popularity"],  # type: ignore[arg-type]
        explicit=row["shares"][0],
        major=row["shares"][1],
        featuring=row["shares"][2],
        time_signature=np.concatenate([[max(0.0, 1 - ts.sum())], ts]) / max(1.0, ts.sum()),
        moods=tuple(m for m, _ in moods),
        mood_shares=shares,
        centres=centres,
        within=np.sqrt(np.clip(1.0 - between, _WITHIN**2, 1.0)),
    )


def rng_for(seed: int, *stream: str) -> np.random.Generator:
    """An independent generator per (seed, stream), stable across runs and platforms."""
    words = [
        int.from_bytes(hashlib.blake2b(s.encode(), digest_size=4).digest(), "big") for s in stream
    ]
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *words]))


def sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def round_sig(x: np.ndarray, digits: int = 3) -> np.ndarray:
    """Round to significant digits, as the real file stores acousticness (0.0322, 1.01e-06)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        mag = np.floor(np.log10(np.abs(x)))
    mag[~np.isfinite(mag)] = 0
    factor = 10.0 ** (digits - 1 - mag)
    return np.round(x * factor) / factor


def latent_to_features(genre_mu: np.ndarray, genre_sd: np.ndarray, u: np.ndarray) -> dict:
    """Map latent z-scores (n, len(LATENT)) to feature values in the Kaggle units."""
    v = genre_mu + genre_sd * u
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(LATENT):
        col = v[:, j]
        if name in _LOGIT:
            out[name] = _TOP * sigmoid(col)
        elif name in _FLOORS:
            # tanh: the identity for typical values, saturating below _TOP instead of piling
            # up at a clip.
            room = _TOP - _FLOORS[name]
            out[name] = _FLOORS[name] + room * np.tanh(np.exp(col) / room)
        elif name == "loudness":
            # Latent up = louder, i.e. a smaller log(-dB).
            out[name] = -np.clip(np.exp(genre_mu[j] - genre_sd[j] * u[:, j]), 0.3, 50.0)
        else:
            # Fold the rare very slow draws back up (real tempi below 50 BPM are rare).
            out[name] = np.clip(np.where(col < 50.0, 100.0 - col, col), 50.0, 220.0)
    return out


def features_to_latent(tracks: pd.DataFrame, prof: GenreProfile) -> np.ndarray:
    """Inverse of latent_to_features: the tracks' z-scores in their genre's latent space."""
    cols = []
    for name in LATENT:
        x = tracks[name].to_numpy(dtype=float)
        if name in _LOGIT:
            x = np.clip(x / _TOP, 1e-3, 1 - 1e-3)
            cols.append(np.log(x / (1 - x)))
        elif name in _FLOORS:
            room = _TOP - _FLOORS[name]
            y = np.clip(x - _FLOORS[name], 1e-3, room - 1e-3)
            cols.append(np.log(room * np.arctanh(y / room)))
        elif name == "loudness":
            cols.append(np.log(np.clip(-x, 0.1, None)))
        else:
            cols.append(x)
    v = np.column_stack(cols)
    u = (v - prof.mu) / (prof.sd * SPREAD)
    u[:, LATENT.index("loudness")] *= -1
    return u


def assign_moods(tracks: pd.DataFrame) -> np.ndarray:
    """Each track's nearest mood of its genre ("mix" for genres without a profile).

    Works on any Kaggle-format table (also the real file), so playlists can be built over it.
    """
    moods = np.full(len(tracks), "mix", dtype=object)
    genres = tracks["track_genre"].to_numpy()
    for genre in pd.unique(genres):
        if genre not in PROFILES:
            continue
        rows = np.flatnonzero(genres == genre)
        prof = genre_profile(genre)
        u = features_to_latent(tracks.iloc[rows], prof)
        dist = (((u[:, None, :] - prof.centres[None, :, :]) / prof.within) ** 2).sum(axis=2)
        moods[rows] = np.array(prof.moods, dtype=object)[dist.argmin(axis=1)]
    return moods
