"""Retraining: ``retraining_job`` and the drift sensor that requests it once per drift episode.

The sensor reads each hour's feature_drift verdict (``lib.drift.episodes.drift_verdict``). An hour
that drifted from the champion *and* moved beyond the last retrain's acknowledged reference
triggers one request; hours judged against the same acknowledgment afterwards belong to the
episode already sent. When the retrain finishes, the next hours are judged against what it saw:
only a further shift (or ``retrain_after_tracks`` new tracks) requests again. All state is in
the cursor, so a restarted daemon carries on where it was.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields

import dagster as dg
from pydantic import Field

from playlist_assets.lib.constants import (
    ACKNOWLEDGE_SINCE_TAG,
    DRIFT_EVENT_IDS_TAG,
    DRIFT_SENSOR,
    DRIFTED_COUNT_TAG,
    DRIFTED_PARTITIONS_TAG,
    EPISODE_SINCE_TAG,
    MAX_DRIFT_SCORE_TAG,
    PURPOSE_TAG,
    REASON_TAG,
    RETRAIN_CHECK_NAME,
    RETRAINING_JOB,
    TRIGGER_TAG,
)
from playlist_assets.lib.drift.episodes import DriftVerdict, drift_verdict

FEATURE_DRIFT_KEY = dg.AssetKey("feature_drift")
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


class DriftRetrainPolicy(dg.ConfigurableResource):
    """When drift, or new data, requests a retrain."""

    min_retrain_interval_seconds: int = Field(
        default=3600,
        description="At most one retraining request per this many seconds; triggering hours "
        "seen in between are held in the sensor cursor and folded into the next request.",
    )
    max_events_per_tick: int = Field(
        default=1000,
        description="feature_drift materializations read per sensor tick (the rest wait for the "
        "next tick).",
    )
    retrain_after_tracks: int = Field(
        default=20_000,
        description="Request a retrain once this many new tracks were judged since the last "
        "retrain, drift or not (0 = only drift requests retrains).",
    )


@dataclass
class _SensorState:
    """The sensor cursor, as JSON."""

    after_storage_id: int | None = None
    last_request_at: float | None = None
    pending: list[dict] = field(default_factory=list)
    # acknowledged_run of the hours behind the last request ("" = no retrain had acknowledged
    # anything yet); hours judged against it are part of the episode already requested.
    requested_for: str | None = None
    requested_key: str | None = None  # run key of that request
    ack_seen: str = ""
    tracks_since_ack: int = 0
    episode_since: str | None = None  # first drifted hour of the open episode

    @classmethod
    def load(cls, cursor: str | None) -> _SensorState:
        if not cursor:
            return cls()
        if cursor.strip().isdigit():  # a bare storage id, as a user may type it in the UI
            return cls(after_storage_id=int(cursor))
        try:
            raw = json.loads(cursor)
            known = {f.name for f in fields(cls)}
            return cls(**{k: v for k, v in raw.items() if k in known})
        except (ValueError, AttributeError, TypeError) as exc:
            raise ValueError(
                f"drift_retraining_sensor: unreadable cursor {cursor[:80]!r}; reset it or set it to "
                "a storage id (an integer)"
            ) from exc

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass
class _Tick:
    """What one tick read: counts for the skip message, episodes that ended."""

    judged: int = 0
    too_small: int = 0
    drifted: int = 0
    already_requested: int = 0
    max_score: float = 0.0
    ended: list[tuple[str, str]] = field(default_factory=list)


def _fetch_new_events(
    instance: dg.DagsterInstance, after_storage_id: int | None, limit: int
) -> list[dg.EventLogRecord]:
    records: list[dg.EventLogRecord] = []
    after = after_storage_id
    while len(records) < limit:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=FEATURE_DRIFT_KEY, after_storage_id=after),
            limit=min(500, limit - len(records)),
            ascending=True,
        )
        records.extend(result.records)
        if not result.has_more or not result.records:
            break
        after = result.records[-1].storage_id
    return records


def _read(
    state: _SensorState, tick: _Tick, record: dg.EventLogRecord, v: DriftVerdict, every: int
) -> None:
    """Fold one hour's verdict into the state: episode bounds, new-data count, triggers."""
    if not v.judged:
        tick.too_small += 1
        return
    tick.judged += 1
    tick.max_score = max(tick.max_score, v.drift_score)
    if v.acknowledged_run != state.ack_seen:
        state.ack_seen, state.tracks_since_ack = v.acknowledged_run, 0
    state.tracks_since_ack += v.n_tracks
    if v.drifted:
        tick.drifted += 1
        state.episode_since = state.episode_since or v.partition or "unpartitioned"
    elif state.episode_since is not None:
        tick.ended.append((state.episode_since, v.partition or "unpartitioned"))
        state.episode_since = None
    new_data = every > 0 and state.tracks_since_ack >= every and not state.pending
    if not (v.trigger or new_data):
        return
    if state.requested_for == v.acknowledged_run:
        tick.already_requested += v.trigger
        return
    state.pending.append(
        {
            "storage_id": record.storage_id,
            "partition": v.partition,
            "score": v.drift_score,
            "ack": v.acknowledged_run,
            "why": "drift" if v.trigger else f"{state.tracks_since_ack} new tracks",
        }
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
    if not ended or not _check_failing(instance):
        return []
    since, until = ended[-1]
    return [
        dg.AssetCheckEvaluation(
            asset_key=CLASSIFIER_CHECK_KEY.asset_key,
            check_name=CLASSIFIER_CHECK_KEY.name,
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"drift since {since} ended at {until}: the champion fits the data again",
        )
    ]


def _skip_message(state: _SensorState, tick: _Tick, n_records: int) -> str:
    if not n_records:
        since = state.after_storage_id if state.after_storage_id is not None else "the start"
        return f"no new feature_drift materializations since storage id {since}"
    parts = [f"checked {n_records} new feature_drift materialization(s)"]
    if tick.drifted:
        parts.append(f"{tick.drifted} drifted from the champion (since {state.episode_since})")
    if tick.already_requested:
        parts.append(
            f"{tick.already_requested} of them belong to the episode already sent for "
            "retraining (no shift beyond what that retrain acknowledged)"
        )
    if not tick.drifted:
        parts.append(f"none drifted; max drift_score {tick.max_score:.2f} (drifted at >= 1.00)")
    if tick.too_small:
        parts.append(f"{tick.too_small} had too few tracks to judge")
    return "; ".join(parts)


def _hold_reason(
    state: _SensorState, policy: DriftRetrainPolicy, instance: dg.DagsterInstance
) -> str | None:
    held = len(state.pending)
    if state.last_request_at is not None:
        elapsed = time.time() - state.last_request_at
        wait = policy.min_retrain_interval_seconds - elapsed
        if wait > 0:
            return (
                f"{held} drifted partition(s) held: last retraining was requested {elapsed:.0f} s "
                f"ago, minimum interval {policy.min_retrain_interval_seconds} s; they will be "
                f"folded into one request in {wait:.0f} s"
            )
    if _retraining_in_progress(instance):
        return (
            f"{held} drifted partition(s) held: a retraining_job run is still active; they will "
            "be folded into one request after it ends"
        )
    return None


def _request(state: _SensorState) -> dg.RunRequest:
    events = state.pending
    partitions = [e["partition"] or "unpartitioned" for e in events]
    shown = ", ".join(partitions[:12]) + (
        f" (+{len(partitions) - 12} more)" if len(partitions) > 12 else ""
    )
    first, last = events[0]["storage_id"], events[-1]["storage_id"]
    return dg.RunRequest(
        job_name=retraining_job.name,
        run_key=f"feature_drift:{first}-{last}:{len(events)}",
        tags={
            TRIGGER_TAG: DRIFT_SENSOR,
            REASON_TAG: events[0]["why"],
            DRIFTED_PARTITIONS_TAG: shown,
            DRIFTED_COUNT_TAG: str(len(events)),
            DRIFT_EVENT_IDS_TAG: f"{first}-{last}",
            MAX_DRIFT_SCORE_TAG: f"{max(e['score'] for e in events):.3f}",
            ACKNOWLEDGE_SINCE_TAG: partitions[0],
            **({EPISODE_SINCE_TAG: state.episode_since} if state.episode_since else {}),
        },
    )


@dg.sensor(
    name=DRIFT_SENSOR,
    job=retraining_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Reads each hour's feature_drift verdict and requests one retraining_job run per "
    "drift episode: after a retrain, only a shift beyond what it acknowledged (or enough new "
    "data) requests another. Hours within the minimum interval, or while a retraining run is "
    "active, are folded into one request.",
)
def drift_retraining_sensor(
    context: dg.SensorEvaluationContext, drift_retrain_policy: DriftRetrainPolicy
) -> dg.SensorResult:
    state = _SensorState.load(context.cursor)
    if _request_failed(context.instance, state.requested_key):
        state.requested_for = state.requested_key = None  # the next triggering hour asks again
    records = _fetch_new_events(
        context.instance, state.after_storage_id, drift_retrain_policy.max_events_per_tick
    )
    tick = _Tick()
    for record in records:
        materialization = record.asset_materialization
        metadata = dict(materialization.metadata) if materialization else {}
        verdict = drift_verdict(metadata, record.partition_key)
        _read(state, tick, record, verdict, drift_retrain_policy.retrain_after_tracks)
    if records:
        state.after_storage_id = records[-1].storage_id
    events = _episode_end_events(context.instance, tick.ended)

    if not state.pending:
        message = _skip_message(state, tick, len(records))
        return dg.SensorResult(skip_reason=message, cursor=state.dump(), asset_events=events)
    hold = _hold_reason(state, drift_retrain_policy, context.instance)
    if hold:
        return dg.SensorResult(skip_reason=hold, cursor=state.dump(), asset_events=events)

    request = _request(state)
    context.log.info(f"requesting retraining: {request.tags[DRIFTED_PARTITIONS_TAG]}")
    state.requested_for, state.requested_key = state.pending[-1]["ack"], request.run_key
    state.pending = []
    state.last_request_at = time.time()
    return dg.SensorResult(run_requests=[request], cursor=state.dump(), asset_events=events)


defs = dg.Definitions(
    sensors=[drift_retraining_sensor],
    jobs=[retraining_job],
    resources={"drift_retrain_policy": DriftRetrainPolicy()},
)
