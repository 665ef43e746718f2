"""Retraining: ``retraining_job`` and the drift sensor that requests it once per drift episode.

The sensor reads each hour's feature_drift verdict (``lib.drift.episodes.drift_verdict``) and
the state of earlier requests from the instance; ``lib.drift.cursor`` decides what to request:
an hour that drifted from the champion *and* moved beyond the last retrain's acknowledged
reference triggers one request; hours judged against the same acknowledgment afterwards belong
to the episode already sent; only a further shift (or ``retrain_after_tracks`` new tracks)
requests again. All state is in the cursor, so a restarted daemon carries on where it was.
"""

from __future__ import annotations

import time

import dagster as dg
from pydantic import Field

from playlist_assets.lib.constants import (
    DRIFT_SENSOR,
    DRIFTED_PARTITIONS_TAG,
    PURPOSE_TAG,
    RETRAIN_CHECK_NAME,
    RETRAINING_JOB,
)
from playlist_assets.lib.drift.cursor import (
    RetrainPolicy,
    SensorState,
    advance,
    episode_end_text,
)
from playlist_assets.lib.drift.episodes import DriftVerdict, drift_verdict
from playlist_assets.lib.drift.feedback_triggers import FeedbackHour, feedback_hour

FEATURE_DRIFT_KEY = dg.AssetKey("feature_drift")
ONLINE_METRICS_KEY = dg.AssetKey("online_metrics")  # listeners' feedback (defs/feedback.py)
CLASSIFIER_CHECK_KEY = dg.AssetCheckKey(dg.AssetKey("genre_classifier"), RETRAIN_CHECK_NAME)

# What a retrain re-materializes (the contract of the drift issue). Keys that a deployment does
# not define (recommendation_eval is optional) are ignored by the string selection syntax,
# which `AssetSelection.assets(...)` would refuse; `.materializable()` also drops a key that
# exists only as another asset's declared dependency.
RETRAIN_ASSET_KEYS: tuple[str, ...] = (
    "validated_songs",
    "quarantined_tracks",
    "train_songs",
    "test_songs",
    "genre_classifier",
    "song_index",
    "track_cooccurrence",
    "recommendation_eval",
)
RETRAIN_KEY_PREFIXES: tuple[str, ...] = ("genre_cluster_models",)

retraining_job = dg.define_asset_job(
    RETRAINING_JOB,
    selection=(
        dg.AssetSelection.from_string(" or ".join(f'key:"{k}"' for k in RETRAIN_ASSET_KEYS))
        | dg.AssetSelection.key_prefixes(*[[p] for p in RETRAIN_KEY_PREFIXES])
    ).materializable(),
    description="Rebuild the songs base, the splits, the classifier (champion/challenger), every "
    "genre's cluster model, the serving index and the evaluation. Requested by "
    "drift_retraining_sensor once per drift episode; launch it by hand at any time.",
    tags={PURPOSE_TAG: "retraining"},
)


_POLICY = RetrainPolicy()


class DriftRetrainPolicy(dg.ConfigurableResource):
    """When drift, or new data, requests a retrain."""

    min_retrain_interval_seconds: int = Field(
        default=_POLICY.min_retrain_interval_seconds,
        description="At most one retraining request per this many seconds; triggering hours "
        "seen in between are held in the sensor cursor and folded into the next request.",
    )
    max_events_per_tick: int = Field(
        default=_POLICY.max_events_per_tick,
        description="feature_drift materializations read per sensor tick (the rest wait for the "
        "next tick).",
    )
    retrain_after_tracks: int = Field(
        default=_POLICY.retrain_after_tracks,
        description="Request a retrain once this many new tracks were judged since the last "
        "retrain, drift or not (0 = only drift requests retrains).",
    )

    retrain_after_accepted: int = Field(
        default=_POLICY.retrain_after_accepted,
        description="Request a retrain once this many requests had songs accepted by listeners "
        "since the last request (each becomes training evidence; 0 = off).",
    )
    acceptance_floor: float = Field(
        default=_POLICY.acceptance_floor,
        description="Request a retrain (once per episode) when the champion's online acceptance "
        "rate over the window falls below this (0 = off).",
    )
    acceptance_window_hours: int = Field(
        default=_POLICY.acceptance_window_hours,
        description="Hours of online_metrics the acceptance floor is judged over.",
    )
    acceptance_min_impressions: int = Field(
        default=_POLICY.acceptance_min_impressions,
        description="Impressions the window needs before the floor is judged.",
    )

    def policy(self) -> RetrainPolicy:
        return RetrainPolicy(
            min_retrain_interval_seconds=self.min_retrain_interval_seconds,
            max_events_per_tick=self.max_events_per_tick,
            retrain_after_tracks=self.retrain_after_tracks,
            retrain_after_accepted=self.retrain_after_accepted,
            acceptance_floor=self.acceptance_floor,
            acceptance_window_hours=self.acceptance_window_hours,
            acceptance_min_impressions=self.acceptance_min_impressions,
        )


def _fetch_new_events(
    instance: dg.DagsterInstance,
    after_storage_id: int | None,
    limit: int,
    key: dg.AssetKey = FEATURE_DRIFT_KEY,
) -> list[dg.EventLogRecord]:
    records: list[dg.EventLogRecord] = []
    after = after_storage_id
    while len(records) < limit:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=after),
            limit=min(500, limit - len(records)),
            ascending=True,
        )
        records.extend(result.records)
        if not result.has_more or not result.records:
            break
        after = result.records[-1].storage_id
    return records


def _verdict(record: dg.EventLogRecord) -> DriftVerdict:
    materialization = record.asset_materialization
    metadata = dict(materialization.metadata) if materialization else {}
    return drift_verdict(metadata, record.partition_key)


def _feedback_hour(record: dg.EventLogRecord) -> FeedbackHour:
    materialization = record.asset_materialization
    return feedback_hour(
        dict(materialization.metadata) if materialization else {}, record.partition_key
    )


def _retraining_in_progress(instance: dg.DagsterInstance) -> bool:
    active = [
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
    ]
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=retraining_job.name, statuses=active), limit=1
    )
    return bool(runs)


def _request_failed(instance: dg.DagsterInstance, run_key: str | None) -> bool:
    """The last request's run failed or was canceled: its episode is not acknowledged."""
    if not run_key:
        return False
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/run_key": run_key}), limit=1)
    failed = (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
    return bool(runs) and runs[0].status in failed


def _check_failing(instance: dg.DagsterInstance) -> bool:
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus,
    )

    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [CLASSIFIER_CHECK_KEY]
    ).get(CLASSIFIER_CHECK_KEY)
    return latest is not None and latest.status == AssetCheckExecutionRecordStatus.FAILED


def _episode_end_events(instance: dg.DagsterInstance, ended: list[tuple[str, str]]) -> list:
    """A passing check result when drift ended while the retrain check was failing."""
    text = episode_end_text(ended)
    if text is None or not _check_failing(instance):
        return []
    return [
        dg.AssetCheckEvaluation(
            asset_key=CLASSIFIER_CHECK_KEY.asset_key,
            check_name=CLASSIFIER_CHECK_KEY.name,
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            description=text,
        )
    ]


@dg.sensor(
    name=DRIFT_SENSOR,
    job=retraining_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Reads each hour's feature_drift verdict and requests one retraining_job run per "
    "drift episode: after a retrain, only a shift beyond what it acknowledged (or enough new "
    "data, enough listeners' feedback, or online acceptance below the floor) requests another. Hours within the minimum interval, or while a retraining run is "
    "active, are folded into one request.",
)
def drift_retraining_sensor(
    context: dg.SensorEvaluationContext, drift_retrain_policy: DriftRetrainPolicy
) -> dg.SensorResult:
    """Reads the instance; what to request is decided by ``lib.drift.cursor.advance``."""
    instance = context.instance
    state = SensorState.load(context.cursor)
    if _request_failed(instance, state.requested_key):
        state.forget_request()
    policy = drift_retrain_policy.policy()
    records = _fetch_new_events(instance, state.after_storage_id, policy.max_events_per_tick)
    hours = [(r.storage_id, _verdict(r)) for r in records]
    online = _fetch_new_events(
        instance, state.feedback_after_storage_id, policy.max_events_per_tick, ONLINE_METRICS_KEY
    )
    outcome = advance(
        state,
        hours,
        policy,
        now=time.time(),
        retraining_active=lambda: _retraining_in_progress(instance),
        feedback=[(r.storage_id, _feedback_hour(r)) for r in online],
    )
    events = _episode_end_events(instance, outcome.ended)
    if outcome.request is None:
        return dg.SensorResult(
            skip_reason=outcome.skip_reason, cursor=state.dump(), asset_events=events
        )
    request = outcome.request
    context.log.info(f"requesting retraining: {request.tags[DRIFTED_PARTITIONS_TAG]}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(job_name=retraining_job.name, run_key=request.run_key, tags=request.tags)
        ],
        cursor=state.dump(),
        asset_events=events,
    )


defs = dg.Definitions(
    sensors=[drift_retraining_sensor],
    jobs=[retraining_job],
    resources={"drift_retrain_policy": DriftRetrainPolicy()},
)
