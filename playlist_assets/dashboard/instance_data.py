"""What the Dagster instance knows, for the dashboard: check results, each hour's drift verdict,
the retraining runs and the drift episodes they answered. Every function returns an empty frame
when no instance is reachable (``DAGSTER_HOME`` unset), so the notebook renders anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from playlist_assets import settings
from playlist_assets.dashboard.data import (
    DRIFT_ASSET,
    DRIFT_SENSOR_NAME,
    HOURLY_FORMAT,
    RETRAINING_JOB,
)
from playlist_assets.lib.constants import (
    ACKNOWLEDGE_SINCE_TAG,
    DRIFTED_PARTITIONS_TAG,
    EPISODE_SINCE_TAG,
    REASON_TAG,
    RETRAIN_CHECK_NAME,
    TRIGGER_TAG,
)


def dagster_instance() -> Any | None:
    """The persistent Dagster instance when ``DAGSTER_HOME`` is set, else None."""
    home = os.environ.get(settings.DAGSTER_HOME_ENV)
    if not home or not Path(home).is_dir():
        return None
    import dagster as dg

    return dg.DagsterInstance.get()


def check_history(instance: Any | None = None, limit: int = 5000) -> pd.DataFrame:
    """Every asset check evaluation: ``asset, check, partition, passed, severity, timestamp, run_id``."""
    instance = instance if instance is not None else dagster_instance()
    if instance is None:
        return pd.DataFrame()
    import warnings

    import dagster as dg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = instance.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION),
            limit=limit,
        )
    run_partitions: dict[str, str | None] = {}

    def run_partition(run_id: str) -> str | None:
        # Checks declared with check_specs on a partitioned asset record no partition of their
        # own: their run's partition tag says which partition they judged.
        if run_id not in run_partitions:
            run = instance.get_run_by_id(run_id)
            run_partitions[run_id] = run.tags.get("dagster/partition") if run else None
        return run_partitions[run_id]

    rows = []
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event is not None else None
        if evaluation is None:
            continue
        rows.append(
            {
                "asset": evaluation.asset_key.to_user_string(),
                "check": evaluation.check_name,
                "partition": evaluation.partition or run_partition(record.run_id),
                "passed": bool(evaluation.passed),
                "severity": getattr(evaluation.severity, "value", str(evaluation.severity)),
                "description": evaluation.description,
                "timestamp": pd.to_datetime(record.timestamp, unit="s"),
                "run_id": record.run_id,
            }
        )
    frame = pd.DataFrame(rows)
    return frame.sort_values("timestamp").reset_index(drop=True) if len(frame) else frame


def drift_verdicts(instance: Any | None = None, limit: int = 5000) -> pd.DataFrame:
    """Each hour's own verdict, as ``drift_retraining_sensor`` reads it (``lib.drift.episodes``).

    ``partition_hour, drift_score, drifted, trigger, acknowledged_run, share_drifted, reason,
    thresholds, timestamp`` (latest materialization per partition); empty without a Dagster
    instance. ``drifted`` is against the serving champion; ``trigger`` says whether the hour
    moved beyond what the last retrain acknowledged (what requests a retrain).
    """
    instance = instance if instance is not None else dagster_instance()
    if instance is None:
        return pd.DataFrame()
    import dagster as dg

    from playlist_assets.lib.drift.episodes import drift_verdict

    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(DRIFT_ASSET)), limit=limit
    )
    rows = []
    for record in result.records:
        materialization = record.asset_materialization
        if materialization is None or not record.partition_key:
            continue
        meta = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
        verdict = drift_verdict(meta, record.partition_key)
        rows.append(
            {
                "partition_hour": pd.to_datetime(
                    record.partition_key, format=HOURLY_FORMAT, errors="coerce"
                ),
                "drift_score": verdict.drift_score,
                "drifted": verdict.drifted,
                "trigger": verdict.trigger,
                "acknowledged_run": verdict.acknowledged_run,
                "share_drifted": _as_float(meta.get("share_drifted")),
                "reason": verdict.reason,
                "thresholds": meta.get("thresholds") or {},
                "timestamp": pd.to_datetime(record.timestamp, unit="s"),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame = frame.sort_values("timestamp").groupby("partition_hour").tail(1)
    return frame.sort_values("partition_hour").reset_index(drop=True)


def retrain_episodes(instance: Any | None = None, limit: int = 200) -> pd.DataFrame:
    """Drift episodes, their retraining runs and outcomes: one row per retraining run.

    Columns ``run_id, status, start_time, trigger, reason, episode_since, acknowledge_since,
    drifted_partitions, promoted, decision, candidate_version, serving_version, check_passed,
    check``; empty without a Dagster instance or retraining runs.
    """
    runs = retraining_runs(instance, limit=limit)
    instance = instance if instance is not None else dagster_instance()
    if instance is None or runs.empty:
        return pd.DataFrame()
    import dagster as dg

    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("genre_classifier")), limit=limit
    )
    outcome = {}
    for record in result.records:
        if record.asset_materialization is not None:
            meta = record.asset_materialization.metadata
            outcome[record.run_id] = {k: getattr(v, "value", v) for k, v in meta.items()}
    checks = check_history(instance)
    if not checks.empty:
        checks = checks[checks["check"] == RETRAIN_CHECK_NAME].set_index("run_id")
    rows = []
    for run in runs.itertuples(index=False):
        tags = _run_tags(instance, run.run_id)
        meta = outcome.get(run.run_id, {})
        check = checks.loc[run.run_id] if not checks.empty and run.run_id in checks.index else None
        if isinstance(check, pd.DataFrame):
            check = check.iloc[-1]
        rows.append(
            {
                "run_id": run.run_id,
                "status": run.status,
                "start_time": run.start_time,
                "trigger": run.trigger,
                "reason": tags.get(REASON_TAG, "manual" if run.trigger == "manual" else ""),
                "episode_since": tags.get(EPISODE_SINCE_TAG, ""),
                "acknowledge_since": tags.get(ACKNOWLEDGE_SINCE_TAG, ""),
                "drifted_partitions": run.drifted_partitions,
                "promoted": meta.get("promoted"),
                "decision": meta.get("decision", ""),
                "candidate_version": str(meta.get("candidate_version", "")),
                "serving_version": str(meta.get("serving_version", "")),
                "check_passed": None if check is None else bool(check["passed"]),
                "check": "" if check is None else check["description"],
            }
        )
    return pd.DataFrame(rows)


def _run_tags(instance: Any, run_id: str) -> dict[str, str]:
    run = instance.get_run_by_id(run_id)
    return dict(run.tags) if run is not None else {}


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def retraining_runs(
    instance: Any | None = None, sensor_name: str = DRIFT_SENSOR_NAME, limit: int = 200
) -> pd.DataFrame:
    """Retraining runs: those the drift sensor launched and any run of ``retraining_job``.

    Columns ``run_id, status, start_time, end_time, trigger, drifted_partitions``.
    """
    instance = instance if instance is not None else dagster_instance()
    if instance is None:
        return pd.DataFrame()
    import dagster as dg

    records = {}
    for runs_filter in (
        dg.RunsFilter(tags={"dagster/sensor_name": sensor_name}),
        dg.RunsFilter(job_name=RETRAINING_JOB),
    ):
        for record in instance.get_run_records(filters=runs_filter, limit=limit):
            records[record.dagster_run.run_id] = record
    rows = []
    for r in records.values():
        tags = dict(r.dagster_run.tags)
        started = r.start_time or r.create_timestamp.timestamp()
        rows.append(
            {
                "run_id": r.dagster_run.run_id,
                "status": r.dagster_run.status.value,
                "start_time": pd.to_datetime(started, unit="s"),
                "end_time": pd.to_datetime(r.end_time, unit="s") if r.end_time else pd.NaT,
                "trigger": tags.get("dagster/sensor_name") or tags.get(TRIGGER_TAG) or "manual",
                "drifted_partitions": tags.get(DRIFTED_PARTITIONS_TAG, ""),
            }
        )
    frame = pd.DataFrame(rows)
    return frame.sort_values("start_time").reset_index(drop=True) if len(frame) else frame


# ---------------------------------------------------------------------------------------------
# drift as the dashboard draws it: each hour's own verdict, and episodes from the runs of today

RETRAIN_OUTCOMES = {
    "SUCCESS": "retrained",
    "FAILURE": "retrain failed",
    "CANCELED": "retrain canceled",
    "STARTED": "retraining",
    "STARTING": "retraining",
    "QUEUED": "retrain queued",
    "NOT_STARTED": "retrain queued",
}


def _tagged_hours(text: str) -> list[pd.Timestamp]:
    parsed = pd.to_datetime(
        str(text or "").replace(" ", ",").split(","), format=HOURLY_FORMAT, errors="coerce"
    )
    return sorted(h for h in parsed if not pd.isna(h))


def episodes_from_runs(retrains: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """Drift episodes for the dashboard: ``started_hour, retrain_run_id, outcome, detail``.

    One per retraining run (``retrain_episodes()``, or bare ``retraining_runs()``), from the
    episode's first drifted hour, with its promotion outcome when known; plus the drifted hours
    after the last run's, which no run has answered yet (``verdicts``: ``drift_verdicts()``).
    """
    rows = []
    answered: pd.Timestamp | None = None
    for run in retrains.to_dict("records") if len(retrains) else []:
        hours = _tagged_hours(run.get("drifted_partitions", ""))
        if hours:
            answered = max(answered or hours[-1], hours[-1])
        since = _tagged_hours(run.get("episode_since", ""))
        rows.append(
            {
                "started_hour": (since or hours or [pd.NaT])[0],
                "retrain_run_id": run["run_id"],
                "outcome": _outcome(run),
                "detail": run.get("check")
                or (
                    f"{len(hours)} drifted hour(s); requested by {run['trigger']}"
                    if hours
                    else f"requested by {run['trigger']}"
                ),
            }
        )
    if len(verdicts) and "drifted" in verdicts.columns:
        pending = verdicts[verdicts["drifted"].astype(bool)]["partition_hour"]
        if answered is not None:
            pending = pending[pending > answered]
        if len(pending):
            rows.append(
                {
                    "started_hour": pending.min(),
                    "retrain_run_id": "",
                    "outcome": "no retraining run yet",
                    "detail": f"{len(pending)} drifted hour(s) not yet answered by a run",
                }
            )
    return pd.DataFrame(rows, columns=["started_hour", "retrain_run_id", "outcome", "detail"])


def _outcome(run: dict[str, Any]) -> str:
    status = str(run["status"])
    promoted = run.get("promoted")
    if status == "SUCCESS" and promoted is True:
        return f"promoted v{run.get('candidate_version', '')}".rstrip("v")
    if status == "SUCCESS" and promoted is False:
        return f"champion v{run.get('serving_version', '')} kept".replace("v ", "")
    return RETRAIN_OUTCOMES.get(status, status.lower())
