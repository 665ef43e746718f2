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

# Integer-coded audio features; the rest are continuous.
CATEGORICAL_FEATURES: tuple[str, ...] = ("key", "mode", "time_signature")
# Continuous features used for clustering and audio similarity (key/mode/time_signature
# are categorical and would dominate distances after standardization).
CONTINUOUS_FEATURES: tuple[str, ...] = tuple(
    f for f in AUDIO_FEATURES if f not in CATEGORICAL_FEATURES
)
# Continuous features measured on [0, 1] (all but loudness in dB and tempo in BPM).
UNIT_INTERVAL_FEATURES: tuple[str, ...] = tuple(
    f for f in CONTINUOUS_FEATURES if f not in ("loudness", "tempo")
)

# Columns the songs base keeps beyond the audio features.
TEXT_COLUMNS: tuple[str, ...] = ("track_id", "artists", "album_name", "track_name", "track_genre")
INTEGER_COLUMNS: tuple[str, ...] = ("popularity", "duration_ms", *CATEGORICAL_FEATURES)


def _typed_dtype(column: str) -> str:
    if column in TEXT_COLUMNS:
        return "string"
    if column == "explicit":
        return "bool"
    return "int64" if column in INTEGER_COLUMNS else "float64"


# pandas dtypes of a typed (validated) songs table, in Kaggle column order.
TYPED_DTYPES: dict[str, str] = {column: _typed_dtype(column) for column in KAGGLE_COLUMNS}

# Stored timestamps (partition_hour, judged_at, quarantined_at): naive UTC in microseconds, as
# DuckDB's TIMESTAMP holds them.
TIMESTAMP_DTYPE = "datetime64[us]"

TRACK_URI_PREFIX = "spotify:track:"
