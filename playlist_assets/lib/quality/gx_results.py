"""What a Great Expectations validation returned, flattened for metadata, judging and tests.

``gx_suite`` runs the suites; these dataclasses are all the rest of the project reads of a
validation result (no great_expectations import needed to read them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playlist_assets.lib.quality.quarantine import show_value

_SAMPLE_VALUES = 5


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result, flattened for metadata and tests."""

    rule: str
    level: str
    expectation: str
    column: str | None
    success: bool
    observed: str
    unexpected_count: int | None
    element_count: int | None
    samples: tuple[str, ...]
    error: str | None = None
    # Positions (in the validated frame) of the rows breaking a row rule: only with
    # ``ROW_RESULT_FORMAT``, which is how quarantine rows are found.
    unexpected_index: tuple[int, ...] = ()


@dataclass(frozen=True)
class SuiteOutcome:
    suite_name: str
    success: bool
    row_count: int
    expectations: tuple[ExpectationOutcome, ...]
    docs_path: Path | None
    seconds: float

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success]

    def by_rule(self, name: str) -> ExpectationOutcome:
        for outcome in self.expectations:
            if outcome.rule == name:
                return outcome
        raise KeyError(name)

    def markdown(self, *, limit: int | None = None) -> str:
        """Failed expectations first, then those with unexpected rows, then the rest."""

        def order(e: ExpectationOutcome) -> tuple[int, str]:
            return (0 if not e.success else 1 if e.unexpected_count else 2, e.rule)

        rows = sorted(self.expectations, key=order)
        shown = rows if limit is None else rows[:limit]
        lines = [
            "| | rule | expectation | observed | unexpected | samples |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for e in shown:
            mark = "✅" if e.success else "❌"
            unexpected = "" if e.unexpected_count is None else str(e.unexpected_count)
            observed = e.error or e.observed
            lines.append(
                f"| {mark} | {_md(e.rule)} | {_md(e.expectation)} | {_md(observed)} "
                f"| {unexpected} | {_md(', '.join(e.samples))} |"
            )
        if limit is not None and len(rows) > limit:
            lines.append(f"\n{len(rows) - limit} more expectation(s) passed.")
        return "\n".join(lines)


def _md(text: str) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 160 else text[:157] + "..."


def _observed(result: dict[str, Any]) -> str:
    if "observed_value" in result:
        value = result["observed_value"]
        if isinstance(value, float):
            return f"{value:.4g}"
        if isinstance(value, list) and len(value) > 8:
            return f"{len(value)} columns"
        return str(value)
    if "unexpected_count" in result:
        count = result.get("element_count") or 0
        pct = result.get("unexpected_percent")
        pct_text = (
            "" if pct is None or (isinstance(pct, float) and math.isnan(pct)) else f" ({pct:.2f}%)"
        )
        return f"{result['unexpected_count']} of {count} unexpected{pct_text}"
    return ""


def _samples(result: dict[str, Any]) -> tuple[str, ...]:
    details = result.get("details") or {}
    mismatched = details.get("mismatched") if isinstance(details, dict) else None
    if mismatched:
        parts = []
        if mismatched.get("missing"):
            parts.append("missing: " + ", ".join(mismatched["missing"]))
        if mismatched.get("unexpected"):
            parts.append("extra (ignored): " + ", ".join(mismatched["unexpected"]))
        return tuple(parts)
    values = result.get("partial_unexpected_list") or []
    shown = []
    for value in values[:_SAMPLE_VALUES]:
        if isinstance(value, dict):
            shown.append("/".join(show_value(v) for v in value.values()))
        else:
            shown.append(show_value(value))
    return tuple(shown)


def _error_text(exception_info: Any) -> str | None:
    infos = exception_info.values() if isinstance(exception_info, dict) else [exception_info]
    for info in infos:
        if not isinstance(info, dict):
            info = getattr(info, "to_json_dict", lambda: {})()
        if info.get("raised_exception"):
            message = str(info.get("exception_message") or "raised an exception")
            return "not evaluated: " + message.splitlines()[0][:140]
    return None


def outcome(result: Any, columns: set[str]) -> ExpectationOutcome:
    """One Great Expectations result (``ExpectationValidationResult``) of a frame with ``columns``."""
    config = result.expectation_config
    meta = config.meta or {}
    raw = dict(result.result or {})
    column = config.kwargs.get("column")
    error = _error_text(result.exception_info)
    if column is not None and column not in columns:
        error = f"not evaluated: column {column} is missing"
    return ExpectationOutcome(
        rule=str(meta.get("rule", config.type)),
        level=str(meta.get("level", "")),
        expectation=config.type,
        column=column,
        success=bool(result.success),
        observed=_observed(raw),
        unexpected_count=raw.get("unexpected_count"),
        element_count=raw.get("element_count"),
        samples=_samples(raw),
        error=error,
        unexpected_index=tuple(int(i) for i in raw.get("unexpected_index_list") or ()),
    )
