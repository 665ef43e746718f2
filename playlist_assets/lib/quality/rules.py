"""The data-quality rules, stated once.

Every rule here is turned into a Great Expectations expectation (see ``gx_suite``). The blocking
checks run it once per batch; the same results decide each hour, name the rows to quarantine and
give the reasons (see ``judge``), so the gate and the quarantine can never disagree.

Levels:

- ``schema``: about the batch as a whole (columns, types, row count). Any failure rejects
  the batch.
- ``row``: about single rows. Rows that break one are quarantined with the reason; the batch is
  rejected only when more than ``1 - mostly`` of its (non-null) rows break the same rule. So a
  feature column that is entirely (or mostly) empty rejects the batch through its ``*_not_null``
  rule.
- ``duplicate``: a track listed twice under the same genre in one batch. Repeats are removed by
  de-duplication (and counted), not quarantined; many of them reject the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from playlist_assets.lib.constants import TRACK_ID_PATTERN
from playlist_assets.lib.schema import AUDIO_FEATURES, KAGGLE_COLUMNS, UNIT_INTERVAL_FEATURES

Level = Literal["schema", "row", "duplicate"]
Kind = Literal[
    "columns_present",
    "row_count",
    "column_type",
    "not_null",
    "between",
    "in_set",
    "regex",
    "unique_together",
]
TypeFamily = Literal["number", "string", "boolean"]

# Share of rows that must satisfy each row-level rule for the batch to pass.
DEFAULT_MOSTLY = 0.95
# A catalogue smaller than this is a truncated or wrong file, not a catalogue.
MIN_CATALOGUE_ROWS = 100
# One hour of the feed may bring a single track.
MIN_BATCH_ROWS = 1

# Lower-case slugs like the Kaggle genres: "rock", "hip-hop", "r-n-b", "j-pop".
GENRE_PATTERN = r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$"

NUMERIC_COLUMNS: tuple[str, ...] = ("popularity", "duration_ms", *AUDIO_FEATURES)
STRING_COLUMNS: tuple[str, ...] = ("track_id", "track_genre")
BOOLEAN_COLUMNS: tuple[str, ...] = ("explicit",)
# Free text (artists, album and track names) may be missing: the real file has such a row.
FREE_TEXT_COLUMNS: tuple[str, ...] = tuple(
    c for c in KAGGLE_COLUMNS if c not in (*NUMERIC_COLUMNS, *STRING_COLUMNS, *BOOLEAN_COLUMNS)
)
# Bookkeeping columns the feed adds to new_tracks: expected, not "extra".
FEED_BOOKKEEPING_COLUMNS: tuple[str, ...] = ("partition_hour", "source")


@dataclass(frozen=True)
class Rule:
    """One expectation about a batch of Kaggle-format tracks."""

    name: str
    kind: Kind
    level: Level
    description: str
    column: str | None = None
    columns: tuple[str, ...] = ()
    type_family: TypeFamily | None = None
    min_value: float | None = None
    max_value: float | None = None
    strict_min: bool = False
    strict_max: bool = False
    value_set: tuple[float, ...] = ()
    regex: str | None = None
    mostly: float | None = None

    @property
    def is_row_level(self) -> bool:
        return self.level == "row"


@dataclass(frozen=True)
class SuiteSpec:
    """A named set of rules: one Great Expectations suite."""

    name: str
    rules: tuple[Rule, ...]
    min_rows: int

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(f"suite {self.name} has no rule {name!r}")


def _range_text(rule_min: float | None, rule_max: float | None, smin: bool, smax: bool) -> str:
    lo = None if rule_min is None else f"{'>' if smin else '>='} {rule_min:g}"
    hi = None if rule_max is None else f"{'<' if smax else '<='} {rule_max:g}"
    return " and ".join(p for p in (lo, hi) if p)


def _column_rule(
    column: str, suffix: str, kind: Kind, level: Level, must: str, **spec: Any
) -> Rule:
    """The rule ``<column>_<suffix>``, described as "<column> must <must>"."""
    return Rule(
        name=f"{column}_{suffix}",
        kind=kind,
        level=level,
        column=column,
        description=f"{column} must {must}",
        **spec,
    )


def _between(
    column: str,
    lo: float | None,
    hi: float | None,
    *,
    mostly: float,
    smin: bool = False,
    smax: bool = False,
) -> Rule:
    bounds = {"min_value": lo, "max_value": hi, "strict_min": smin, "strict_max": smax}
    must = f"be {_range_text(lo, hi, smin, smax)}"
    return _column_rule(column, "in_range", "between", "row", must, mostly=mostly, **bounds)


def _in_set(column: str, values: tuple[int, ...], text: str, *, mostly: float) -> Rule:
    return _column_rule(
        column, "in_set", "in_set", "row", f"be {text}", value_set=values, mostly=mostly
    )


def _type_rule(column: str, family: TypeFamily, name: str, text: str) -> Rule:
    return _column_rule(column, name, "column_type", "schema", f"be {text}", type_family=family)


def _schema_rules(min_rows: int) -> list[Rule]:
    """Columns, row count and column types: any failure rejects the batch."""
    return [
        Rule(
            name="required_columns",
            kind="columns_present",
            level="schema",
            columns=KAGGLE_COLUMNS,
            description="all 20 Kaggle columns must be present (extra columns are ignored)",
        ),
        Rule(
            name="row_count",
            kind="row_count",
            level="schema",
            min_value=min_rows,
            description=f"the batch must hold at least {min_rows} row(s)",
        ),
        *(_type_rule(c, "number", "is_numeric", "a numeric column") for c in NUMERIC_COLUMNS),
        *(_type_rule(c, "string", "is_text", "a text column") for c in STRING_COLUMNS),
        _type_rule("explicit", "boolean", "is_boolean", "a True/False column"),
    ]


def _not_null(column: str, mostly: float) -> Rule:
    must = "not be missing (NaN/null)"
    return _column_rule(column, "not_null", "not_null", "row", must, mostly=mostly)


def _shape(column: str, pattern: str, text: str, mostly: float) -> Rule:
    return _column_rule(column, "shape", "regex", "row", f"be {text}", regex=pattern, mostly=mostly)


def _value_rules(mostly: float) -> list[Rule]:
    """Each value in its valid range or set."""
    return [
        _between("popularity", 0, 100, mostly=mostly),
        _between("duration_ms", 0, None, smin=True, mostly=mostly),
        *(_between(c, 0, 1, mostly=mostly) for c in UNIT_INTERVAL_FEATURES),
        _in_set("key", tuple(range(-1, 12)), "an integer in -1..11", mostly=mostly),
        _between("loudness", -60, 5, mostly=mostly),
        _in_set("mode", (0, 1), "0 or 1", mostly=mostly),
        _between("tempo", 0, 250, smin=True, mostly=mostly),
        _in_set("time_signature", tuple(range(8)), "an integer in 0..7", mostly=mostly),
    ]


def build_rules(min_rows: int, mostly: float = DEFAULT_MOSTLY) -> tuple[Rule, ...]:
    """The rules for a batch of Kaggle-format tracks, in the order they are reported."""
    return (
        *_schema_rules(min_rows),
        *(_not_null(c, mostly) for c in ("track_id", *NUMERIC_COLUMNS, "explicit", "track_genre")),
        _shape("track_id", TRACK_ID_PATTERN, "22 base-62 characters", mostly),
        _shape(
            "track_genre",
            GENRE_PATTERN,
            "a genre name like 'rock' or 'hip-hop' (lower case, words joined by '-')",
            mostly,
        ),
        *_value_rules(mostly),
        Rule(
            name="track_listed_once_per_genre",
            kind="unique_together",
            level="duplicate",
            columns=("track_id", "track_genre"),
            mostly=mostly,
            description="a track must appear at most once per genre in a batch "
            "(the Kaggle data lists a track once for each of its genres)",
        ),
    )


CATALOGUE_SUITE = SuiteSpec(
    name="raw_spotify_tracks", rules=build_rules(MIN_CATALOGUE_ROWS), min_rows=MIN_CATALOGUE_ROWS
)
NEW_TRACKS_SUITE = SuiteSpec(
    name="new_tracks", rules=build_rules(MIN_BATCH_ROWS), min_rows=MIN_BATCH_ROWS
)
SUITES: dict[str, SuiteSpec] = {s.name: s for s in (CATALOGUE_SUITE, NEW_TRACKS_SUITE)}
