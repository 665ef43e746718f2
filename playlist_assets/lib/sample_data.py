"""Deterministic sample data: the embedded default catalogue, replay pool and playlists.

The whole graph must run with no download, so the project ships a generator instead of data.
Its output speaks the real formats (the Kaggle "Spotify Tracks" CSV and the Spotify Million
Playlist Dataset JSON), and its numbers carry the signals the models learn from in the real data:
genres differ the way real genres do, each genre holds a few moods (what the per-genre cluster
models find), and playlists repeat groups of songs (what co-occurrence learns).

Pure numpy/pandas; a seed fully determines every byte written.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from playlist_assets.lib.schema import KAGGLE_COLUMNS, TRACK_URI_PREFIX
from playlist_assets.settings import DEFAULT_GENRES

# Bump when the generator's output changes, so ensure_sample() rewrites old samples.
GENERATOR_VERSION = 2

# The default ten plus two more, so the configured-genre restriction has something to drop.
SAMPLE_GENRES: tuple[str, ...] = (*DEFAULT_GENRES, "acoustic", "ambient")

TRACKS_FILE = "spotify_tracks.csv"
REPLAY_FILE = "replay_pool.csv"
PLAYLISTS_FILE = "mpd.slice.sample.json"
MANIFEST_FILE = "sample_manifest.json"

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

# Per-genre parameters measured on the real Kaggle file (shared/data/spotify_tracks/dataset.csv.gz,
# 1,000 rows per genre; script: benchmarks/bench_sample_data.py --derive). Latent (mean, std) per
# LATENT feature: logit(x clipped to [1e-3, 1-1e-3]) for danceability/energy/acousticness/valence,
# log(x - floor) for speechiness/liveness, log(-loudness) for loudness, plain tempo (tempo > 0).
# instr = (share > 0.3, logit mean, logit std of that high part, share of exact zeros below,
# log10 mean, log10 std of the non-zero values below); duration = log(ms) mean/std;
# popularity = (share of zeros, mean, std of the rest); explicit/major/featuring = shares;
# time_signature = shares of 1, 3, 4, 5 (the rest is 0).
# fmt: off
_PROFILE_TABLE: dict[str, dict[str, tuple[float, ...]]] = {
    "alternative": {"latent": (0.27, 0.67, 1.23, 1.21, 1.731, 0.406, -3.59, 1.06, -3.32, 2.49, -2.02, 0.81, -0.01, 1.14, 122.2, 30.5), "instr": (0.048, 0.32, 0.78, 0.397, -3.48, 1.56), "duration": (12.279, 0.25), "popularity": (0.485, 47.3, 31.4), "shares": (0.164, 0.606, 0.131), "ts": (0.002, 0.064, 0.922, 0.012)},
    "classical":   {"latent": (-0.54, 0.69, -1.93, 1.41, 2.919, 0.446, -3.83, 0.62, 3.39, 1.67, -2.16, 0.65, -0.68, 1.49, 107.9, 31.0), "instr": (0.714, 2.02, 0.92, 0.259, -2.52, 1.58), "duration": (12.044, 0.785), "popularity": (0.398, 21.7, 18.9), "shares": (0.0, 0.745, 0.822), "ts": (0.042, 0.226, 0.691, 0.041)},
    "country":     {"latent": (0.24, 0.54, 0.48, 1.07, 1.911, 0.379, -4.34, 0.87, -1.33, 2.08, -2.11, 0.67, 0.13, 1.16, 124.0, 31.8), "instr": (0.005, -0.04, 1.25, 0.604, -4.09, 1.4), "duration": (12.214, 0.206), "popularity": (0.587, 41.2, 28.2), "shares": (0.03, 0.889, 0.165), "ts": (0.001, 0.116, 0.877, 0.006)},
    "edm":         {"latent": (0.65, 0.51, 1.25, 0.72, 1.599, 0.396, -3.45, 0.86, -2.89, 1.69, -2.04, 0.77, -0.18, 0.98, 122.0, 22.3), "instr": (0.05, 0.67, 1.11, 0.465, -3.85, 1.63), "duration": (12.152, 0.191), "popularity": (0.362, 54.9, 24.8), "shares": (0.106, 0.521, 0.767), "ts": (0.001, 0.015, 0.984, 0.0)},
    "hip-hop":     {"latent": (1.12, 0.65, 0.88, 0.79, 1.727, 0.376, -2.67, 1.03, -2.12, 1.77, -2.07, 0.8, 0.26, 1.15, 116.8, 29.4), "instr": (0.01, 0.78, 0.99, 0.571, -3.84, 1.42), "duration": (12.202, 0.275), "popularity": (0.289, 53.1, 26.0), "shares": (0.319, 0.479, 0.472), "ts": (0.011, 0.023, 0.948, 0.018)},
    "jazz":        {"latent": (0.04, 0.65, -0.73, 1.0, 2.382, 0.367, -3.95, 0.84, 1.18, 1.57, -2.16, 0.69, -0.03, 1.31, 112.7, 31.5), "instr": (0.095, 1.45, 1.07, 0.48, -3.79, 1.48), "duration": (12.09, 0.356), "popularity": (0.681, 42.7, 21.0), "shares": (0.003, 0.756, 0.16), "ts": (0.017, 0.144, 0.807, 0.031)},
    "latin":       {"latent": (1.02, 0.59, 1.1, 0.76, 1.591, 0.37, -3.09, 0.99, -2.03, 1.5, -2.16, 0.76, 0.68, 1.11, 119.8, 32.7), "instr": (0.008, 1.05, 1.25, 0.499, -4.04, 1.33), "duration": (12.255, 0.195), "popularity": (0.588, 20.1, 30.6), "shares": (0.133, 0.55, 0.529), "ts": (0.002, 0.037, 0.957, 0.004)},
    "pop":         {"latent": (0.58, 0.63, 0.51, 0.9, 1.867, 0.394, -3.49, 1.11, -1.14, 2.02, -2.2, 0.66, 0.04, 1.03, 120.9, 31.1), "instr": (0.006, 0.92, 0.99, 0.558, -4.07, 1.45), "duration": (12.273, 0.25), "popularity": (0.182, 58.2, 28.3), "shares": (0.074, 0.509, 0.48), "ts": (0.026, 0.073, 0.892, 0.009)},
    "r-n-b":       {"latent": (0.51, 0.64, 0.72, 1.11, 1.943, 0.418, -3.49, 1.22, -1.04, 2.07, -1.88, 0.98, 0.8, 1.42, 124.0, 28.4), "instr": (0.004, 0.41, 1.06, 0.414, -3.81, 1.44), "duration": (12.257, 0.271), "popularity": (0.192, 45.4, 10.7), "shares": (0.088, 0.722, 0.144), "ts": (0.01, 0.1, 0.881, 0.009)},
    "rock":        {"latent": (0.18, 0.59, 0.94, 1.08, 1.821, 0.392, -4.07, 0.94, -2.55, 2.47, -2.23, 0.9, 0.26, 1.28, 126.3, 31.2), "instr": (0.017, 0.54, 1.08, 0.481, -3.19, 1.42), "duration": (12.261, 0.287), "popularity": (0.525, 40.0, 37.3), "shares": (0.043, 0.721, 0.093), "ts": (0.0, 0.086, 0.911, 0.003)},
    "acoustic":    {"latent": (0.21, 0.52, -0.3, 1.2, 2.166, 0.409, -4.22, 0.8, 0.15, 2.32, -2.21, 0.57, -0.33, 1.13, 119.0, 29.8), "instr": (0.044, 1.37, 1.29, 0.462, -3.88, 1.46), "duration": (12.242, 0.276), "popularity": (0.056, 45.0, 13.3), "shares": (0.052, 0.816, 0.126), "ts": (0.009, 0.101, 0.877, 0.013)},
    "ambient":     {"latent": (-0.64, 0.87, -1.68, 1.62, 2.821, 0.471, -4.16, 0.6, 2.03, 2.53, -2.39, 0.5, -1.93, 1.07, 111.4, 31.5), "instr": (0.778, 2.08, 0.89, 0.225, -2.79, 1.72), "duration": (12.27, 0.473), "popularity": (0.068, 47.4, 13.8), "shares": (0.005, 0.62, 0.284), "ts": (0.039, 0.264, 0.648, 0.046)},
}
# Shares of key 0..11 over the whole real file.
_KEY_SHARES = (0.115, 0.094, 0.102, 0.031, 0.079, 0.082, 0.069, 0.116, 0.065, 0.099, 0.065, 0.081)

# Mood archetypes: where a mood sits inside its genre, in genre standard deviations of each
# LATENT feature (danceability, energy, loudness, speechiness, acousticness, liveness, valence,
# tempo), then shifts of logit(P(instrumental)), P(major) and the explicit rate.
_MOODS: dict[str, tuple[tuple[float, ...], float, float, float]] = {
    "chill":   ((-0.60, -1.44, -1.32, -0.36,  1.32,  0.00, -0.36, -0.72),  1.0,  0.05, 0.5),
    "upbeat":  (( 1.20,  0.84,  0.72,  0.00, -0.72,  0.00,  1.44,  0.48), -0.5,  0.10, 1.0),
    "dark":    ((-0.48,  0.48,  0.24,  0.00, -0.48,  0.00, -1.68,  0.00),  0.3, -0.25, 1.3),
    "intense": ((-0.36,  1.32,  1.32,  0.24, -1.32,  0.00, -0.60,  1.08), -0.3, -0.05, 1.2),
    "live":    (( 0.00,  0.24, -0.36,  0.72,  0.48,  2.16,  0.24,  0.00), -0.5,  0.05, 0.8),
}
# fmt: on

# Which moods each genre holds, with their shares.
_GENRE_MOODS: dict[str, tuple[tuple[str, float], ...]] = {
    "alternative": (("upbeat", 0.40), ("dark", 0.35), ("chill", 0.25)),
    "classical": (("chill", 0.55), ("intense", 0.30), ("upbeat", 0.15)),
    "country": (("upbeat", 0.45), ("chill", 0.35), ("live", 0.20)),
    "edm": (("intense", 0.40), ("upbeat", 0.35), ("chill", 0.25)),
    "hip-hop": (("dark", 0.40), ("upbeat", 0.35), ("chill", 0.25)),
    "jazz": (("chill", 0.50), ("upbeat", 0.30), ("live", 0.20)),
    "latin": (("upbeat", 0.50), ("chill", 0.30), ("intense", 0.20)),
    "pop": (("upbeat", 0.45), ("chill", 0.30), ("dark", 0.25)),
    "r-n-b": (("chill", 0.45), ("upbeat", 0.35), ("live", 0.20)),
    "rock": (("intense", 0.40), ("upbeat", 0.35), ("chill", 0.25)),
    "acoustic": (("chill", 0.50), ("upbeat", 0.30), ("dark", 0.20)),
    "ambient": (("chill", 0.50), ("dark", 0.30), ("upbeat", 0.20)),
}

# Genres a track may also be listed under (the real file repeats some tracks across genres).
_NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "alternative": ("rock", "pop"),
    "classical": ("ambient", "jazz"),
    "country": ("rock", "acoustic", "pop"),
    "edm": ("pop", "hip-hop"),
    "hip-hop": ("r-n-b", "pop"),
    "jazz": ("r-n-b", "classical"),
    "latin": ("pop", "hip-hop"),
    "pop": ("r-n-b", "edm", "alternative"),
    "r-n-b": ("hip-hop", "pop"),
    "rock": ("alternative", "country"),
    "acoustic": ("pop", "country"),
    "ambient": ("classical", "edm"),
}
_SHARED_SHARE = 0.03
_MIN_INSTRUMENTAL_SHARE = 0.03
_ZERO_SCALE = 0.2
# Within-mood spread (in genre standard deviations) and how strongly each LATENT feature
# follows a per-track "intensity" factor (energy and loudness up, acousticness down).
_WITHIN = 0.5
# Genres 10% tighter than measured: with the moods' sharper edges, this puts the genre
# classifier's accuracy where the real file's is (about 0.6).
_SPREAD = 0.9
_INTENSITY = np.array([0.1, 0.35, 0.35, 0.0, -0.3, 0.0, 0.15, 0.1])

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_CHARS = np.array(list(BASE62))


@dataclass(frozen=True)
class _Profile:
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
def _profile(genre: str) -> _Profile:
    row = _PROFILE_TABLE[genre]
    latent = np.array(row["latent"]).reshape(-1, 2)
    ts = np.array(row["ts"])
    moods = _GENRE_MOODS[genre]
    shares = np.array([w for _, w in moods])
    shares = shares / shares.sum()
    # Centre the moods so the genre keeps its real mean, and spread each mood just enough
    # that the genre keeps its real variance (never tighter than _WITHIN).
    offsets = np.array([_MOODS[m][0] for m, _ in moods])
    centres = offsets - shares @ offsets
    between = shares @ centres**2
    return _Profile(
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


def _rng(seed: int, *stream: str) -> np.random.Generator:
    """An independent generator per (seed, stream), stable across runs and platforms."""
    words = [
        int.from_bytes(hashlib.blake2b(s.encode(), digest_size=4).digest(), "big") for s in stream
    ]
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *words]))


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def _round_sig(x: np.ndarray, digits: int = 3) -> np.ndarray:
    """Round to significant digits, as the real file stores acousticness (0.0322, 1.01e-06)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        mag = np.floor(np.log10(np.abs(x)))
    mag[~np.isfinite(mag)] = 0
    factor = 10.0 ** (digits - 1 - mag)
    return np.round(x * factor) / factor


def _latent_to_features(genre_mu: np.ndarray, genre_sd: np.ndarray, u: np.ndarray) -> dict:
    """Map latent z-scores (n, len(LATENT)) to feature values in the Kaggle units."""
    v = genre_mu + genre_sd * u
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(LATENT):
        col = v[:, j]
        if name in _LOGIT:
            out[name] = _TOP * _sigmoid(col)
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


def _features_to_latent(tracks: pd.DataFrame, prof: _Profile) -> np.ndarray:
    """Inverse of _latent_to_features: the tracks' z-scores in their genre's latent space."""
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
    u = (v - prof.mu) / (prof.sd * _SPREAD)
    u[:, LATENT.index("loudness")] *= -1
    return u


# --------------------------------------------------------------------------------------------
# Names: word lists for plausible artists, albums and titles.


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


_FIRST = _words(
    "Ava Ben Cara Dylan Elena Felix Grace Hugo Iris Jonah Kira Leo Maya Noah Olivia Owen Piper "
    "Quinn Rosa Sam Tessa Theo Uma Violet Wes Willa Xavier Yara Zane Nina Miles Lena Caleb June "
    "Oscar Hazel Jude Sadie Levi Ruby Eli Mabel Jasper Lola Reid Stella Ezra Ivy Finn Clara Roman"
)
_LAST = _words(
    "Archer Bennett Calloway Dawson Ellery Fairbanks Gallagher Hale Irving Jensen Keller Lowell "
    "Mercer Nash Oakley Prescott Quincy Ramsey Sterling Thorne Underwood Vance Whitaker Yates "
    "Abbott Barlow Crane Delaney Everly Fletcher Granger Holloway Kingsley Lawson Monroe Porter "
    "Reyes Sawyer Tate Winslow Brooks Carver Doyle Harlow Marsh Rowe Shepard Wilder"
)
_LATIN_FIRST = _words(
    "Mateo Sofía Diego Valentina Santiago Camila Alejandro Lucía Javier Isabela Andrés Daniela "
    "Emilio Mariana Tomás Paula Nicolás Gabriela Rafael Ximena Joaquín Renata Marco Elena"
)
_LATIN_LAST = _words(
    "Rivera Morales Castillo Herrera Vega Navarro Ramos Ortega Delgado Romero Mendoza Fuentes "
    "Salazar Cruz Guerrero Medina Rojas Cabrera Paredes Ibarra"
)
_ADJ = _words(
    "Golden Silver Broken Electric Midnight Lonely Wild Gentle Neon Velvet Hollow Bright Quiet "
    "Restless Crimson Blue Secret Endless Burning Frozen Lucky Paper Summer Winter Sweet Bitter "
    "Little Heavy Lost Fading Rising Sleepless Honey Cosmic Wicked Tender Savage Lazy Faded"
)
_NOUN = _words(
    "Heart Fire River Ocean Dream Light Shadow Road Night Sky Rain Star City Window Garden Ghost "
    "Mirror Season Signal Echo Wave Storm Horizon Memory Highway Satellite Flame Thunder Moon "
    "Sun Diamond Letter Wolf Bird Engine Harbor Valley Crown Feather Lantern Tide Circle Island "
    "Paradise Kingdom Desert Balloon Canyon Arrow Parade"
)
_VERB = _words(
    "Run Away|Hold On|Let Go|Come Home|Stay|Dance With Me|Fall Apart|Wake Up|Call Me|Move|"
    "Slow Down|Breathe|Shine|Ride|Stand By Me|Take Me There|Say It|Keep Going|Forget Me|Believe",
    "|",
)
_ES_WORDS = _words(
    "Corazón|Noche|Fuego|Amor|Luna|Baila Conmigo|Besos|Mi Vida|Tu Boca|Otra Vez|La Playa|Dime|"
    "Sin Ti|Quédate|Bésame|Calor|Mañana|Contigo|Loco|Sol de Verano|Todo el Día|Volver|Perreo|Mírame",
    "|",
)
_FORMS = _words(
    "Symphony|Sonata|Concerto|Nocturne|Prelude|Étude|String Quartet|Suite|Fantasia|Serenade", "|"
)
_KEYS = _words("C|D|E-Flat|E|F|F-Sharp|G|A-Flat|A|B-Flat|B", "|")
_TEMPI = _words(
    "Allegro|Adagio|Andante|Largo|Presto|Allegretto|Moderato|Andante cantabile|Allegro con brio",
    "|",
)
_ROMAN = ("I", "II", "III", "IV")
_CITIES = _words("Vienna|Leipzig|Prague|Oslo|Lyon|Bologna|Boston|Dresden|Krakow|Lisbon", "|")
_ENSEMBLES = _words(
    "Chamber Orchestra|Philharmonic|String Quartet|Symphony Orchestra|Piano Trio", "|"
)
_PRODUCER_SYL = _words("ka|ze|lo|vi|ra|no|xi|mo|tek|dra|lux|vo|sy|nex|ar|ion|ky|ve|so|rin", "|")
_RAP_PREFIX = ("Lil", "Young", "MC", "Big", "Yung", "Kid")
_ALBUM_EXTRA = ("Greatest Hits", "Live Sessions", "The Collection", "Anthology", "B-Sides")
_SUFFIX = {
    "rock": (" - Remastered 2011", " - 2015 Remaster"),
    "edm": (" - Radio Edit", " - Extended Mix", " - Remix"),
    "alternative": (" - Acoustic", " - Demo"),
    "pop": (" - Remix", " - Acoustic"),
    "country": (" - Acoustic",),
}
_FEAT_IN_TITLE = {"hip-hop", "pop", "r-n-b", "latin", "edm"}


def _plural(noun: str) -> str:
    if noun.endswith("f"):
        return noun[:-1] + "ves"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith(("o", "s", "sh", "ch", "x")):
        return noun + "es"
    return noun + "s"


def _pick(rng: np.random.Generator, words: Sequence[str]) -> str:
    return words[int(rng.integers(len(words)))]


def _person(rng: np.random.Generator, latin: bool = False) -> str:
    if latin:
        return f"{_pick(rng, _LATIN_FIRST)} {_pick(rng, _LATIN_LAST)}"
    return f"{_pick(rng, _FIRST)} {_pick(rng, _LAST)}"


def _artist_name(rng: np.random.Generator, genre: str) -> str:
    r = rng.random()
    if genre == "classical":
        return f"{_pick(rng, _CITIES)} {_pick(rng, _ENSEMBLES)}" if r < 0.35 else _person(rng)
    if genre == "latin":
        if r < 0.15:
            return f"DJ {_pick(rng, _LATIN_FIRST)}"
        return f"Los {_pick(rng, _LATIN_LAST)}" if r < 0.3 else _person(rng, latin=True)
    if genre in ("edm", "ambient") and r < 0.6:
        word = "".join(_pick(rng, _PRODUCER_SYL) for _ in range(int(rng.integers(2, 4))))
        return word.upper() if rng.random() < 0.25 else word.capitalize()
    if genre == "hip-hop" and r < 0.55:
        return f"{_pick(rng, _RAP_PREFIX)} {_pick(rng, _NOUN)}"
    if genre in ("rock", "alternative", "ambient") and r < 0.65:
        if rng.random() < 0.5:
            return f"The {_pick(rng, _ADJ)} {_plural(_pick(rng, _NOUN))}"
        return f"{_pick(rng, _ADJ)} {_pick(rng, _NOUN)}"
    if genre == "jazz" and r < 0.3:
        return f"{_person(rng)} {_pick(rng, ('Trio', 'Quartet', 'Quintet'))}"
    if genre == "country" and r < 0.15:
        return f"The {_pick(rng, _LAST)} Brothers"
    if genre == "r-n-b" and r < 0.25:
        return _pick(rng, _FIRST).upper()
    return _person(rng)


def _title(rng: np.random.Generator, genre: str) -> str:
    if genre == "classical":
        form = _pick(rng, _FORMS)
        key = f"{_pick(rng, _KEYS)} {_pick(rng, ('Major', 'Minor'))}"
        return (
            f"{form} No. {int(rng.integers(1, 10))} in {key}, Op. {int(rng.integers(2, 130))}: "
            f"{_pick(rng, _ROMAN)}. {_pick(rng, _TEMPI)}"
        )
    if genre == "latin" and rng.random() < 0.8:
        return _pick(rng, _ES_WORDS)
    r = rng.random()
    if r < 0.35:
        return f"{_pick(rng, _ADJ)} {_pick(rng, _NOUN)}"
    if r < 0.55:
        return _pick(rng, _NOUN)
    if r < 0.75:
        return _pick(rng, _VERB)
    if r < 0.9:
        return f"{_pick(rng, _NOUN)} of the {_pick(rng, _NOUN)}"
    return f"{_pick(rng, _ADJ)} {_plural(_pick(rng, _NOUN))}"


def _album(rng: np.random.Generator, genre: str, artist: str) -> str:
    if genre == "classical":
        return f"{artist.split(' ')[-1]}: {_pick(rng, _FORMS)}s"
    r = rng.random()
    if r < 0.1:
        return _pick(rng, _ALBUM_EXTRA)
    if r < 0.2:
        return f"{_title(rng, genre)} (Deluxe Edition)"
    return _title(rng, genre)


@dataclass(frozen=True)
class _ArtistPool:
    names: list[str]
    albums: list[list[str]]
    weights: np.ndarray


def _artist_pool(seed: int, genre: str, size: int) -> _ArtistPool:
    """The genre's artists and their albums: shared by the catalogue, replay pool and playlists."""
    rng = _rng(seed, "artists", genre)
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < size:
        name = _artist_name(rng, genre)
        if name not in seen or len(seen) > size * 20:
            seen.add(name)
            names.append(name)
    albums = [[_album(rng, genre, n) for _ in range(int(rng.integers(1, 5)))] for n in names]
    weights = 1.0 / np.arange(1, size + 1) ** 0.8  # a few artists have most of the songs
    return _ArtistPool(names, albums, weights / weights.sum())


def _track_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Spotify-like ids: 22 base-62 characters of a 128-bit number (so the first is 0-7)."""
    digits = rng.integers(0, 62, size=(n, 22))
    digits[:, 0] = rng.integers(0, 8, size=n)
    return np.ascontiguousarray(_BASE62_CHARS[digits]).view("<U22").ravel().astype(object)


def spotify_ids(names: Sequence[str]) -> np.ndarray:
    """Stable Spotify-like ids for names (artist and album URIs in the playlists)."""
    if not len(names):
        return np.array([], dtype=object)
    digest = b"".join(hashlib.blake2b(n.encode(), digest_size=22).digest() for n in names)
    digits = np.frombuffer(digest, dtype=np.uint8).reshape(-1, 22) % 62
    digits[:, 0] %= 8
    return np.ascontiguousarray(_BASE62_CHARS[digits]).view("<U22").ravel().astype(object)


def _names_block(
    rng: np.random.Generator, genre: str, pool: _ArtistPool, n: int, moods: np.ndarray, feat: float
) -> tuple[list[str], list[str], list[str]]:
    artist_idx = rng.choice(len(pool.names), size=n, p=pool.weights)
    artists, albums, titles = [], [], []
    for i in range(n):
        a = int(artist_idx[i])
        title = _title(rng, genre)
        names = [pool.names[a]]
        if rng.random() < feat:
            for _ in range(int(rng.geometric(0.6))):
                other = pool.names[int(rng.integers(len(pool.names)))]
                if other not in names:
                    names.append(other)
        if genre == "classical" and len(names) == 1:
            names.append(_person(rng))
        if len(names) > 1 and genre in _FEAT_IN_TITLE:
            title = f"{title} (feat. {names[1]})"
        elif moods[i] == "live" and rng.random() < 0.5:
            title = f"{title} - Live"
        elif genre in _SUFFIX and rng.random() < 0.08:
            title += _pick(rng, _SUFFIX[genre])
        album_list = pool.albums[a]
        album = title.split(" (feat.")[0] if rng.random() < 0.25 else _pick(rng, album_list)
        artists.append(";".join(names))
        albums.append(album)
        titles.append(title)
    return artists, albums, titles


def _genre_block(
    genre: str, n: int, seed: int, stream: str, pool: _ArtistPool
) -> dict[str, np.ndarray]:
    prof = _profile(genre)
    rng = _rng(seed, stream, genre)
    mood_idx = rng.choice(len(prof.moods), size=n, p=prof.mood_shares)
    moods = np.array(prof.moods)[mood_idx]
    spec = [_MOODS[m] for m in prof.moods]
    intensity = rng.standard_normal(n)[:, None]
    noise = rng.standard_normal((n, len(LATENT)))
    u = prof.centres[mood_idx] + prof.within * (
        _INTENSITY * intensity + np.sqrt(1 - _INTENSITY**2) * noise
    )
    feats = _latent_to_features(prof.mu, prof.sd, _SPREAD * u)

    p_high, hi_mu, hi_sd, lo_zero, lo_mu, lo_sd = prof.instr
    instr_shift = np.array([s[1] for s in spec])[mood_idx]
    p_mood = _sigmoid(np.log(p_high / (1 - p_high)) + instr_shift)
    # A genre's one-in-a-hundred instrumental track would sit 15 standard deviations out and
    # take a cluster of its own: keep the instrumental part only where it is common, and the
    # near-zero part below 0.01, so the genre's clusters are its moods, not its outliers.
    high = (rng.random(n) < p_mood) & (p_high >= _MIN_INSTRUMENTAL_SHARE)
    high_val = _sigmoid(rng.normal(hi_mu, hi_sd, n))
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
    key = rng.choice(12, size=n, p=np.array(_KEY_SHARES) / sum(_KEY_SHARES))
    key[rng.random(n) < 0.002] = -1
    time_signature = rng.choice(np.array([0, 1, 3, 4, 5]), size=n, p=prof.time_signature)

    artists, albums, titles = _names_block(rng, genre, pool, n, moods, prof.featuring)
    return {
        "track_id": _track_ids(rng, n),
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
        "speechiness": _round_sig(feats["speechiness"]),
        "acousticness": _round_sig(feats["acousticness"]),
        "instrumentalness": _round_sig(instrumental),
        "liveness": _round_sig(feats["liveness"]),
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
        targets = [g for g in _NEIGHBOURS.get(genre, ()) if g in start]
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
    unknown = [g for g in genres if g not in _PROFILE_TABLE]
    if unknown:
        raise ValueError(
            f"no sample profile for genre(s) {unknown}; known: {sorted(_PROFILE_TABLE)}"
        )
    if n_per_genre < 1:
        raise ValueError(f"n_per_genre must be at least 1, got {n_per_genre}")
    pool_size = max(4, n_per_genre // 5)
    blocks = [
        _genre_block(g, n_per_genre, seed, stream, _artist_pool(seed, g, pool_size)) for g in genres
    ]
    columns = {
        name: np.concatenate([np.asarray(b[name]) for b in blocks]) for name in KAGGLE_COLUMNS
    }
    _share_across_genres(columns, genres, n_per_genre, _rng(seed, stream, "shared"))
    return pd.DataFrame(columns)


def assign_moods(tracks: pd.DataFrame) -> np.ndarray:
    """Each track's nearest mood of its genre ("mix" for genres without a profile).

    Works on any Kaggle-format table (also the real file), so playlists can be built over it.
    """
    moods = np.full(len(tracks), "mix", dtype=object)
    genres = tracks["track_genre"].to_numpy()
    for genre in pd.unique(genres):
        if genre not in _PROFILE_TABLE:
            continue
        rows = np.flatnonzero(genres == genre)
        prof = _profile(genre)
        u = _features_to_latent(tracks.iloc[rows], prof)
        dist = (((u[:, None, :] - prof.centres[None, :, :]) / prof.within) ** 2).sum(axis=2)
        moods[rows] = np.array(prof.moods, dtype=object)[dist.argmin(axis=1)]
    return moods


# --------------------------------------------------------------------------------------------
# Playlists.

_GENRE_WORDS = {
    "alternative": ("alternative", "indie", "alt"),
    "classical": ("classical", "piano", "Classical"),
    "country": ("country", "Country", "old country"),
    "edm": ("EDM", "edm", "electronic", "house"),
    "hip-hop": ("hip hop", "rap", "Hip-Hop"),
    "jazz": ("jazz", "Jazz", "jazzy"),
    "latin": ("latin", "reggaeton", "Latino"),
    "pop": ("pop", "Pop", "top hits"),
    "r-n-b": ("r&b", "RnB", "slow jams"),
    "rock": ("rock", "Rock", "classic rock"),
    "acoustic": ("acoustic", "Acoustic"),
    "ambient": ("ambient", "focus", "sleep"),
}
_MOOD_NAMES = {
    "chill": ("chill {g}", "{g} chill", "relax", "sleep", "study", "Sunday morning", "mellow"),
    "upbeat": ("{g} party", "Good Vibes", "summer", "BOP", "happy", "Road Trip", "{g} hits"),
    "dark": ("sad {g}", "melancholy", "Sad Songs", "feels", "night drive"),
    "intense": ("workout", "gym", "Running", "pump up", "{g} hard"),
    "live": ("{g} live", "concert", "live sessions"),
    "mix": ("{g}", "{g} mix"),
}
_GENERIC_NAMES = ("Throwbacks", "mix", "favorites", "2017", "my playlist", "new", "Car", "music")
_DAY = 86_400
_FIRST_DAY = 1_325_376_000 // _DAY  # 2012-01-01
_LAST_DAY = 1_509_494_400 // _DAY  # 2017-11-01


def _playlist_name(rng: np.random.Generator, genre: str, mood: str) -> str:
    g = _pick(rng, _GENRE_WORDS.get(genre, (genre,)))
    r = rng.random()
    name = _pick(rng, _GENERIC_NAMES) if r < 0.2 else _pick(rng, _MOOD_NAMES[mood]).format(g=g)
    r = rng.random()
    if r < 0.1:
        name = name.upper()
    elif r < 0.25:
        name = name.title()
    elif r < 0.3:
        name += " "
    return name


@dataclass
class _Songs:
    """Every song a playlist may hold: the given tracks first, then songs the catalogue lacks.

    ``entry[i]`` is song i's MPD track object without ``pos``; ``groups`` maps (genre, mood)
    and ``extras`` maps genre to song indices.
    """

    entry: list[dict]
    n_known: int
    weight: np.ndarray
    groups: dict[tuple[str, str], np.ndarray]
    extras: dict[str, np.ndarray]


def _entries(
    ids: Sequence[str],
    artists: Sequence[str],
    titles: Sequence[str],
    albums: Sequence[str],
    durations: Sequence[int],
) -> list[dict]:
    artist_uri = spotify_ids(list(artists))
    album_uri = spotify_ids([f"{a}\x1f{b}" for a, b in zip(artists, albums, strict=True)])
    return [
        {
            "artist_name": artists[i],
            "track_uri": f"{TRACK_URI_PREFIX}{ids[i]}",
            "artist_uri": f"spotify:artist:{artist_uri[i]}",
            "track_name": titles[i],
            "album_uri": f"spotify:album:{album_uri[i]}",
            "duration_ms": int(durations[i]),
            "album_name": albums[i],
        }
        for i in range(len(ids))
    ]


def _songs(tracks: pd.DataFrame, weight_scale: np.ndarray, seed: int) -> _Songs:
    moods = assign_moods(tracks)
    ids = tracks["track_id"].astype(str).to_numpy()
    unique_ids, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    artists = tracks["artists"].fillna("").astype(str).str.split(";").str[0].to_numpy()[first]
    titles = tracks["track_name"].fillna("").astype(str).to_numpy()[first]
    albums = tracks["album_name"].fillna("").astype(str).to_numpy()[first]
    durations = tracks["duration_ms"].to_numpy(dtype=np.int64)[first]
    popularity = np.clip(tracks["popularity"].to_numpy(dtype=float), 0, 100)
    weight = ((popularity + 5.0) ** 1.3 * weight_scale)[first]
    entry = _entries(unique_ids, artists, titles, albums, durations)
    n_known = len(entry)

    genres = tracks["track_genre"].astype(str).to_numpy()
    keys = pd.Series(list(zip(genres, moods, strict=True)))
    groups = {k: np.unique(inverse[idx]) for k, idx in keys.groupby(keys).indices.items()}

    # Songs the catalogue lacks, per genre, by its artists and by others: real playlists hold
    # many songs the Kaggle file does not have.
    extras: dict[str, np.ndarray] = {}
    weights = [weight]
    for genre in sorted(set(genres)):
        rng = _rng(seed, "extras", genre)
        known = artists[np.unique(inverse[genres == genre])]
        n = max(10, len(known) // 2)
        e_artists = [
            str(known[int(rng.integers(len(known)))]) if rng.random() < 0.6 else _person(rng)
            for _ in range(n)
        ]
        e_titles = [_title(rng, genre) for _ in range(n)]
        e_albums = [
            t if rng.random() < 0.3 else _album(rng, genre, a)
            for t, a in zip(e_titles, e_artists, strict=True)
        ]
        log_ms = _PROFILE_TABLE.get(genre, {}).get("duration", (12.2, 0.3))
        e_ms = np.clip(np.exp(rng.normal(*log_ms, n)), 30_000, 1_200_000).astype(np.int64)
        extras[genre] = np.arange(len(entry), len(entry) + n)
        entry += _entries(_track_ids(rng, n), e_artists, e_titles, e_albums, e_ms)
        weights.append(np.median(weight) / rng.permutation(np.arange(1, n + 1)) ** 0.7)
    return _Songs(entry, n_known, np.concatenate(weights), groups, extras)


def _draw(
    rng: np.random.Generator, pool: np.ndarray, weight: np.ndarray, k: int, taken: np.ndarray
) -> list[int]:
    """Up to k items of pool, weighted, without replacement, skipping (then marking) taken."""
    pool = pool[~taken[pool]]
    k = min(k, len(pool))
    if k <= 0:
        return []
    # Efraimidis-Spirakis: the k smallest Exp(1)/weight keys are a weighted sample.
    keys = rng.exponential(size=len(pool)) / weight[pool]
    top = np.argpartition(keys, k - 1)[:k] if k < len(pool) else np.arange(len(pool))
    picked = pool[top[np.argsort(keys[top], kind="stable")]]
    taken[picked] = True
    return picked.tolist()


@dataclass(frozen=True)
class _Community:
    keys: list[tuple[str, str]]
    core: list[int]


def generate_playlists(
    tracks: pd.DataFrame,
    n_playlists: int,
    seed: int = 0,
    *,
    held_back: pd.DataFrame | None = None,
    held_back_weight: float = 0.25,
    extra_share: float = 0.17,
) -> dict:
    """Playlists in the Spotify Million Playlist Dataset JSON format over ``tracks``.

    People build playlists around one or two genres and a mood; "taste communities" share a
    core of songs, so pairs of songs recur together across playlists (what co-occurrence
    learns); popular songs turn up more often; ``extra_share`` of the entries are songs the
    catalogue lacks. ``held_back`` tracks (the replay pool, not yet in the catalogue) appear
    too, ``held_back_weight`` times as often as a catalogue track of the same popularity.
    """
    rng = _rng(seed, "playlists")
    all_tracks = tracks if held_back is None else pd.concat([tracks, held_back], ignore_index=True)
    scale = np.ones(len(all_tracks))
    scale[len(tracks) :] = held_back_weight
    songs = _songs(all_tracks, scale, seed)
    group_keys = sorted(songs.groups)
    group_sizes = np.array([len(songs.groups[k]) for k in group_keys], dtype=float)

    def pick_groups() -> list[tuple[str, str]]:
        first = group_keys[rng.choice(len(group_keys), p=group_sizes / group_sizes.sum())]
        chosen = [first]
        if rng.random() < 0.45:
            if rng.random() < 0.8:
                near = _NEIGHBOURS.get(first[0], ())
                options = [
                    k for k in group_keys if k[0] == first[0] or (k[0] in near and k[1] == first[1])
                ]
            else:
                options = group_keys
            options = [k for k in options if k != first]
            if options:
                chosen.append(options[int(rng.integers(len(options)))])
        return chosen

    pools: dict[tuple, np.ndarray] = {}

    def members(keys: list[tuple[str, str]]) -> np.ndarray:
        if tuple(keys) not in pools:
            pools[tuple(keys)] = np.unique(np.concatenate([songs.groups[k] for k in keys]))
        return pools[tuple(keys)]

    taken = np.zeros(len(songs.entry), dtype=bool)
    communities = []
    for _ in range(max(3, n_playlists // 40)):
        keys = pick_groups()
        core = _draw(rng, members(keys), songs.weight, int(rng.integers(15, 35)), taken)
        core += _draw(rng, songs.extras[keys[0][0]], songs.weight, 6, taken)
        taken[core] = False
        communities.append(_Community(keys, core))
    community_share = 1.0 / np.arange(1, len(communities) + 1) ** 0.6
    community_share /= community_share.sum()
    everyone = np.arange(songs.n_known)

    playlists = []
    for pid in range(n_playlists):
        length = int(np.clip(round(np.exp(rng.normal(np.log(28), 0.45))), 10, 60))
        n_extra = int(rng.binomial(length, extra_share))
        n_random = int(rng.binomial(length - n_extra, 0.05))
        chosen: list[int] = []
        if rng.random() < 0.6:
            community = communities[rng.choice(len(communities), p=community_share)]
            keys = community.keys
            k_core = min(len(community.core), int(round(length * rng.uniform(0.3, 0.55))))
            chosen += [int(i) for i in rng.choice(community.core, size=k_core, replace=False)]
        else:
            keys = pick_groups()
        taken[chosen] = True
        n_extra -= sum(1 for i in chosen if i >= songs.n_known)
        for pool, target in (
            (songs.extras[keys[0][0]], len(chosen) + n_extra),
            (members(keys), length - n_random),
            (everyone, length),
        ):
            chosen += _draw(rng, pool, songs.weight, target - len(chosen), taken)
        taken[chosen] = False
        chosen = [chosen[i] for i in rng.permutation(len(chosen))]
        playlists.append(_playlist(rng, pid, keys[0], [songs.entry[i] for i in chosen]))
    return {
        "info": {
            "generated_on": "playlist_assets sample generator",
            "slice": "sample",
            "version": "v1",
            "generator_version": GENERATOR_VERSION,
            "seed": int(seed),
        },
        "playlists": playlists,
    }


def _playlist(rng: np.random.Generator, pid: int, key: tuple[str, str], songs: list[dict]) -> dict:
    tracks = [{"pos": pos, **song} for pos, song in enumerate(songs)]
    day = _LAST_DAY - min(int(rng.exponential(500)), _LAST_DAY - _FIRST_DAY)
    return {
        "name": _playlist_name(rng, key[0], key[1]),
        "collaborative": "false",
        "pid": pid,
        "modified_at": day * _DAY,
        "num_tracks": len(tracks),
        "num_albums": len({t["album_uri"] for t in tracks}),
        "num_followers": int(rng.geometric(0.75)),
        "tracks": tracks,
        "num_edits": int(2 + rng.poisson(len(tracks) / 5)),
        "duration_ms": sum(t["duration_ms"] for t in tracks),
        "num_artists": len({t["artist_uri"] for t in tracks}),
    }


def mpd_json(data: dict) -> str:
    """MPD JSON with one track object per line: readable, and far faster than indent=4."""
    encoded: dict[tuple, str] = {}
    parts = []
    for playlist in data["playlists"]:
        fields = []
        for key, value in playlist.items():
            if key != "tracks":
                fields.append(f"            {json.dumps(key)}: {json.dumps(value)}")
                continue
            lines = []
            for track in value:
                rest = tuple((k, v) for k, v in track.items() if k != "pos")
                if rest not in encoded:
                    encoded[rest] = json.dumps(dict(rest))[1:]
                lines.append(
                    f'                {{"pos": {json.dumps(track["pos"])}, {encoded[rest]}'
                )
            body = ",\n".join(lines)
            fields.append(f'            "tracks": [\n{body}\n            ]')
        parts.append("        {\n" + ",\n".join(fields) + "\n        }")
    return (
        f'{{\n    "info": {json.dumps(data["info"])},\n    "playlists": [\n'
        + ",\n".join(parts)
        + "\n    ]\n}\n"
    )


# --------------------------------------------------------------------------------------------
# Files.


@dataclass(frozen=True)
class SamplePaths:
    tracks_csv: Path
    playlists_json: Path
    replay_csv: Path


def sample_paths(dest: Path) -> SamplePaths:
    dest = Path(dest)
    return SamplePaths(dest / TRACKS_FILE, dest / PLAYLISTS_FILE, dest / REPLAY_FILE)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _csv_bytes(tracks: pd.DataFrame) -> bytes:
    # Like the Kaggle file: a leading unnamed index column, False/True, "\n" line ends.
    return tracks.to_csv(index=True, lineterminator="\n").encode("utf-8")


def sample_manifest(seed: int, n_per_genre: int, n_playlists: int, replay_per_genre: int) -> dict:
    """What a sample was made with: a sample is current when its manifest says the same."""
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "n_per_genre": int(n_per_genre),
        "n_playlists": int(n_playlists),
        "replay_per_genre": int(replay_per_genre),
        "genres": list(SAMPLE_GENRES),
    }


def write_sample(
    dest: Path,
    *,
    seed: int = 42,
    n_per_genre: int = 300,
    n_playlists: int = 800,
    replay_per_genre: int = 150,
) -> SamplePaths:
    """Write the catalogue, the replay pool and the playlists into ``dest`` (always)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    paths = sample_paths(dest)
    catalogue = generate_tracks(n_per_genre, SAMPLE_GENRES, seed)
    replay = generate_tracks(replay_per_genre, SAMPLE_GENRES, seed, stream="replay")
    playlists = generate_playlists(catalogue, n_playlists, seed, held_back=replay)
    _write_atomic(paths.tracks_csv, _csv_bytes(catalogue))
    _write_atomic(paths.replay_csv, _csv_bytes(replay))
    _write_atomic(paths.playlists_json, mpd_json(playlists).encode("ascii"))
    manifest = sample_manifest(seed, n_per_genre, n_playlists, replay_per_genre)
    _write_atomic(dest / MANIFEST_FILE, json.dumps(manifest, indent=2).encode() + b"\n")
    return paths


def ensure_sample(
    dest: Path,
    *,
    seed: int = 42,
    n_per_genre: int = 300,
    n_playlists: int = 800,
    replay_per_genre: int = 150,
    force: bool = False,
) -> SamplePaths:
    """The sample in ``dest``, written only when a file is missing or was made differently."""
    dest = Path(dest)
    paths = sample_paths(dest)
    wanted = sample_manifest(seed, n_per_genre, n_playlists, replay_per_genre)
    if not force and sample_is_current(dest, wanted):
        return paths
    return write_sample(
        dest,
        seed=seed,
        n_per_genre=n_per_genre,
        n_playlists=n_playlists,
        replay_per_genre=replay_per_genre,
    )


def sample_is_current(dest: Path, wanted: dict) -> bool:
    """All three files are there and the manifest matches ``wanted`` (see sample_manifest)."""
    paths = sample_paths(Path(dest))
    manifest = Path(dest) / MANIFEST_FILE
    if not all(p.is_file() for p in (paths.tracks_csv, paths.replay_csv, paths.playlists_json)):
        return False
    try:
        return json.loads(manifest.read_text()) == wanted
    except (OSError, ValueError):
        return False
