"""Data-quality rules for Kaggle-format track batches, evaluated two ways from one definition.

- ``rules``: the rules themselves (the single source of truth) and the two suites.
- ``evaluate``: vectorized pandas evaluation: batch gating and per-row quarantine reasons.
- ``gx_suite``: the same rules as Great Expectations 1.x suites, with Data Docs
  (great_expectations is imported only when a suite runs).
- ``songs_base``: batches -> typed, scoped, de-duplicated songs plus quarantined rows.
"""

from playlist_assets.lib.quality.evaluate import (
    QUARANTINE_COLUMNS,
    QUARANTINE_SQL_TYPES,
    BatchEvaluation,
    RowSplit,
    RuleResult,
    batch_problems,
    empty_quarantine,
    evaluate_batch,
    extra_columns,
    split_rows,
)
from playlist_assets.lib.quality.gx_suite import (
    ExpectationOutcome,
    SuiteOutcome,
    build_suite,
    run_suite,
    run_suites,
    suite_json,
)
from playlist_assets.lib.quality.rules import (
    CATALOGUE_SUITE,
    DEFAULT_MOSTLY,
    NEW_TRACKS_SUITE,
    SUITES,
    Rule,
    SuiteSpec,
    build_rules,
)
from playlist_assets.lib.quality.songs_base import Batch, SongsBase, build_songs_base, to_typed

__all__ = [
    "CATALOGUE_SUITE",
    "DEFAULT_MOSTLY",
    "NEW_TRACKS_SUITE",
    "QUARANTINE_COLUMNS",
    "QUARANTINE_SQL_TYPES",
    "SUITES",
    "Batch",
    "BatchEvaluation",
    "ExpectationOutcome",
    "RowSplit",
    "Rule",
    "RuleResult",
    "SongsBase",
    "SuiteOutcome",
    "SuiteSpec",
    "batch_problems",
    "build_rules",
    "build_songs_base",
    "build_suite",
    "empty_quarantine",
    "evaluate_batch",
    "extra_columns",
    "run_suite",
    "run_suites",
    "split_rows",
    "suite_json",
    "to_typed",
]
