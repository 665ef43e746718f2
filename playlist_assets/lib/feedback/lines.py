"""An hour's landing lines as typed frames, every line that cannot be used kept with its reason.

The API (and clients' batch files) write JSON lines per the contract (``contract``); this reads
the whole lines of one hour's folder and splits them into accepted rows and rejects in the shared
reject shape (``lib.quality.quarantine``): the file, the line number, the reason and the line
itself. Checks are vectorized over the hour (pandas), so an hour of 20 requests/s stays cheap.

What is judged here needs only the lines themselves: JSON, fields and their types, the time
inside the hour, known events, repeats within the hour. Whether a feedback's request and track
were served needs the stored impressions (``store.shown``) and is judged by ``judge_shown``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from playlist_assets.lib.feedback.contract import (
    ARMS,
    EVENTS,
    FEEDBACK_DIR,
    FEEDBACK_FIELDS,
    FEEDBACK_KEY,
    IMPRESSION_FIELDS,
    IMPRESSIONS_DIR,
    hour_folder,
    whole_lines,
)
from playlist_assets.lib.feeds.landing import hour_folder_name
from playlist_assets.lib.quality.quarantine import empty_hour_rejects, reject_rows
from playlist_assets.lib.schema import TIMESTAMP_DTYPE

Line = tuple[str, int, str]  # (source file, 1-based line number, text)

# Optional fields: null or a string. The rest are required.
_NULLABLE = frozenset({"user", "key_id"})
_TEXT = ("request_id", "model_version", "strategy", "track_id", "event")
# What a stored row keeps besides the contract's fields: where it came from.
PROVENANCE = ("source", "line")


@dataclass(frozen=True)
class HourLines:
    """One hour's accepted rows and rejected lines (``partition_hour`` on both)."""

    rows: pd.DataFrame
    rejects: pd.DataFrame

    @property
    def reasons(self) -> list[str]:
        return sorted(set(self.rejects["reason"].astype(str)))


def hour_lines(landing: Path, kind: str, start: datetime) -> list[Line]:
    """Every whole line of the hour's files of ``kind`` (IMPRESSIONS_DIR or FEEDBACK_DIR)."""
    folder = hour_folder(landing, kind, hour_folder_name(start))
    return [(str(path), number, text) for path, number, text in whole_lines(folder)]


def _decode(lines: Iterable[Line]) -> tuple[list[dict], list[tuple[Line, str]]]:
    records: list[dict] = []
    bad: list[tuple[Line, str]] = []
    for source, number, text in lines:
        try:
            record = json.loads(text)
        except ValueError as exc:
            bad.append(((source, number, text), f"not JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(record, dict):
            bad.append(((source, number, text), "not a JSON object"))
            continue
        record["source"], record["line"] = source, number
        records.append(record)
    return records, bad


def _is_text(values: pd.Series) -> np.ndarray:
    return np.fromiter((isinstance(v, str) and v != "" for v in values), bool, len(values))


def _is_text_list(values: pd.Series) -> np.ndarray:
    return np.fromiter(
        (isinstance(v, list) and all(isinstance(x, str) and x for x in v) for v in values),
        bool,
        len(values),
    )


class _Reasons:
    """The first reason each row is rejected for (later checks keep the earlier reason)."""

    def __init__(self, n: int) -> None:
        self.reason = np.full(n, None, dtype=object)

    def flag(self, bad: np.ndarray, text: str | Callable[[np.ndarray], pd.Series]) -> None:
        """``text``: the reason, or a function of the flagged rows' mask giving their reasons
        (built only for those rows: most hours have none)."""
        fresh = bad & pd.isna(self.reason)
        if fresh.any():
            values = text if isinstance(text, str) else np.asarray(text(fresh), dtype=object)
            self.reason[fresh] = values

    @property
    def ok(self) -> np.ndarray:
        return pd.isna(self.reason)


def _check_fields(frame: pd.DataFrame, fields: tuple[str, ...], reasons: _Reasons) -> None:
    for name in fields:
        if name not in frame.columns:
            frame[name] = None
        values = frame[name]
        missing = values.isna().to_numpy()
        if name not in _NULLABLE:
            reasons.flag(missing, f"missing field {name}")
        if name in _TEXT or name in _NULLABLE:
            reasons.flag(~missing & ~_is_text(values), f"field {name} is not a non-empty string")


def _check_time(frame: pd.DataFrame, start: datetime, end: datetime, reasons: _Reasons) -> None:
    raw = frame["time"]
    parsed = pd.to_datetime(
        raw.where(np.fromiter((isinstance(v, str) for v in raw), bool, len(raw))),
        utc=True,
        format="ISO8601",
        errors="coerce",
    )
    times = parsed.dt.tz_convert("UTC").dt.tz_localize(None).astype(TIMESTAMP_DTYPE)
    unparsed = times.isna().to_numpy() & raw.notna().to_numpy()
    reasons.flag(unparsed, "field time is not an ISO 8601 time")
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    outside = (times.notna() & ((times < lo) | (times >= hi))).to_numpy()
    reasons.flag(
        outside,
        lambda rows: (
            "time " + raw[rows].astype(str) + f" is outside the hour {lo:%Y-%m-%dT%H}:00..+1h"
        ),
    )
    frame["time"] = times


def _finish(
    frame: pd.DataFrame,
    reasons: _Reasons,
    bad: list[tuple[Line, str]],
    columns: tuple[str, ...],
    start: datetime,
) -> HourLines:
    ok = reasons.ok
    kept = frame.loc[ok, list(columns)].reset_index(drop=True)
    dropped = frame.loc[~ok]
    rows_json = dropped.drop(columns=[*PROVENANCE]).astype(object)
    rows_json["time"] = rows_json["time"].astype(str)
    parts = [
        reject_rows(
            dropped["source"].tolist(),
            reasons.reason[~ok].tolist(),
            rows_json,
            dropped["line"].tolist(),
        ),
        reject_rows(
            [line[0] for line, _ in bad],
            [why for _, why in bad],
            None,
            [line[1] for line, _ in bad],
        ).assign(row_json=[line[2][:2000] for line, _ in bad]),
    ]
    parts = [p for p in parts if len(p)]
    rejects = pd.concat(parts, ignore_index=True) if parts else empty_hour_rejects()
    rejects["partition_hour"] = pd.Series(
        [pd.Timestamp(start)] * len(rejects), dtype=TIMESTAMP_DTYPE
    )
    kept.insert(
        0, "partition_hour", pd.Series([pd.Timestamp(start)] * len(kept), dtype=TIMESTAMP_DTYPE)
    )
    return HourLines(kept, rejects)


IMPRESSION_COLUMNS = (*IMPRESSION_FIELDS, *PROVENANCE)


def parse_impressions(lines: Iterable[Line], start: datetime, end: datetime) -> HourLines:
    """The hour's impressions: a request id served twice counts once (the first line)."""
    records, bad = _decode(lines)
    frame = (
        pd.DataFrame.from_records(records) if records else pd.DataFrame({"source": [], "line": []})
    )
    reasons = _Reasons(len(frame))
    _check_fields(frame, IMPRESSION_FIELDS, reasons)
    reasons.flag(
        ~frame["arm"].isin(ARMS).to_numpy(),
        lambda rows: "arm " + frame["arm"][rows].astype(str) + " is not one of " + "/".join(ARMS),
    )
    k_ok = pd.Series(
        np.fromiter(
            (isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in frame["k"]),
            bool,
            len(frame),
        )
    )
    reasons.flag(~k_ok.to_numpy(dtype=bool), "field k is not a positive integer")
    for name in ("seeds", "ranked"):
        reasons.flag(~_is_text_list(frame[name]), f"field {name} is not a list of track ids")
    _check_time(frame, start, end, reasons)
    ids = frame["request_id"].where(reasons.ok)
    reasons.flag((ids.notna() & ids.duplicated()).to_numpy(), "duplicate request_id (counted once)")
    out = _finish(frame, reasons, bad, IMPRESSION_COLUMNS, start)
    out.rows["k"] = out.rows["k"].astype("int64")
    return out


FEEDBACK_COLUMNS = (*FEEDBACK_FIELDS, *PROVENANCE)


def parse_feedback(lines: Iterable[Line], start: datetime, end: datetime) -> HourLines:
    """The hour's feedback events: a repeat of ``FEEDBACK_KEY`` counts once (the first line)."""
    records, bad = _decode(lines)
    frame = (
        pd.DataFrame.from_records(records) if records else pd.DataFrame({"source": [], "line": []})
    )
    reasons = _Reasons(len(frame))
    _check_fields(frame, FEEDBACK_FIELDS, reasons)
    unknown = frame["event"].notna().to_numpy() & ~frame["event"].isin(EVENTS).to_numpy()
    reasons.flag(
        unknown,
        lambda rows: (
            "unknown event "
            + frame["event"][rows].astype(str)
            + " (known: "
            + ", ".join(EVENTS)
            + ")"
        ),
    )
    _check_time(frame, start, end, reasons)
    ok = reasons.ok  # key fields are strings there: hashable
    repeat = np.zeros(len(frame), dtype=bool)
    repeat[ok] = frame.loc[ok, list(FEEDBACK_KEY)].duplicated().to_numpy()
    reasons.flag(repeat, "duplicate event (request_id, track_id, event) counted once")
    return _finish(frame, reasons, bad, FEEDBACK_COLUMNS, start)


def read_hour(landing: Path, kind: str, start: datetime, end: datetime) -> HourLines:
    """Read and judge the hour's lines of ``kind`` from the landing folder."""
    parse = parse_impressions if kind == IMPRESSIONS_DIR else parse_feedback
    assert kind in (IMPRESSIONS_DIR, FEEDBACK_DIR), kind
    return parse(hour_lines(landing, kind, start), start, end)


def judge_shown(feedback: pd.DataFrame, shown: pd.DataFrame) -> HourLines:
    """Feedback joined with what was served: ``shown`` has one row per feedback row (same
    order) with ``found`` (the request is among the impressions), ``rank`` (1-based position of
    the track in that list, null if absent), ``arm``, ``model_version``, ``strategy`` of the
    impression and ``seen_before`` (the same event was stored in an earlier hour)."""
    reasons = _Reasons(len(feedback))
    reasons.flag(
        ~shown["found"].to_numpy(dtype=bool),
        lambda rows: (
            "request_id "
            + feedback["request_id"][rows].astype(str)
            + " is not among the impressions of "
            "this hour or the previous 24 hours"
        ),
    )
    reasons.flag(
        shown["rank"].isna().to_numpy(),
        lambda rows: (
            "track "
            + feedback["track_id"][rows].astype(str)
            + " was not in that request's ranked list"
        ),
    )
    reasons.flag(
        shown["seen_before"].to_numpy(dtype=bool),
        "duplicate event (request_id, track_id, event) already stored in an earlier hour",
    )
    frame = feedback.assign(
        rank=shown["rank"].to_numpy(),
        arm=shown["arm"].to_numpy(),
        model_version=shown["model_version"].to_numpy(),
        strategy=shown["strategy"].to_numpy(),
    )
    ok = reasons.ok
    kept = frame.loc[ok].reset_index(drop=True)
    kept["rank"] = kept["rank"].astype("int64")
    dropped = frame.loc[~ok]
    rows_json = dropped.drop(columns=[*PROVENANCE, "partition_hour"]).astype(object)
    rows_json["time"] = rows_json["time"].astype(str)
    rejects = reject_rows(
        dropped["source"].tolist(),
        reasons.reason[~ok].tolist(),
        rows_json,
        dropped["line"].tolist(),
    )
    rejects["partition_hour"] = dropped["partition_hour"].to_numpy()
    return HourLines(kept, rejects.astype({"partition_hour": TIMESTAMP_DTYPE}))


def with_served(lines: HourLines, shown: pd.DataFrame) -> HourLines:
    """``lines`` judged against what was served (``judge_shown``), all rejects together."""
    judged = judge_shown(lines.rows, shown)
    parts = [f for f in (lines.rejects, judged.rejects) if len(f)]
    rejects = pd.concat(parts, ignore_index=True) if parts else lines.rejects
    return HourLines(judged.rows, rejects)
