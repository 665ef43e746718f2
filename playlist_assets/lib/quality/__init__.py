"""Data-quality rules for Kaggle-format track batches, evaluated once, by Great Expectations.

- ``rules``: the rules themselves (the single source of truth) and the two suites.
- ``gx_suite``: the rules as Great Expectations 1.x suites, with Data Docs
  (great_expectations is imported only when a suite runs); ``gx_results``: their results.
- ``judge``: one validation of a batch -> a verdict per part (catalogue or hour), quarantine
  rows from Great Expectations' unexpected row positions, typed accepted rows.
- ``store``: judgments kept in the warehouse, and the songs base combined from them in SQL.
- ``gate``: read a batch from the warehouse, judge it, store the verdict, and the check texts.
- ``feed_tables``: the feed's rejects table (and an empty ``new_tracks`` to start from).
- ``quarantine``: the one reject row schema and builder.
"""

from playlist_assets.lib.quality.gx_results import ExpectationOutcome, SuiteOutcome
from playlist_assets.lib.quality.gx_suite import (
    ROW_RESULT_FORMAT,
    build_suite,
    run_suite,
    run_suites,
    suite_json,
)
from playlist_assets.lib.quality.judge import (
    Judgment,
    Part,
    PartVerdict,
    extra_columns,
    hour_parts,
    judge,
    to_typed,
    whole_frame,
)
from playlist_assets.lib.quality.quarantine import (
    QUARANTINE_COLUMNS,
    QUARANTINE_SQL_TYPES,
    REJECT_COLUMNS,
    empty_rejects,
    reject_rows,
    row_to_json,
    show_value,
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
from playlist_assets.lib.quality.store import SongsBase, combine

__all__ = [
    "CATALOGUE_SUITE",
    "DEFAULT_MOSTLY",
    "NEW_TRACKS_SUITE",
    "QUARANTINE_COLUMNS",
    "QUARANTINE_SQL_TYPES",
    "REJECT_COLUMNS",
    "ROW_RESULT_FORMAT",
    "SUITES",
    "ExpectationOutcome",
    "Judgment",
    "Part",
    "PartVerdict",
    "Rule",
    "SongsBase",
    "SuiteOutcome",
    "SuiteSpec",
    "build_rules",
    "build_suite",
    "combine",
    "empty_rejects",
    "extra_columns",
    "hour_parts",
    "judge",
    "reject_rows",
    "row_to_json",
    "run_suite",
    "run_suites",
    "show_value",
    "suite_json",
    "to_typed",
    "whole_frame",
]
