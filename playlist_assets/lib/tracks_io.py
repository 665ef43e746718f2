"""Reading Kaggle-format track files with errors that name the file and what is wrong."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd


class TracksFileError(ValueError):
    """The tracks file cannot be used at all (missing, unreadable, empty, malformed)."""


def read_tracks_csv(path: str | Path) -> pd.DataFrame:
    """Read a Kaggle "Spotify Tracks" CSV (plain or .gz) as it came.

    Values are kept as pandas infers them: a column with a stray string stays text so the
    quality checks can report it. A True/False column with blanks becomes a nullable boolean
    (pandas would leave it as mixed objects, stored as text): a blank is a row's problem, for the
    quarantine, not the column's. The unnamed index column of the Kaggle file is dropped.
    """
    path = Path(path)
    if not path.exists():
        raise TracksFileError(f"tracks file {path} does not exist")
    if not path.is_file():
        raise TracksFileError(f"tracks file {path} is not a file")
    try:
        if path.stat().st_size == 0:
            raise TracksFileError(f"tracks file {path} is empty (0 bytes): expected a CSV header")
        frame = pd.read_csv(path, compression="infer", low_memory=False)
    except TracksFileError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise TracksFileError(f"tracks file {path} has no CSV header: {exc}") from exc
    except pd.errors.ParserError as exc:
        raise TracksFileError(f"tracks file {path} is malformed CSV: {exc}") from exc
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError, OSError) as exc:
        raise TracksFileError(f"tracks file {path} is unreadable: {exc}") from exc
    first = str(frame.columns[0]) if len(frame.columns) else ""
    if first == "" or first.startswith("Unnamed: 0"):
        frame = frame.drop(columns=frame.columns[0])
    return _booleans_with_blanks(frame)


def _booleans_with_blanks(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.select_dtypes(include="object").columns:
        values = frame[column]
        if values.isna().any() and pd.api.types.infer_dtype(values, skipna=True) == "boolean":
            frame[column] = values.astype("boolean")
    return frame
