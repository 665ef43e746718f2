"""The landing feed: files an upstream process drops in one folder per hour.

Layout: ``<landing_dir>/<YYYY-MM-DDTHH>/*.csv|*.csv.gz|*.parquet|*.json``. CSV and Parquet
use the Kaggle column names; JSON is either Kaggle-named records, or the Spotify shape
(``{"audio_features": [...], "tracks": [...], "genre": ...}`` or a list of track objects
merged with their audio features). A missing hour folder is an empty hour. A file that
cannot be read is reported by name with the reason and the others still load.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from playlist_assets.lib.feeds.normalize import (
    FeedBatch,
    empty_tracks,
    normalize_tracks,
    reject_frame,
    spotify_rows,
)
from playlist_assets.lib.tracks_io import TracksFileError, read_tracks_csv

SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet", ".json")
# How much of an unreadable file is kept with its reject row.
_RAW_EXCERPT_BYTES = 2000


class LandingFileError(ValueError):
    """A landing file that cannot be read as tracks at all."""


def hour_folder_name(hour: datetime) -> str:
    """``2026-11-25T13`` for the hour starting at 13:00."""
    return hour.strftime("%Y-%m-%dT%H")


def hour_files(landing_dir: str | Path, hour: datetime) -> list[Path]:
    """The hour's data files in name order (other files, e.g. ``_SUCCESS``, are ignored)."""
    folder = Path(landing_dir) / hour_folder_name(hour)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES))


def read_landing_hour(landing_dir: str | Path, hour: datetime) -> FeedBatch:
    """Every file of the hour as one batch; unreadable files become reject rows."""
    files = hour_files(landing_dir, hour)
    if not files:
        folder = Path(landing_dir) / hour_folder_name(hour)
        note = (
            f"no landing folder {folder}" if not folder.is_dir() else f"no data files in {folder}"
        )
        return FeedBatch(tracks=empty_tracks(), notes=[note])
    batches = [read_landing_file(path) for path in files]
    return FeedBatch.concat(batches)


def read_landing_file(path: Path) -> FeedBatch:
    source = str(path)
    try:
        raw, unmatched = _read_raw(path)
    except LandingFileError as exc:
        return FeedBatch(
            tracks=empty_tracks(),
            rejects=_whole_file_reject(path, str(exc)),
            sources=[source],
            notes=[f"{path.name}: {exc}"],
        )
    batch = normalize_tracks(raw, source)
    if unmatched:
        # Spotify track objects without audio features: kept aside, not guessed.
        kept_aside = reject_frame(
            source,
            [reason for _, reason in unmatched],
            pd.DataFrame([{"track_id": t.get("id"), **t} for t, _ in unmatched]),
        )
        batch.rejects = pd.concat([batch.rejects, kept_aside], ignore_index=True)
    return batch


Unmatched = list[tuple[Mapping[str, Any], str]]


def _read_raw(path: Path) -> tuple[pd.DataFrame, Unmatched]:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        try:
            return read_tracks_csv(path), []
        except TracksFileError as exc:
            raise LandingFileError(str(exc)) from exc
    if name.endswith(".parquet"):
        try:
            return pd.read_parquet(path), []
        except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
            raise LandingFileError(f"{path} is not a readable Parquet file: {exc}") from exc
    return _read_json(path)


def _read_json(path: Path) -> tuple[pd.DataFrame, Unmatched]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LandingFileError(f"{path} is not valid JSON: {exc}") from exc
    if isinstance(document, Mapping):
        if "audio_features" in document:
            return _from_spotify_document(path, document)
        for key in ("tracks", "items", "rows"):
            if isinstance(document.get(key), list):
                document = document[key]
                break
        else:
            raise LandingFileError(
                f"{path}: JSON object without 'audio_features', 'tracks' or 'items' list"
            )
    if not isinstance(document, list):
        raise LandingFileError(
            f"{path}: expected a JSON list of tracks, got {type(document).__name__}"
        )
    items = [_unwrap_track(item) for item in document]
    if not all(isinstance(i, Mapping) for i in items):
        raise LandingFileError(f"{path}: every JSON track must be an object")
    if items and all("track_id" not in i and "id" in i for i in items):
        return spotify_rows(items, {})
    return pd.DataFrame(items), []


def _from_spotify_document(
    path: Path, document: Mapping[str, Any]
) -> tuple[pd.DataFrame, Unmatched]:
    features_list = document.get("audio_features")
    if not isinstance(features_list, list):
        raise LandingFileError(f"{path}: 'audio_features' must be a list")
    features = {str(f["id"]): f for f in features_list if isinstance(f, Mapping) and f.get("id")}
    tracks = [_unwrap_track(t) for t in document.get("tracks") or []]
    genre = document.get("track_genre") or document.get("genre")
    if not tracks:
        # Audio features alone: metadata must ride along on each feature object.
        tracks = list(features.values())
    return spotify_rows(tracks, features, genre)


def _unwrap_track(item: Any) -> Any:
    # Playlist items wrap the track object: {"track": {...}}.
    if isinstance(item, Mapping) and isinstance(item.get("track"), Mapping) and "id" not in item:
        return {**item["track"], **{k: v for k, v in item.items() if k != "track"}}
    return item


def _whole_file_reject(path: Path, reason: str) -> pd.DataFrame:
    try:
        excerpt = path.read_bytes()[:_RAW_EXCERPT_BYTES].decode("utf-8", errors="replace")
    except OSError:
        excerpt = ""
    frame = reject_frame(str(path), [reason], row_numbers=[None])
    frame["row_json"] = pd.Series([json.dumps({"raw_excerpt": excerpt})], dtype="string")
    return frame
