"""The Great Expectations suites that gate the stored impressions and feedback of an hour.

The assets already keep unusable lines aside; the blocking checks judge what was *stored*, so a
row written by anything else (an old build, a hand edit, a bug in the reader) still cannot reach
the online metrics. Rules (``lib.quality.rules.Rule``, run by ``lib.quality.gx_suite``): the
schema, non-empty ids, known values (arms, events), the time inside the hour, feedback whose
request and track were served (``known``, from the stored impressions), no duplicates.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from playlist_assets.lib.feedback.contract import ARMS, EVENTS, FEEDBACK_KEY
from playlist_assets.lib.quality.gx_results import SuiteOutcome
from playlist_assets.lib.quality.rules import Rule, SuiteSpec

IMPRESSIONS_SUITE_NAME = "recommendation_impressions"
FEEDBACK_SUITE_NAME = "recommendation_feedback"
SECONDS_INTO_HOUR = "seconds_into_hour"  # derived: the time inside [0, 3600)
KNOWN = "served"  # derived (feedback): the request and the track were served


def _rule(name: str, kind: str, description: str, **spec: object) -> Rule:
    return Rule(name=name, kind=kind, level="schema", description=description, **spec)  # type: ignore[arg-type]


def _common(columns: tuple[str, ...], ids: tuple[str, ...]) -> list[Rule]:
    rules = [_rule("columns", "columns_present", "every stored column", columns=columns)]
    for column in ids:
        rules.append(_rule(f"{column}_not_null", "not_null", f"{column} is set", column=column))
        rules.append(
            _rule(
                f"{column}_string",
                "column_type",
                f"{column} is text",
                column=column,
                type_family="string",
            )
        )
    rules.append(
        _rule(
            "time_inside_hour",
            "between",
            "time lies inside the partition's hour",
            column=SECONDS_INTO_HOUR,
            min_value=0,
            max_value=3600,
            strict_max=True,
        )
    )
    rules.append(_rule("arm_known", "in_set", "arm is an arm", column="arm", value_set=ARMS))
    return rules


IMPRESSIONS_SUITE = SuiteSpec(
    IMPRESSIONS_SUITE_NAME,
    (
        *_common(
            ("request_id", "time", "model_version", "strategy", "arm", "ranked"),
            ("request_id", "model_version", "strategy"),
        ),
        _rule("served_songs", "between", "k >= 1", column="k", min_value=1),
        _rule(
            "request_id_unique",
            "unique_together",
            "one row per request (in its hour)",
            columns=("partition_hour", "request_id"),
        ),
    ),
    min_rows=0,
)
FEEDBACK_SUITE = SuiteSpec(
    FEEDBACK_SUITE_NAME,
    (
        *_common(
            ("request_id", "track_id", "event", "time", "rank", "arm"),
            ("request_id", "track_id", "model_version"),
        ),
        _rule("event_known", "in_set", "event is an event", column="event", value_set=EVENTS),
        _rule(
            "request_and_track_served",
            "in_set",
            "the request is among the stored impressions and the track was in its list",
            column=KNOWN,
            value_set=(True,),
        ),
        _rule("no_duplicates", "unique_together", "an event counts once", columns=FEEDBACK_KEY),
    ),
    min_rows=0,
)


def check_frame(
    rows: pd.DataFrame, start: datetime, known: pd.Series | None = None
) -> pd.DataFrame:
    """The stored rows as the suite sees them: lists dropped, the derived columns added."""
    frame = rows.drop(columns=[c for c in ("seeds", "ranked") if c in rows.columns])
    if "ranked" in rows.columns:
        frame["ranked"] = rows["ranked"].map(len)
    offset = (pd.to_datetime(rows["time"]) - pd.Timestamp(start)).dt.total_seconds()
    frame[SECONDS_INTO_HOUR] = offset.astype(float)
    if known is not None:
        frame[KNOWN] = known.to_numpy(dtype=bool)
    return frame


def validate(
    frame: pd.DataFrame,
    spec: SuiteSpec,
    batch: str,
    *,
    data_docs_dir: Path | None,
    run_name: str | None,
) -> SuiteOutcome:
    """Run ``spec`` on ``frame`` (Great Expectations is imported here, not at load time)."""
    from playlist_assets.lib.quality.gx_suite import run_suite

    return run_suite(frame, spec, data_docs_dir=data_docs_dir, batch_name=batch, run_name=run_name)


def problems(outcome: SuiteOutcome) -> list[str]:
    """One line per failed expectation: the rule, what it observed, a few samples."""
    lines = []
    for e in outcome.failures:
        count = f"{e.unexpected_count} row(s)" if e.unexpected_count else e.observed
        samples = f" e.g. {', '.join(e.samples[:3])}" if e.samples else ""
        lines.append(f"{e.rule}: {e.error or count}{samples}")
    return lines
