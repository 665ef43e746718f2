"""The Kaggle "Spotify Tracks" schema every table in the project speaks."""

from __future__ import annotations

# Audio features the models see and drift is measured on.
AUDIO_FEATURES: tuple[str, ...] = (
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "time_signature",
)

# The columns of the Kaggle file, in file order (the unnamed index column is dropped).
KAGGLE_COLUMNS: tuple[str, ...] = (
    "track_id",
    "artists",
    "album_name",
    "track_name",
    "popularity",
    "duration_ms",
    "explicit",
    *AUDIO_FEATURES,
    "track_genre",
)

# Continuous features used for clustering and audio similarity (key/mode/time_signature
# are categorical and would dominate distances after standardization).
CONTINUOUS_FEATURES: tuple[str, ...] = (
    "danceability",
    "energy",
    "loudness",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
)

# Columns the songs base keeps beyond the audio features.
TEXT_COLUMNS: tuple[str, ...] = ("track_id", "artists", "album_name", "track_name", "track_genre")

# pandas dtypes of a typed (validated) songs table.
TYPED_DTYPES: dict[str, str] = {
    "track_id": "string",
    "artists": "string",
    "album_name": "string",
    "track_name": "string",
    "popularity": "int64",
    "duration_ms": "int64",
    "explicit": "bool",
    "danceability": "float64",
    "energy": "float64",
    "key": "int64",
    "loudness": "float64",
    "mode": "int64",
    "speechiness": "float64",
    "acousticness": "float64",
    "instrumentalness": "float64",
    "liveness": "float64",
    "valence": "float64",
    "tempo": "float64",
    "time_signature": "int64",
    "track_genre": "string",
}

TRACK_URI_PREFIX = "spotify:track:"
