"""One batch shape for every feed: the Kaggle columns, typed, plus the rows kept aside.

Each feed (replay, landing files, the Spotify Web API) turns what it read into a
``FeedBatch``. Values that cannot be typed (a word in a numeric column, a file without the
required columns) are never dropped silently: they become reject rows with the reason, in
the same columns as the quality gate's ``quarantined_tracks``. Values that type fine but
are out of range are kept: judging them is the Great Expectations suite's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# Rejects are the quality gate's one reject row; REJECT_COLUMNS and empty_rejects stay
# importable from here for the feeds.
from playlist_assets.lib.quality.quarantine import (  # noqa: F401
    REJECT_COLUMNS,
    empty_rejects,
    reject_rows,
)
from playlist_assets.lib.schema import AUDIO_FEATURES, KAGGLE_COLUMNS, TYPED_DTYPES

# Nullable dtypes: a missing value reaches the quality checks as <NA> instead of failing a cast
# here, and every partition of the table gets the same DuckDB column types.
FEED_DTYPES: dict[str, str] = {
    column: {"int64": "Int64", "bool": "boolean"}.get(dtype, dtype)
    for column, dtype in TYPED_DTYPES.items()
}
FEED_DTYPES["source"] = "string"
# What every feed delivers: the Kaggle columns plus where each row came from.
FEED_COLUMNS: tuple[str, ...] = (*KAGGLE_COLUMNS, "source")
INTEGER_COLUMNS = tuple(c for c, d in TYPED_DTYPES.items() if d == "int64")
FLOAT_COLUMNS = tuple(c for c, d in TYPED_DTYPES.items() if d == "float64")
STRING_COLUMNS = tuple(c for c, d in TYPED_DTYPES.items() if d == "string")


_TRUE = {"true", "1", "t", "yes", "y"}
_FALSE = {"false", "0", "f", "no", "n"}


@dataclass
class FeedBatch:
    """What a feed delivered for one hour: typed tracks, rejects and where they came from."""

    tracks: pd.DataFrame
    rejects: pd.DataFrame = field(default_factory=lambda: empty_rejects())
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @staticmethod
    def concat(batches: Sequence[FeedBatch]) -> FeedBatch:
        if not batches:
            return FeedBatch(tracks=empty_tracks())
        return FeedBatch(
            tracks=pd.concat([b.tracks for b in batches], ignore_index=True)
            if any(len(b.tracks) for b in batches)
            else empty_tracks(),
            rejects=pd.concat([b.rejects for b in batches], ignore_index=True)
            if any(len(b.rejects) for b in batches)
            else empty_rejects(),
            sources=[s for b in batches for s in b.sources],
            notes=[n for b in batches for n in b.notes],
        )


def empty_tracks() -> pd.DataFrame:
    """Zero rows with the feed's columns and dtypes (an hour with no data)."""
    return pd.DataFrame({c: pd.Series(dtype=FEED_DTYPES[c]) for c in FEED_COLUMNS})


def reject_frame(
    source: str,
    reasons: Sequence[str],
    rows: pd.DataFrame | None = None,
    row_numbers: Sequence[int | None] | None = None,
) -> pd.DataFrame:
    """Reject rows in ``quarantined_tracks`` shape; ``rows`` are the raw rows as they came."""
    return reject_rows(source, reasons, rows, row_numbers)


def normalize_tracks(raw: pd.DataFrame, source: str) -> FeedBatch:
    """Type a frame that uses the Kaggle column names; untypable rows become rejects.

    The result has the Kaggle columns plus ``source`` (set to ``source`` on every row).
    Row numbers in the rejects are 1-based positions of the data rows in ``raw`` (the first
    record of a file is row 1). Extra columns are ignored and noted.
    """
    raw = raw.loc[:, [c for c in raw.columns if not _is_index_column(c)]]
    notes: list[str] = []
    missing = [c for c in KAGGLE_COLUMNS if c not in raw.columns]
    if missing:
        reason = f"missing columns: {', '.join(missing)}"
        rejects = reject_frame(source, [reason] * len(raw), raw, list(range(1, len(raw) + 1)))
        if raw.empty:
            rejects = reject_frame(source, [f"{reason} (no rows)"])
        return FeedBatch(tracks=empty_tracks(), rejects=rejects, sources=[source], notes=[reason])
    extra = [str(c) for c in raw.columns if c not in KAGGLE_COLUMNS]
    if extra:
        notes.append(f"{source}: ignored extra columns {', '.join(extra)}")

    raw = raw.reset_index(drop=True)
    problems: list[pd.Series] = []
    typed: dict[str, pd.Series] = {}
    for column in INTEGER_COLUMNS + FLOAT_COLUMNS:
        values, problem = _to_number(raw[column], column, integer=column in INTEGER_COLUMNS)
        typed[column] = values
        problems.append(problem)
    typed["explicit"], problem = _to_bool(raw["explicit"])
    problems.append(problem)
    for column in STRING_COLUMNS:
        typed[column] = _to_string(raw[column])

    problem_frame = pd.concat(problems, axis=1)
    bad = problem_frame.notna().any(axis=1).to_numpy()
    typed["source"] = pd.Series([source] * len(raw), dtype="string")
    tracks = pd.DataFrame({c: typed[c] for c in FEED_COLUMNS})
    rejects = empty_rejects()
    if bad.any():
        positions = np.flatnonzero(bad)
        reasons = [
            "; ".join(p for p in row if isinstance(p, str))
            for row in problem_frame.iloc[positions].itertuples(index=False)
        ]
        rejects = reject_frame(source, reasons, raw.iloc[positions], (positions + 1).tolist())
        tracks = tracks.loc[~bad].reset_index(drop=True)
    return FeedBatch(
        tracks=tracks.astype(FEED_DTYPES), rejects=rejects, sources=[source], notes=notes
    )


def spotify_rows(
    tracks: Iterable[Mapping[str, Any]],
    features: Mapping[str, Mapping[str, Any] | None],
    genre_of: Mapping[str, str] | str | None = None,
) -> tuple[pd.DataFrame, list[tuple[Mapping[str, Any], str]]]:
    """Merge Spotify track objects with their audio features into Kaggle-named rows.

    ``genre_of`` gives the genre (one for all, or per track id) when the track object has no
    ``track_genre``/``genre`` key. Tracks without audio features are returned separately with
    the reason, so the caller can keep them aside.
    """
    rows: list[dict[str, Any]] = []
    missing: list[tuple[Mapping[str, Any], str]] = []
    for track in tracks:
        track_id = track.get("id") or track.get("track_id")
        feature = features.get(str(track_id)) if track_id else None
        if not feature and all(f in track for f in ("danceability", "energy", "tempo")):
            feature = track  # a track object already merged with its features
        if not feature:
            missing.append((track, "no audio features for this track"))
            continue
        genre = track.get("track_genre") or track.get("genre")
        if genre is None and isinstance(genre_of, str):
            genre = genre_of
        elif genre is None and isinstance(genre_of, Mapping):
            genre = genre_of.get(str(track_id))
        rows.append(
            {
                "track_id": track_id,
                "artists": _artists(track.get("artists")),
                "album_name": _album_name(track),
                "track_name": track.get("name", track.get("track_name")),
                "popularity": track.get("popularity"),
                "duration_ms": track.get("duration_ms", feature.get("duration_ms")),
                "explicit": track.get("explicit"),
                **{c: feature.get(c) for c in _FEATURE_KEYS},
                "track_genre": genre,
            }
        )
    return pd.DataFrame(rows, columns=list(KAGGLE_COLUMNS)), missing


_FEATURE_KEYS = AUDIO_FEATURES


def _artists(value: Any) -> Any:
    # Kaggle joins several artists with ";".
    if isinstance(value, list):
        return ";".join(a.get("name", "") if isinstance(a, Mapping) else str(a) for a in value)
    return value


def _album_name(track: Mapping[str, Any]) -> Any:
    album = track.get("album")
    if isinstance(album, Mapping):
        return album.get("name")
    return track.get("album_name", album)


def _to_number(series: pd.Series, column: str, integer: bool) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_bool_dtype(series):
        series = series.astype("Int64")
    values = pd.to_numeric(series, errors="coerce")
    given = ~_missing_mask(series)
    problem = pd.Series(None, index=series.index, dtype=object)
    not_number = given & values.isna()
    problem[not_number] = [f"{column}: not a number ({v!r})" for v in series[not_number]]
    values = values.astype("float64")
    if integer:
        finite = np.isfinite(values.to_numpy(dtype="float64", na_value=np.nan))
        fractional = (
            given & ~not_number & (~pd.Series(finite, index=series.index) | (values % 1 != 0))
        )
        problem[fractional] = [f"{column}: not an integer ({v!r})" for v in series[fractional]]
        values = values.where(~fractional)
        return values.round().astype("Int64"), problem
    return values, problem


def _to_bool(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    problem = pd.Series(None, index=series.index, dtype=object)
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean"), problem
    text = series.astype("string").str.strip().str.lower()
    result = pd.Series(pd.NA, index=series.index, dtype="boolean")
    result[text.isin(_TRUE).fillna(False).astype(bool)] = True
    result[text.isin(_FALSE).fillna(False).astype(bool)] = False
    # Numbers such as 1.0/0.0 (JSON, parquet) also count.
    numeric = pd.to_numeric(series, errors="coerce")
    result[(numeric == 1).fillna(False).astype(bool)] = True
    result[(numeric == 0).fillna(False).astype(bool)] = False
    unknown = ~_missing_mask(series) & result.isna()
    problem[unknown] = [f"explicit: not true/false ({v!r})" for v in series[unknown]]
    return result, problem


def _to_string(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip()
    return text.mask(text == "")


def _missing_mask(series: pd.Series) -> pd.Series:
    mask = series.isna()
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        mask = mask | (series.astype("string").str.strip() == "").fillna(False).astype(bool)
    return mask.astype(bool)


def _is_index_column(name: Any) -> bool:
    text = str(name)
    return text == "" or text.startswith("Unnamed: 0")
