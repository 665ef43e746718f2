"""The rules evaluated with vectorized pandas: batch gating and per-row quarantine reasons.

Mirrors Great Expectations' semantics for the same rules (see ``gx_suite``): value rules ignore
missing values (the ``*_not_null`` rules catch those), ``mostly`` is the share of the rows each
rule looks at, and a rule on a column that is missing or of the wrong type is not evaluated
(the schema rule already rejects the batch).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from playlist_assets.lib.quality.rules import (
    FEED_BOOKKEEPING_COLUMNS,
    NEW_TRACKS_SUITE,
    Rule,
    SuiteSpec,
)
from playlist_assets.lib.schema import KAGGLE_COLUMNS

# The quarantined_tracks table: where a row came from, which row, why, and the row itself.
QUARANTINE_SQL_TYPES: dict[str, str] = {
    "source": "VARCHAR",
    "row_number": "BIGINT",
    "track_id": "VARCHAR",
    "reason": "VARCHAR",
    "row_json": "VARCHAR",
    "quarantined_at": "TIMESTAMP",
}
QUARANTINE_COLUMNS: tuple[str, ...] = tuple(QUARANTINE_SQL_TYPES)
_SAMPLES = 3


@dataclass(frozen=True)
class RuleResult:
    """How one rule fared on one batch."""

    rule: Rule
    evaluated: bool
    success: bool
    unexpected: int = 0
    considered: int = 0
    detail: str = ""

    @property
    def problem(self) -> str | None:
        """A one-line explanation when the rule rejects the batch."""
        if self.success:
            return None
        if self.rule.kind in ("not_null", "between", "in_set", "regex", "unique_together"):
            share = self.unexpected / self.considered if self.considered else 0.0
            return (
                f"{self.rule.description}: {self.unexpected} of {self.considered} rows "
                f"({share:.1%}) break it, more than the {1 - (self.rule.mostly or 1):.0%} "
                f"allowed{_suffix(self.detail)}"
            )
        return f"{self.rule.description}{_suffix(self.detail)}"


def _suffix(detail: str) -> str:
    return f" ({detail})" if detail else ""


@dataclass
class BatchEvaluation:
    """Every rule of a suite evaluated on one batch, with the rows each row rule rejects."""

    suite: SuiteSpec
    rows: int
    results: list[RuleResult]
    bad_rows: dict[str, np.ndarray] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    @property
    def problems(self) -> list[str]:
        """Why the batch is rejected, most fundamental first (empty list: accepted)."""
        if self.rows == 0:
            return [f"empty batch: 0 rows (at least {self.suite.min_rows} required)"]
        return [p for r in self.results if (p := r.problem)]


def _series(df: pd.DataFrame, column: str) -> pd.Series | None:
    return df[column] if column in df.columns else None


def _is_numeric(s: pd.Series) -> bool:
    if ptypes.is_bool_dtype(s.dtype):
        return False
    if ptypes.is_numeric_dtype(s.dtype):
        return True
    # Great Expectations checks an object column value by value (skipping nulls), so an
    # all-null object column passes its type expectation; any value fails it.
    return s.dtype == object and not s.notna().any()


def _is_text(s: pd.Series) -> bool:
    if isinstance(s.dtype, pd.StringDtype):
        return True
    return s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")


def _is_boolean(s: pd.Series) -> bool:
    if ptypes.is_bool_dtype(s.dtype):
        return True
    return s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("boolean", "empty")


_TYPE_TESTS = {"number": _is_numeric, "string": _is_text, "boolean": _is_boolean}


def show_value(value: Any) -> str:
    """A value as a reader should see it in a reason or a sample: 'abc', NaN, inf, 0.5."""
    if value is None or value is pd.NA:
        return "null"
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    return str(value)


def _type_detail(s: pd.Series, family: str) -> str:
    dtype = "text" if s.dtype == object or isinstance(s.dtype, pd.StringDtype) else str(s.dtype)
    if family != "number":
        samples = ", ".join(show_value(v) for v in s.dropna().head(_SAMPLES))
        return f"found {dtype} values such as {samples}" if samples else f"found {dtype}"
    parsed = pd.to_numeric(s, errors="coerce")
    offending = s.notna() & parsed.isna()
    if offending.any():
        positions = np.flatnonzero(offending.to_numpy())[:_SAMPLES]
        shown = ", ".join(f"{show_value(s.iloc[p])} in row {p + 1}" for p in positions)
        return f"found {dtype}: non-numeric value(s) {shown}"
    return f"found {dtype}: numbers stored as text"


def _mostly_ok(considered: int, unexpected: int, mostly: float | None) -> bool:
    if considered == 0:
        return True
    return (considered - unexpected) / considered >= (mostly if mostly is not None else 1.0)


def _value_mask(rule: Rule, s: pd.Series) -> np.ndarray:
    """True where a non-null value breaks a value rule (between / in_set / regex)."""
    present = s.notna().to_numpy()
    if rule.kind == "between":
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            ok = np.ones(len(values), dtype=bool)
            if rule.min_value is not None:
                ok &= values > rule.min_value if rule.strict_min else values >= rule.min_value
            if rule.max_value is not None:
                ok &= values < rule.max_value if rule.strict_max else values <= rule.max_value
        return present & ~ok
    if rule.kind == "in_set":
        return present & ~s.isin(list(rule.value_set)).to_numpy()
    if rule.kind == "regex":
        matched = s.astype(str).str.contains(rule.regex or "", regex=True).to_numpy(dtype=bool)
        return present & ~matched
    raise ValueError(f"not a value rule: {rule.kind}")


def evaluate_batch(df: pd.DataFrame, suite: SuiteSpec = NEW_TRACKS_SUITE) -> BatchEvaluation:
    """Evaluate every rule of ``suite`` on ``df`` (vectorized; one pass per rule)."""
    n = len(df)
    results: list[RuleResult] = []
    bad_rows: dict[str, np.ndarray] = {}
    typed_ok: dict[str, bool] = {}
    for rule in suite.rules:
        column = rule.column
        s = _series(df, column) if column else None
        if rule.kind == "columns_present":
            missing = [c for c in rule.columns if c not in df.columns]
            detail = f"missing: {', '.join(missing)}" if missing else ""
            results.append(RuleResult(rule, True, not missing, len(missing), 0, detail))
        elif rule.kind == "row_count":
            ok = n >= (rule.min_value or 0)
            results.append(RuleResult(rule, True, ok, 0, n, f"found {n} row(s)"))
        elif s is None and rule.kind != "unique_together":
            results.append(RuleResult(rule, False, True, detail=f"column {column} is missing"))
        elif rule.kind == "column_type":
            ok = _TYPE_TESTS[rule.type_family or "number"](s)
            typed_ok[column] = ok
            results.append(
                RuleResult(rule, True, ok, 0, n, "" if ok else _type_detail(s, rule.type_family))
            )
        elif rule.kind == "not_null":
            mask = s.isna().to_numpy()
            unexpected = int(mask.sum())
            bad_rows[rule.name] = mask
            detail = "the column is entirely empty" if n and unexpected == n else ""
            ok = _mostly_ok(n, unexpected, rule.mostly)
            results.append(RuleResult(rule, True, ok, unexpected, n, detail))
        elif rule.kind in ("between", "in_set", "regex"):
            if not typed_ok.get(column, True):
                results.append(RuleResult(rule, False, True, detail=f"{column} has the wrong type"))
                continue
            mask = _value_mask(rule, s)
            considered = int(s.notna().sum())
            unexpected = int(mask.sum())
            bad_rows[rule.name] = mask
            detail = ""
            if unexpected:
                samples = s[mask].head(_SAMPLES)
                detail = "e.g. " + ", ".join(show_value(v) for v in samples)
            ok = _mostly_ok(considered, unexpected, rule.mostly)
            results.append(RuleResult(rule, True, ok, unexpected, considered, detail))
        elif rule.kind == "unique_together":
            if any(c not in df.columns for c in rule.columns):
                results.append(RuleResult(rule, False, True, detail="columns missing"))
                continue
            subset = df[list(rule.columns)]
            considered_mask = subset.notna().any(axis=1).to_numpy()
            dup = subset.duplicated(keep=False).to_numpy() & considered_mask
            considered, unexpected = int(considered_mask.sum()), int(dup.sum())
            ok = _mostly_ok(considered, unexpected, rule.mostly)
            results.append(RuleResult(rule, True, ok, unexpected, considered))
        else:  # pragma: no cover - every kind is handled above
            raise ValueError(f"unknown rule kind {rule.kind}")
    return BatchEvaluation(
        suite=suite,
        rows=n,
        results=results,
        bad_rows=bad_rows,
        extra_columns=extra_columns(df),
    )


def batch_problems(df: pd.DataFrame, suite: SuiteSpec = NEW_TRACKS_SUITE) -> list[str]:
    """Why ``df`` cannot be taken in as a batch; empty when it passes ``suite``."""
    return evaluate_batch(df, suite).problems


def extra_columns(df: pd.DataFrame) -> list[str]:
    """Columns beyond the Kaggle schema (and the feed's bookkeeping): accepted and ignored."""
    known = set(KAGGLE_COLUMNS) | set(FEED_BOOKKEEPING_COLUMNS)
    return [str(c) for c in df.columns if c not in known]


@dataclass
class RowSplit:
    """A batch split into rows that pass every row rule and quarantined rows (with reasons)."""

    valid: pd.DataFrame
    quarantined: pd.DataFrame
    evaluation: BatchEvaluation


def split_rows(
    df: pd.DataFrame,
    *,
    source: str,
    suite: SuiteSpec = NEW_TRACKS_SUITE,
    evaluation: BatchEvaluation | None = None,
    quarantined_at: pd.Timestamp | None = None,
) -> RowSplit:
    """Quarantine the rows of an accepted batch that break a row rule.

    ``valid`` keeps the batch's columns plus ``_row_number`` (1-based position in the batch).
    ``quarantined`` has ``QUARANTINE_COLUMNS``; its ``reason`` names every rule a row broke
    and the offending value.
    """
    evaluation = evaluation or evaluate_batch(df, suite)
    n = len(df)
    stamp = quarantined_at if quarantined_at is not None else _now()
    any_bad = np.zeros(n, dtype=bool)
    parts: list[pd.DataFrame] = []
    for rule in suite.rules:
        mask = evaluation.bad_rows.get(rule.name)
        if mask is None or not rule.is_row_level or not mask.any():
            continue
        any_bad |= mask
        positions = np.flatnonzero(mask)
        values = df[rule.column].iloc[positions]
        reasons = [f"{rule.description} (got {show_value(v)})" for v in values.tolist()]
        parts.append(pd.DataFrame({"pos": positions, "reason": reasons}))
    valid = df.loc[~any_bad].copy()
    valid["_row_number"] = np.flatnonzero(~any_bad) + 1
    if parts:
        reasons = pd.concat(parts).groupby("pos", sort=True)["reason"].agg("; ".join)
        quarantined = quarantine_frame(
            df.iloc[reasons.index.to_numpy()],
            source,
            reasons.index.to_numpy() + 1,
            reasons.tolist(),
            stamp,
        )
    else:
        quarantined = empty_quarantine()
    return RowSplit(valid=valid, quarantined=quarantined, evaluation=evaluation)


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": pd.Series(dtype="string"),
            "row_number": pd.Series(dtype="int64"),
            "track_id": pd.Series(dtype="string"),
            "reason": pd.Series(dtype="string"),
            "row_json": pd.Series(dtype="string"),
            "quarantined_at": pd.Series(dtype="datetime64[ns]"),
        }
    )


def quarantine_frame(
    rows: pd.DataFrame,
    source: str,
    row_numbers: Sequence[int] | np.ndarray,
    reasons: Sequence[str],
    quarantined_at: pd.Timestamp,
) -> pd.DataFrame:
    """Rejected rows in ``quarantined_tracks`` shape, each row kept whole as JSON."""
    if len(rows) == 0:
        return empty_quarantine()
    records = rows.to_dict(orient="records")
    ids = rows["track_id"].tolist() if "track_id" in rows.columns else [None] * len(rows)
    frame = pd.DataFrame(
        {
            "source": source,
            "row_number": np.asarray(row_numbers, dtype="int64"),
            "track_id": [None if _missing(i) else str(i) for i in ids],
            "reason": list(reasons),
            "row_json": [row_to_json(r) for r in records],
            "quarantined_at": quarantined_at,
        }
    )
    return frame.astype(empty_quarantine().dtypes.to_dict())


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _json_value(value: Any) -> Any:
    if _missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def row_to_json(record: dict[str, Any]) -> str:
    """One original row as strict JSON (NaN -> null, inf -> "inf", timestamps as text)."""
    return json.dumps({str(k): _json_value(v) for k, v in record.items()}, ensure_ascii=False)
