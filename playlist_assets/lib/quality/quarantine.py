"""The one reject row: where a row came from, which row, why, and the row itself as JSON.

Every place that keeps rows aside builds them here: the feeds (rows they cannot type), the
quality judgment (rows breaking a rule, rows of a rejected hour), so ``quarantined_tracks`` is
a plain union of tables that share these columns.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from playlist_assets.lib.schema import TIMESTAMP_DTYPE

# The quarantined_tracks table, in column order (inserts are positional).
QUARANTINE_SQL_TYPES: dict[str, str] = {
    "source": "VARCHAR",
    "row_number": "BIGINT",
    "track_id": "VARCHAR",
    "reason": "VARCHAR",
    "row_json": "VARCHAR",
    "quarantined_at": "TIMESTAMP",
}
QUARANTINE_COLUMNS: tuple[str, ...] = tuple(QUARANTINE_SQL_TYPES)
# What a builder returns; whoever stores the rows stamps ``quarantined_at``.
REJECT_COLUMNS: tuple[str, ...] = QUARANTINE_COLUMNS[:-1]
_REJECT_DTYPES: dict[str, str] = {
    "source": "string",
    "row_number": "Int64",  # a file-level reject has no row
    "track_id": "string",
    "reason": "string",
    "row_json": "string",
}


def empty_rejects() -> pd.DataFrame:
    """Zero reject rows with the shared columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in _REJECT_DTYPES.items()})


def empty_hour_rejects() -> pd.DataFrame:
    """Zero reject rows with the hour they belong to (``partition_hour``)."""
    return empty_rejects().assign(partition_hour=pd.Series(dtype=TIMESTAMP_DTYPE))


def reject_rows(
    source: str | Sequence[str],
    reasons: Sequence[str],
    rows: pd.DataFrame | None = None,
    row_numbers: Sequence[int | None] | np.ndarray | None = None,
) -> pd.DataFrame:
    """Reject rows (``REJECT_COLUMNS``); ``rows`` are the rows as they came, kept whole as JSON."""
    n = len(reasons)
    if n == 0:
        return empty_rejects()
    if rows is not None and len(rows):
        row_json: list[str | None] = [row_to_json(r) for r in rows.to_dict(orient="records")]
        ids = rows["track_id"].tolist() if "track_id" in rows.columns else [None] * n
    else:
        row_json, ids = [None] * n, [None] * n
    frame = pd.DataFrame(
        {
            "source": [source] * n if isinstance(source, str) else list(source),
            "row_number": list(row_numbers) if row_numbers is not None else [None] * n,
            "track_id": [None if is_missing(i) else str(i) for i in ids],
            "reason": list(reasons),
            "row_json": row_json,
        }
    )
    return frame.astype(_REJECT_DTYPES)


def stamped(rejects: pd.DataFrame, at: pd.Timestamp | None = None) -> pd.DataFrame:
    """``rejects`` with ``quarantined_at`` (default: now, naive UTC), in table column order."""
    moment = at if at is not None else now_utc()
    out = rejects.assign(quarantined_at=pd.Series([moment] * len(rejects), dtype=TIMESTAMP_DTYPE))
    return out.loc[
        :, [*QUARANTINE_COLUMNS, *[c for c in out.columns if c not in QUARANTINE_COLUMNS]]
    ]


def now_utc() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


def show_value(value: Any) -> str:
    """A value as a reader should see it in a reason or a sample: 'abc', NaN, inf, 0.5."""
    if value is None or value is pd.NA:
        return "null"
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    if isinstance(value, np.generic):
        return show_value(value.item())
    return str(value)


def is_missing(value: Any) -> bool:
    try:
        return value is None or value is pd.NA or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if is_missing(value):
        return None
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def row_to_json(record: dict[str, Any]) -> str:
    """One original row as strict JSON (NaN -> null, inf -> "inf", timestamps as text)."""
    return json.dumps({str(k): _json_value(v) for k, v in record.items()}, ensure_ascii=False)
