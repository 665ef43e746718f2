"""Drift episodes: one verdict per hour, shared by the retraining sensor and the dashboard.

An hour is *drifted* when it moved away from the serving champion's training reference (what the
drift report shows). It *triggers* a retrain only when it also moved beyond the acknowledged
reference: the feed hours the last retrain saw. So a shift that a retrain has already looked at
(and perhaps could not learn better from) does not request another retrain every hour; only a
further shift does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from playlist_assets.lib.classifier.models import ClassifierBundle
from playlist_assets.lib.drift.champion import predict_rows, predicted_only
from playlist_assets.lib.drift.measure import (
    DriftReference,
    DriftReport,
    DriftThresholds,
    measure_drift,
    prepare_reference,
)
from playlist_assets.lib.quality.store import NEW_TRACKS_TABLE, table_exists

# feature_drift metadata keys the verdict reads (written by defs/monitoring.py).
DRIFTED = "drifted"
DRIFT_SCORE = "drift_score"
TRIGGER = "trigger"
ACKNOWLEDGED_SCORE = "acknowledged_score"
ACKNOWLEDGED_RUN = "acknowledged_run"
N_TRACKS = "n_tracks"
REASON = "reason"
# Per-hour verdicts of a multi-hour run written by older builds (one map on every event).
LEGACY_BY_PARTITION = "by_partition"

# Fewer acknowledged rows than this make no usable reference: judge against the champion's.
MIN_ACKNOWLEDGED_ROWS = 20


@dataclass(frozen=True)
class DriftVerdict:
    """One hour's drift verdict as the sensor and the dashboard read it."""

    partition: str | None
    drifted: bool
    drift_score: float
    trigger: bool
    acknowledged_run: str
    n_tracks: int
    reason: str

    @property
    def judged(self) -> bool:
        return not self.reason.startswith("too few")


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def drift_verdict(metadata: Mapping[str, Any], partition: str | None) -> DriftVerdict:
    """The verdict of ``partition`` from one feature_drift materialization's metadata.

    Reads this hour's own fields; an event of an older multi-hour run also carries a
    ``by_partition`` map whose entry for this hour wins over the run's worst-hour fields. Events
    written before acknowledged references existed trigger exactly when they drifted.
    """
    meta = {k: _plain(v) for k, v in metadata.items()}
    by_partition = meta.get(LEGACY_BY_PARTITION)
    if isinstance(by_partition, dict) and partition in by_partition:
        meta = {**meta, **by_partition[partition]}
    drifted = bool(meta.get(DRIFTED) or False)
    trigger = meta.get(TRIGGER)
    score = meta.get(DRIFT_SCORE)
    return DriftVerdict(
        partition=partition,
        drifted=drifted,
        drift_score=float(score) if score is not None else 0.0,
        trigger=drifted if trigger is None else bool(trigger),
        acknowledged_run=str(meta.get(ACKNOWLEDGED_RUN) or ""),
        n_tracks=int(meta.get(N_TRACKS) or 0),
        reason=str(meta.get(REASON) or ""),
    )


def acknowledged_window(
    hours: pd.Series, episode_since: str | pd.Timestamp | None, max_hours: int
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The feed hours a retrain acknowledges: from the episode's first drifted hour (or, without
    one, the last ``max_hours`` hours) to the newest hour it saw, at most ``max_hours`` long."""
    if hours.empty:
        return None
    newest = pd.Timestamp(hours.max())
    earliest = newest - pd.Timedelta(hours=max_hours - 1)
    start = earliest
    if episode_since is not None:
        start = max(pd.Timestamp(episode_since), earliest)
    return (start, newest) if start <= newest else None


def retrain_check(
    *,
    promoted: bool,
    episode_since: str | None,
    run: str,
    metric: str,
    candidate: float,
    champion: float | None,
    champion_version: str | None,
) -> tuple[bool, str]:
    """(passed, description) of the WARN check ``genre_classifier`` carries after a retrain."""
    if episode_since is None:
        return True, "no drift episode open: this training was not requested by drift"
    if promoted:
        return True, f"drift since {episode_since} answered: the retrain {run} was promoted"
    return False, (
        f"drift persists since {episode_since}; retrain {run} did not beat champion "
        f"v{champion_version} ({metric} {candidate:.4f} vs {champion or float('nan'):.4f})"
    )


def read_acknowledged(
    con: Any, episode_since: pd.Timestamp | None, max_hours: int, table: str = NEW_TRACKS_TABLE
) -> pd.DataFrame:
    """The feed rows a retrain acknowledges, from the warehouse table of hourly new tracks
    (empty when there is no feed table yet). ``con`` is a DuckDB connection."""
    if not table_exists(con, table):
        return pd.DataFrame()
    hours = con.execute(f"SELECT DISTINCT partition_hour FROM {table}").df()["partition_hour"]
    window = acknowledged_window(hours, episode_since, max_hours)
    if window is None:
        return pd.DataFrame()
    return con.execute(
        f"SELECT * FROM {table} WHERE partition_hour BETWEEN ? AND ?",
        [window[0].to_pydatetime(), window[1].to_pydatetime()],
    ).df()


@dataclass
class HourDrift:
    """One hour judged twice: against the champion's reference (the report people read) and
    against the acknowledged reference of the last retrain (what decides a new trigger)."""

    report: DriftReport
    acknowledged: DriftReport | None

    @property
    def trigger(self) -> bool:
        """Drifted from the champion and, when a retrain acknowledged a shift, beyond it too."""
        beyond = self.acknowledged is None or self.acknowledged.drifted
        return self.report.drifted and beyond


@dataclass
class HourJudge:
    """Both references of a serving bundle, prepared once for every hour of a run."""

    bundle: ClassifierBundle
    thresholds: DriftThresholds
    champion: DriftReference
    acknowledged: DriftReference | None

    @classmethod
    def build(
        cls,
        bundle: ClassifierBundle,
        features: list[str],
        thresholds: DriftThresholds,
        n_bins: int,
    ) -> HourJudge:
        usable = [f for f in features if f in bundle.reference.columns]
        champion = prepare_reference(
            bundle.reference, usable, prediction_mix=bundle.reference_prediction_mix, n_bins=n_bins
        )
        acknowledged = None
        ack = bundle.acknowledged
        if ack is not None and len(ack) >= MIN_ACKNOWLEDGED_ROWS:
            acknowledged = prepare_reference(
                ack, [f for f in usable if f in ack.columns], n_bins=n_bins
            )
        return cls(bundle, thresholds, champion, acknowledged)

    def judge_hours(self, parts: Sequence[tuple[str, pd.DataFrame]]) -> list[tuple[str, HourDrift]]:
        """Each (key, rows) of a run judged on its own; the champion predicts all the rows in
        one call (called per hour, its overhead was most of a year's backfill)."""
        frames = [rows for _, rows in parts]
        labels = predict_rows(self.bundle, pd.concat(frames)) if frames else None
        judged, offset = [], 0
        for key, rows in parts:
            hour_labels = None if labels is None else labels[offset : offset + len(rows)]
            offset += len(rows)
            judged.append((key, self._judge(rows, predicted_only(hour_labels))))
        return judged

    def _judge(self, rows: pd.DataFrame, predicted: np.ndarray | None) -> HourDrift:
        report = measure_drift(self.champion, rows, predicted=predicted, thresholds=self.thresholds)
        ack = None
        if self.acknowledged is not None:
            # Features only: the predicted-genre mix of a few acknowledged hours is too noisy a
            # yardstick (80 rows against 80 differ by ~0.2 total variation by chance alone), and
            # a shift in the mix that matters shows in the features it is predicted from.
            ack = measure_drift(self.acknowledged, rows, predicted=None, thresholds=self.thresholds)
        return HourDrift(report, ack)
