"""The rules as Great Expectations 1.x suites, run in an ephemeral context, with Data Docs.

great_expectations is imported inside these functions only: importing it costs seconds, and
the code location must load fast. What a validation returns is flattened in ``gx_results``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

from playlist_assets.lib.quality.gx_results import SuiteOutcome, outcome
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


def import_gx() -> Any:
    """Import great_expectations with analytics off, before its first import reads the flag.

    jsonschema, which Great Expectations imports through altair, also imports the optional
    ``rfc3987_syntax`` package when it is installed (it comes with Jupyter) and builds an IRI
    grammar at import time (its cost: benchmarks/results/quality.md). Nothing here validates
    IRIs, so it is skipped when jsonschema is not loaded yet.
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
    """Validate each ``(batch_name, frame)`` against ``spec`` in an ephemeral context.

    Without ``data_docs_dir`` the context is the process's one for ``spec`` (``_direct``). With
    ``data_docs_dir``, a fresh one stores the validations and writes their Data Docs pages
    (and the site index) there; each outcome's ``docs_path`` points at its page.
    """
    gx = import_gx()
    from great_expectations.core.run_identifier import RunIdentifier

    pending: list[tuple[str, Any, float, pd.DataFrame]] = []
    if data_docs_dir is None:
        # Nothing is stored: each batch is validated directly, without a stored suite,
        # validation definition or result (their saves were ~20 % of a small frame's
        # validation), against the process's one context for the suite (``_direct``).
        with _DIRECT_LOCK:  # one context per process: threads validate one at a time
            whole, suite = _direct(spec)
            for batch_name, frame in batches:
                started = time.perf_counter()
                batch = whole.get_batch(batch_parameters={"dataframe": gx_frame(frame, spec)})
                result = batch.validate(suite, result_format=result_format)
                pending.append((batch_name, result, time.perf_counter() - started, frame))
        return _outcomes(spec, pending, {})

    context = _context(gx, data_docs_dir)
    source = context.data_sources.add_pandas(DATASOURCE_NAME)
    suite = context.suites.add(build_suite(spec))
    run_time = datetime.now(timezone.utc)
    for batch_name, frame in batches:
        started = time.perf_counter()
        whole = source.add_dataframe_asset(batch_name).add_batch_definition_whole_dataframe("whole")
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{spec.name}:{batch_name}", data=whole, suite=suite)
        )
        result = definition.run(
            batch_parameters={"dataframe": gx_frame(frame, spec)},
            result_format=result_format,
            run_id=RunIdentifier(run_name=run_name or batch_name, run_time=run_time),
        )
        pending.append((batch_name, result, time.perf_counter() - started, frame))
    return _outcomes(spec, pending, _build_docs(context, data_docs_dir) if pending else {})


_DIRECT_LOCK = threading.Lock()


@functools.lru_cache(maxsize=16)
def _direct(spec: SuiteSpec) -> tuple[Any, Any]:
    """The batch definition (a whole dataframe, given at each validation) and the suite that
    validate ``spec`` without Data Docs, in one ephemeral context kept for the process: the
    context, its data source, asset and suite were ~25 % of an hourly feedback check's
    validation when built for each one (benchmarks/results/feedback.md). Nothing is stored in
    it between validations (each one's frame is a batch parameter)."""
    context = _context(import_gx(), None)
    source = context.data_sources.add_pandas(DATASOURCE_NAME)
    whole = source.add_dataframe_asset(spec.name).add_batch_definition_whole_dataframe("whole")
    return whole, build_suite(spec)


def _outcomes(
    spec: SuiteSpec, pending: list[tuple[str, Any, float, pd.DataFrame]], docs: dict[str, Path]
) -> list[SuiteOutcome]:
    """The flattened outcome of each validation (``gx_results``), with its Data Docs page."""
    outcomes = []
    for batch_name, result, seconds, frame in pending:
        columns = {str(c) for c in frame.columns}
        docs_path = docs.get(f"{DATASOURCE_NAME}-{batch_name}")
        outcomes.append(
            SuiteOutcome(
                suite_name=spec.name,
                success=bool(result.success),
                row_count=len(frame),
                expectations=tuple(outcome(r, columns) for r in result.results),
                docs_path=docs_path,
                seconds=seconds,
            )
        )
    return outcomes


def _build_docs(context: Any, data_docs_dir: Path) -> dict[str, Path]:
    """Data Docs pages of the context's validations (and the site index); page per batch id."""
    docs: dict[str, Path] = {}
    keys = context.validation_results_store.list_keys()
    context.build_data_docs(site_names=[DOCS_SITE_NAME], resource_identifiers=keys)
    prune_empty_folders(data_docs_dir / "validations")
    for key in keys:
        url = context.get_docs_sites_urls(resource_identifier=key, site_name=DOCS_SITE_NAME)
        if url and url[0].get("site_url"):
            docs[str(key.batch_identifier)] = Path(unquote(urlparse(url[0]["site_url"]).path))
    return docs


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
