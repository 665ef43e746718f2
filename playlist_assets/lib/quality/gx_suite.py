"""The rules as Great Expectations 1.x suites, run in an ephemeral context, with Data Docs.

great_expectations is imported inside these functions only: importing it costs seconds, and
the code location must load fast. The module is just over 400 lines because the suite, its
row-level result format and the Data Docs rendering must agree on the same expectation ids.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

from playlist_assets.lib.quality.quarantine import show_value
from playlist_assets.lib.quality.rules import Rule, SuiteSpec

# Pandas dtype names Great Expectations accepts per type family (numpy and nullable pandas).
_NUMBER_TYPES: tuple[str, ...] = (
    *(f"int{b}" for b in (8, 16, 32, 64)),
    *(f"uint{b}" for b in (8, 16, 32, 64)),
    "float16",
    "float32",
    "float64",
    *(f"Int{b}" for b in (8, 16, 32, 64)),
    *(f"UInt{b}" for b in (8, 16, 32, 64)),
    "Float32",
    "Float64",
)
TYPE_LISTS: dict[str, list[str]] = {
    "number": list(_NUMBER_TYPES),
    "string": ["str", "StringDtype"],
    "boolean": ["bool", "BooleanDtype"],
}
DATASOURCE_NAME = "playlist_assets"
# Every unexpected row's position, without copying the values themselves (the caller has them).
ROW_RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
    "partial_unexpected_count": 0,
}
DOCS_SITE_NAME = "playlist_assets"
_SAMPLE_VALUES = 5


def import_gx() -> Any:
    """Import great_expectations with analytics off, before its first import reads the flag.

    jsonschema, which Great Expectations imports through altair, also imports the optional
    ``rfc3987_syntax`` package when it is installed (it comes with Jupyter) and builds an IRI
    grammar at import time: about 1-2 s. Nothing here validates IRIs, so it is skipped when
    jsonschema is not loaded yet.
    """
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import great_expectations as gx

    return gx


def _expectation(rule: Rule, gxe: Any) -> Any:
    common: dict[str, Any] = {
        "meta": {"rule": rule.name, "level": rule.level},
        "notes": rule.description,
    }
    mostly = {"mostly": rule.mostly} if rule.mostly is not None and rule.mostly < 1 else {}
    if rule.kind == "columns_present":
        return gxe.ExpectTableColumnsToMatchSet(
            column_set=list(rule.columns), exact_match=False, **common
        )
    if rule.kind == "row_count":
        return gxe.ExpectTableRowCountToBeBetween(min_value=int(rule.min_value or 0), **common)
    if rule.kind == "column_type":
        return gxe.ExpectColumnValuesToBeInTypeList(
            column=rule.column, type_list=TYPE_LISTS[rule.type_family or "number"], **common
        )
    if rule.kind == "not_null":
        return gxe.ExpectColumnValuesToNotBeNull(column=rule.column, **mostly, **common)
    if rule.kind == "between":
        return gxe.ExpectColumnValuesToBeBetween(
            column=rule.column,
            min_value=rule.min_value,
            max_value=rule.max_value,
            strict_min=rule.strict_min,
            strict_max=rule.strict_max,
            **mostly,
            **common,
        )
    if rule.kind == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(
            column=rule.column, value_set=list(rule.value_set), **mostly, **common
        )
    if rule.kind == "regex":
        return gxe.ExpectColumnValuesToMatchRegex(
            column=rule.column, regex=rule.regex, **mostly, **common
        )
    if rule.kind == "unique_together":
        return gxe.ExpectCompoundColumnsToBeUnique(
            column_list=list(rule.columns), **mostly, **common
        )
    raise ValueError(f"no expectation for rule kind {rule.kind}")


def build_suite(spec: SuiteSpec) -> Any:
    """The Great Expectations suite for ``spec`` (a ``gx.ExpectationSuite``)."""
    gx = import_gx()
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=spec.name,
        expectations=[_expectation(rule, gxe) for rule in spec.rules],
        meta={"source": "playlist_assets.lib.quality.rules"},
    )


def suite_json(spec: SuiteSpec) -> dict[str, Any]:
    """The suite as Great Expectations serializes it (for review or export)."""
    return build_suite(spec).to_json_dict()


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


def _outcome(result: Any, columns: set[str]) -> ExpectationOutcome:
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


def columns_read(spec: SuiteSpec) -> set[str]:
    """Columns whose values some expectation of ``spec`` reads (not just their presence)."""
    read = {rule.column for rule in spec.rules if rule.column}
    read |= {c for rule in spec.rules if rule.kind == "unique_together" for c in rule.columns}
    return read


def gx_frame(df: pd.DataFrame, spec: SuiteSpec) -> pd.DataFrame:
    """The frame Great Expectations validates: same columns, same values where any rule looks.

    For each column expectation GE filters the whole frame to drop that column's nulls, so
    every column costs time in every expectation. Columns whose values no rule reads (the free
    text columns, extra columns) are only checked for presence, so GE gets a zero-cost stand-in
    under the same name. A rule added on such a column makes GE see its real values.
    """
    read = columns_read(spec)
    stand_ins = [c for c in df.columns if c not in read]
    if not stand_ins:
        return df
    stand_in = np.zeros(len(df), dtype=np.int8)
    # Built in one go: the constructor consolidates same-dtype columns into one block, which
    # GE's row filters then copy once instead of column by column.
    return pd.DataFrame(
        {c: (stand_in if c in stand_ins else df[c]) for c in df.columns}, index=df.index
    )


def _context(gx: Any, data_docs_dir: Path | None) -> Any:
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites: dict[str, Any] = {}
    if data_docs_dir is not None:
        sites[DOCS_SITE_NAME] = {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(data_docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        data_docs_sites=sites,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def run_suites(
    batches: Sequence[tuple[str, pd.DataFrame]],
    spec: SuiteSpec,
    *,
    data_docs_dir: Path | None = None,
    run_name: str | None = None,
    result_format: str | dict[str, Any] = "BASIC",
) -> list[SuiteOutcome]:
    """Validate each ``(batch_name, frame)`` against ``spec`` in one ephemeral context.

    With ``data_docs_dir``, Data Docs pages for these validations (and the site index) are
    written there and each outcome's ``docs_path`` points at its page.
    """
    gx = import_gx()
    from great_expectations.core.run_identifier import RunIdentifier

    context = _context(gx, data_docs_dir)
    source = context.data_sources.add_pandas(DATASOURCE_NAME)
    suite = context.suites.add(build_suite(spec))
    run_time = datetime.now(timezone.utc)
    pending: list[tuple[str, Any, float, pd.DataFrame]] = []
    for batch_name, frame in batches:
        started = time.perf_counter()
        asset = source.add_dataframe_asset(batch_name)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(
                name=f"{spec.name}:{batch_name}",
                data=asset.add_batch_definition_whole_dataframe("whole"),
                suite=suite,
            )
        )
        result = definition.run(
            batch_parameters={"dataframe": gx_frame(frame, spec)},
            result_format=result_format,
            run_id=RunIdentifier(run_name=run_name or batch_name, run_time=run_time),
        )
        pending.append((batch_name, result, time.perf_counter() - started, frame))

    docs: dict[str, Path] = {}
    if data_docs_dir is not None and pending:
        keys = context.validation_results_store.list_keys()
        context.build_data_docs(site_names=[DOCS_SITE_NAME], resource_identifiers=keys)
        prune_empty_folders(data_docs_dir / "validations")
        for key in keys:
            url = context.get_docs_sites_urls(resource_identifier=key, site_name=DOCS_SITE_NAME)
            if url and url[0].get("site_url"):
                docs[str(key.batch_identifier)] = Path(unquote(urlparse(url[0]["site_url"]).path))

    outcomes = []
    for batch_name, result, seconds, frame in pending:
        columns = {str(c) for c in frame.columns}
        docs_path = docs.get(f"{DATASOURCE_NAME}-{batch_name}")
        outcomes.append(
            SuiteOutcome(
                suite_name=spec.name,
                success=bool(result.success),
                row_count=len(frame),
                expectations=tuple(_outcome(r, columns) for r in result.results),
                docs_path=docs_path,
                seconds=seconds,
            )
        )
    return outcomes


def prune_empty_folders(root: Path, *, older_than_s: float = 600) -> None:
    """Remove the empty folders under ``root``: the site drops earlier runs' pages but keeps their
    two folders, which an hourly run would pile up at 17,520 a year. Folders younger than
    ``older_than_s`` are left to a run that may still be writing into them (so the folders a run
    has just emptied go with the next run)."""
    if not root.is_dir():
        return
    cutoff = time.time() - older_than_s
    # Ages read before anything is removed: removing a child makes its parent look new.
    old = [p for p in root.rglob("*") if p.is_dir() and p.stat().st_mtime < cutoff]
    for folder in sorted(old, key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):  # not empty, or already gone
            folder.rmdir()


def run_suite(
    df: pd.DataFrame,
    spec: SuiteSpec,
    *,
    data_docs_dir: Path | None = None,
    batch_name: str | None = None,
    run_name: str | None = None,
    result_format: str | dict[str, Any] = "BASIC",
) -> SuiteOutcome:
    """Validate one frame against ``spec``; see ``run_suites``."""
    return run_suites(
        [(batch_name or spec.name, df)],
        spec,
        data_docs_dir=data_docs_dir,
        run_name=run_name,
        result_format=result_format,
    )[0]
