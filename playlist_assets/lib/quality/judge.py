"""Judge a batch once, with Great Expectations: verdict per part, quarantine rows, typed rows.

One Great Expectations validation covers the whole frame (a catalogue, one hour, or a range of
hours in a backfill: one validation instead of one per hour). Its results, asked for with
unexpected row positions (``ROW_RESULT_FORMAT``), are then read per *part* (the catalogue, or
each hour):

- schema rules (columns, types) hold or fail for the whole frame; the row count is per part;
- a row or duplicate rule fails a part when more than ``1 - mostly`` of the part's rows that the
  rule looks at (non-null values; every row for ``*_not_null``) are among the unexpected rows.
  Duplicates count within a part only (a track fed again in a later hour is an update, not a
  duplicate);
- rows of an accepted part that Great Expectations lists as unexpected for a row rule are
  quarantined with the rule and the value; the others are typed (``to_typed``) once, here.

Nothing re-evaluates a rule in pandas: the only arithmetic on our side is counting the listed
positions per part, which a range run needs because Great Expectations applies ``mostly`` to
the frame as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from playlist_assets.lib.quality.gx_results import ExpectationOutcome, SuiteOutcome
from playlist_assets.lib.quality.gx_suite import ROW_RESULT_FORMAT, run_suite
from playlist_assets.lib.quality.quarantine import (
    empty_hour_rejects,
    empty_rejects,
    reject_rows,
    show_value,
)
from playlist_assets.lib.quality.rules import FEED_BOOKKEEPING_COLUMNS, Rule, SuiteSpec
from playlist_assets.lib.schema import KAGGLE_COLUMNS, TIMESTAMP_DTYPE, TYPED_DTYPES

_SAMPLES = 3
# Columns of the stored typed rows beyond TYPED_DTYPES: which hour (NULL: the catalogue) and
# the row's 1-based position in its part (first occurrence wins de-duplication within a part).
ACCEPTED_EXTRA_COLUMNS: tuple[str, ...] = ("partition_hour", "row_number")


@dataclass(frozen=True)
class Part:
    """A slice of the judged frame that gets its own verdict: the catalogue, or one hour."""

    label: str
    source: str
    positions: np.ndarray
    hour: pd.Timestamp | None = None

    def row_numbers(self) -> np.ndarray:
        """1-based positions of the part's rows within the part."""
        return np.arange(1, len(self.positions) + 1)


@dataclass(frozen=True)
class PartVerdict:
    label: str
    source: str
    hour: pd.Timestamp | None
    rows: int
    problems: tuple[str, ...]
    quarantined_rows: int
    tolerated: tuple[tuple[str, int], ...] = ()

    @property
    def accepted(self) -> bool:
        return not self.problems


@dataclass
class Judgment:
    """What one validation decided: a verdict per part and the rows to store."""

    outcome: SuiteOutcome
    verdicts: list[PartVerdict]
    accepted: pd.DataFrame  # TYPED_DTYPES + ACCEPTED_EXTRA_COLUMNS, accepted parts only
    rejects: pd.DataFrame  # REJECT_COLUMNS + partition_hour, every part
    extra_columns: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[PartVerdict]:
        return [v for v in self.verdicts if not v.accepted]


def to_typed(df: pd.DataFrame) -> pd.DataFrame:
    """The Kaggle columns of rows that passed every rule, cast to ``TYPED_DTYPES``."""
    typed: dict[str, pd.Series] = {}
    for column, dtype in TYPED_DTYPES.items():
        s = df[column]
        if dtype == "int64":
            typed[column] = pd.to_numeric(s).round().astype("int64")
        elif dtype == "bool":
            typed[column] = s.astype(bool)
        else:
            typed[column] = s.astype(dtype)
    return pd.DataFrame(typed, index=df.index)


def extra_columns(df: pd.DataFrame) -> list[str]:
    """Columns beyond the Kaggle schema (and the feed's bookkeeping): accepted and ignored."""
    known = set(KAGGLE_COLUMNS) | set(FEED_BOOKKEEPING_COLUMNS)
    return [str(c) for c in df.columns if c not in known]


def whole_frame(frame: pd.DataFrame, label: str, source: str) -> list[Part]:
    return [Part(label, source, np.arange(len(frame)))]


def hour_parts(frame: pd.DataFrame, key_of_hour) -> list[Part]:
    """One part per ``partition_hour`` of ``frame`` (oldest first); ``key_of_hour`` names it."""
    hours = pd.to_datetime(frame["partition_hour"]).to_numpy()
    parts = []
    for hour in np.unique(hours):
        key = key_of_hour(hour)
        positions = np.flatnonzero(hours == hour)
        parts.append(Part(key, f"new_tracks:{key}", positions, pd.Timestamp(hour)))
    return parts


def judge(
    frame: pd.DataFrame,
    spec: SuiteSpec,
    parts: Sequence[Part],
    *,
    data_docs_dir: Path | None = None,
    batch_name: str | None = None,
    run_name: str | None = None,
) -> Judgment:
    """Validate ``frame`` once against ``spec`` and decide each part (positions into ``frame``)."""
    frame = frame.reset_index(drop=True)
    outcome = run_suite(
        frame,
        spec,
        data_docs_dir=data_docs_dir,
        batch_name=batch_name,
        run_name=run_name,
        result_format=ROW_RESULT_FORMAT,
    )
    by_rule = {e.rule: e for e in outcome.expectations}
    masks = {
        rule.name: _mask(by_rule[rule.name], len(frame))
        for rule in spec.rules
        if rule.level in ("row", "duplicate") and _evaluated(by_rule.get(rule.name))
    }
    present = {c: frame[c].notna().to_numpy() for c in frame.columns if c in _value_columns(spec)}
    verdicts, kept, rejects = [], [], []
    for part in parts:
        problems, tolerated = _part_problems(frame, spec, by_rule, masks, present, part)
        if problems:
            reason = "whole batch rejected: " + "; ".join(problems)
            rows = frame.iloc[part.positions]
            bad = reject_rows(part.source, [reason] * len(rows), rows, part.row_numbers())
        else:
            bad, keep = _split(frame, spec, masks, part)
            kept.append((part, keep))
        if len(bad):
            rejects.append(bad.assign(partition_hour=part.hour))
        verdicts.append(
            PartVerdict(
                part.label,
                part.source,
                part.hour,
                len(part.positions),
                problems,
                len(bad),
                tolerated,
            )
        )
    return Judgment(
        outcome=outcome,
        verdicts=verdicts,
        accepted=_typed_rows(frame, kept),
        rejects=_concat(rejects, empty_hour_rejects()),
        extra_columns=extra_columns(frame),
    )


def _value_columns(spec: SuiteSpec) -> set[str]:
    return {r.column for r in spec.rules if r.column} | {c for r in spec.rules for c in r.columns}


def _typed_rows(frame: pd.DataFrame, kept: list[tuple[Part, np.ndarray]]) -> pd.DataFrame:
    """The kept rows of every accepted part, typed in one go, with their hour and row number."""
    kept = [(part, keep) for part, keep in kept if keep.any()]
    if not kept:
        return empty_accepted()
    positions = np.concatenate([part.positions[keep] for part, keep in kept])
    good = to_typed(frame.iloc[positions]).reset_index(drop=True)
    hours = [pd.NaT if part.hour is None else part.hour for part, keep in kept]
    counts = [int(keep.sum()) for _, keep in kept]
    hour_of_row = pd.Series(hours, dtype=TIMESTAMP_DTYPE).repeat(counts)
    good["partition_hour"] = hour_of_row.reset_index(drop=True)
    good["row_number"] = np.concatenate([np.flatnonzero(keep) + 1 for _, keep in kept])
    return good


def empty_accepted() -> pd.DataFrame:
    typed = to_typed(pd.DataFrame({c: pd.Series(dtype=d) for c, d in TYPED_DTYPES.items()}))
    return typed.assign(
        partition_hour=pd.Series(dtype=TIMESTAMP_DTYPE), row_number=pd.Series(dtype="int64")
    )


def _concat(frames: list[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty
    out = pd.concat(frames, ignore_index=True)
    out["partition_hour"] = out["partition_hour"].astype(TIMESTAMP_DTYPE)
    return out


def _evaluated(e: ExpectationOutcome | None) -> bool:
    return e is not None and e.error is None


def _mask(e: ExpectationOutcome, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    if e.unexpected_index:
        mask[np.asarray(e.unexpected_index, dtype=np.int64)] = True
    return mask


def _part_problems(
    frame: pd.DataFrame,
    spec: SuiteSpec,
    by_rule: dict[str, ExpectationOutcome],
    masks: dict[str, np.ndarray],
    present: dict[str, np.ndarray],
    part: Part,
) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
    """Why ``part`` is rejected (rule order; empty: accepted) and the row rules it tolerated."""
    n = len(part.positions)
    if n == 0:
        return (f"empty batch: 0 rows (at least {spec.min_rows} required)",), ()
    problems: list[str] = []
    tolerated: list[tuple[str, int]] = []
    broken_columns: set[str] = set()
    for rule in spec.rules:
        e = by_rule.get(rule.name)
        if e is None:
            continue
        if rule.kind == "row_count":
            if n < (rule.min_value or 0):
                problems.append(f"{rule.description} (found {n} row(s))")
        elif rule.level == "schema":
            if e.error and (rule.column in broken_columns or rule.column not in frame.columns):
                continue  # not evaluated: the missing column is the problem already named
            if not e.success:
                problems.append(_schema_problem(frame, rule, e))
                broken_columns |= {rule.column} if rule.column else set(_missing(frame, rule))
        elif rule.name in masks:
            flagged, considered = _count(frame, rule, masks[rule.name], present, part)
            unexpected = len(flagged)
            if not unexpected:
                continue
            if _mostly_ok(considered, unexpected, rule.mostly):
                tolerated.append((rule.name, unexpected))
                continue
            detail = _detail(frame, rule, flagged, len(part.positions))
            share = unexpected / considered if considered else 0.0
            problems.append(
                f"{rule.description}: {unexpected} of {considered} rows ({share:.1%}) break it, "
                f"more than the {1 - (rule.mostly or 1):.0%} allowed"
                + (f" ({detail})" if detail else "")
            )
        elif e.error and not ({rule.column, *rule.columns} & broken_columns) and not problems:
            problems.append(f"{rule.name}: {e.error}")
    return tuple(problems), tuple(tolerated)


def _missing(frame: pd.DataFrame, rule: Rule) -> list[str]:
    return [c for c in rule.columns if c not in frame.columns]


def _schema_problem(frame: pd.DataFrame, rule: Rule, e: ExpectationOutcome) -> str:
    if rule.kind == "columns_present":
        return f"{rule.description} (missing: {', '.join(_missing(frame, rule))})"
    if rule.kind == "column_type" and rule.column in frame.columns:
        return f"{rule.description} ({type_detail(frame[rule.column], rule.type_family)})"
    return f"{rule.description} ({e.error or e.observed})"


def type_detail(s: pd.Series, family: str | None) -> str:
    """What a column of the wrong type holds, e.g. "found text: non-numeric value(s) 'fast' in row 3"."""
    dtype = "text" if s.dtype == object or isinstance(s.dtype, pd.StringDtype) else str(s.dtype)
    if family != "number":
        samples = ", ".join(show_value(v) for v in s.dropna().head(_SAMPLES))
        return f"found {dtype} values such as {samples}" if samples else f"found {dtype}"
    if ptypes.is_bool_dtype(s.dtype):
        return f"found {dtype}"
    parsed = pd.to_numeric(s, errors="coerce")
    offending = s.notna() & parsed.isna()
    if offending.any():
        positions = np.flatnonzero(offending.to_numpy())[:_SAMPLES]
        shown = ", ".join(f"{show_value(s.iloc[p])} in row {p + 1}" for p in positions)
        return f"found {dtype}: non-numeric value(s) {shown}"
    return f"found {dtype}: numbers stored as text"


def _count(
    frame: pd.DataFrame,
    rule: Rule,
    mask: np.ndarray,
    present: dict[str, np.ndarray],
    part: Part,
) -> tuple[np.ndarray, int]:
    """Positions of ``part``'s unexpected rows and how many rows the rule looked at."""
    flagged = part.positions[mask[part.positions]]
    if rule.kind == "unique_together":
        if len(flagged):
            subset = frame.iloc[flagged][list(rule.columns)]
            flagged = flagged[subset.duplicated(keep=False).to_numpy()]
        looked_at = np.zeros(len(part.positions), dtype=bool)
        for column in rule.columns:
            looked_at |= present[column][part.positions]
        return flagged, int(looked_at.sum())
    if rule.kind == "not_null":
        return flagged, len(part.positions)
    return flagged, int(present[rule.column][part.positions].sum())


def _detail(frame: pd.DataFrame, rule: Rule, flagged: np.ndarray, rows: int) -> str:
    """Why a failing row rule failed, in a few words: sample values, or an empty column."""
    if rule.kind == "unique_together":
        return ""
    if rule.kind == "not_null":
        return "the column is entirely empty" if rows and len(flagged) == rows else ""
    samples = ", ".join(show_value(v) for v in frame[rule.column].iloc[flagged[:_SAMPLES]].tolist())
    return f"e.g. {samples}" if samples else ""


def _mostly_ok(considered: int, unexpected: int, mostly: float | None) -> bool:
    if considered == 0:
        return True
    return (considered - unexpected) / considered >= (mostly if mostly is not None else 1.0)


def _split(
    frame: pd.DataFrame, spec: SuiteSpec, masks: dict[str, np.ndarray], part: Part
) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows of an accepted part: quarantined (with every rule they broke), and which to keep."""
    reasons: dict[int, list[str]] = {}
    for rule in spec.rules:
        mask = masks.get(rule.name)
        if mask is None or not rule.is_row_level:
            continue
        local = np.flatnonzero(mask[part.positions])
        if not len(local):
            continue
        values = frame[rule.column].iloc[part.positions[local]].tolist()
        for i, value in zip(local.tolist(), values, strict=True):
            reasons.setdefault(i, []).append(f"{rule.description} (got {show_value(value)})")
    keep = np.ones(len(part.positions), dtype=bool)
    if not reasons:
        return empty_rejects(), keep
    bad_local = np.array(sorted(reasons), dtype=np.int64)
    keep[bad_local] = False
    bad = reject_rows(
        part.source,
        ["; ".join(reasons[i]) for i in bad_local.tolist()],
        frame.iloc[part.positions[bad_local]],
        bad_local + 1,
    )
    return bad, keep
