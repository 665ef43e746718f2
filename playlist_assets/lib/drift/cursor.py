"""The drift sensor's memory and its decisions, as pure state transitions (no Dagster).

The sensor (``defs/retraining.py``) reads feature_drift events and run statuses from the
instance; everything it decides from them happens here, on a :class:`SensorState` that lives in
the sensor cursor as JSON, so a restarted daemon carries on where it was:

- an hour that drifted from the champion *and* moved beyond the last retrain's acknowledged
  reference (``DriftVerdict.trigger``) is held as pending; so is an hour that brings the tracks
  judged since the last retrain to ``retrain_after_tracks``;
- hours judged against the acknowledgment already requested for belong to that episode: they
  do not ask again until a retrain acknowledges something new (or the request failed);
- pending hours wait while a retrain was requested less than ``min_retrain_interval_seconds``
  ago or a retraining run is active, then go out as one request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields

from playlist_assets.lib.constants import (
    ACKNOWLEDGE_SINCE_TAG,
    DRIFT_EVENT_IDS_TAG,
    DRIFT_SENSOR,
    DRIFTED_COUNT_TAG,
    DRIFTED_PARTITIONS_TAG,
    EPISODE_SINCE_TAG,
    MAX_DRIFT_SCORE_TAG,
    REASON_TAG,
    TRIGGER_TAG,
)
from playlist_assets.lib.drift.episodes import DriftVerdict
from playlist_assets.lib.drift.feedback_triggers import FeedbackHour, read_feedback_hour

UNPARTITIONED = "unpartitioned"
_SHOWN_PARTITIONS = 12  # drifted partitions named in a request's tag


@dataclass(frozen=True)
class RetrainPolicy:
    """When drift, or new data, requests a retrain (the sensor's resource fills it in)."""

    min_retrain_interval_seconds: int = 3600
    max_events_per_tick: int = 1000
    retrain_after_tracks: int = 20_000
    # Listeners' feedback (lib.drift.feedback_triggers); 0 turns a trigger off.
    retrain_after_accepted: int = 5_000
    acceptance_floor: float = 0.0
    acceptance_window_hours: int = 24
    acceptance_min_impressions: int = 1_000


@dataclass(frozen=True)
class Pending:
    """An hour waiting to be part of the next retraining request."""

    storage_id: int
    partition: str | None
    score: float
    ack: str  # the acknowledged run the hour was judged against
    why: str  # "drift" or "<n> new tracks"


@dataclass
class SensorState:
    """The sensor cursor (JSON with these field names, so older cursors keep loading)."""

    after_storage_id: int | None = None
    last_request_at: float | None = None
    pending: list[Pending] = field(default_factory=list)
    # acknowledged_run of the hours behind the last request ("" = no retrain had acknowledged
    # anything yet); hours judged against it are part of the episode already requested.
    requested_for: str | None = None
    requested_key: str | None = None  # run key of that request
    ack_seen: str = ""
    tracks_since_ack: int = 0
    episode_since: str | None = None  # first drifted hour of the open episode
    # listeners' feedback: online_metrics events read, accepted requests since the last
    # request, the serving arm's [impressions, accepted] per recent hour, the open episode
    feedback_after_storage_id: int | None = None
    accepted_since_request: int = 0
    acceptance_window: list[list[int]] = field(default_factory=list)
    low_acceptance_since: str | None = None

    @classmethod
    def load(cls, cursor: str | None) -> SensorState:
        if not cursor:
            return cls()
        if cursor.strip().isdigit():  # a bare storage id, as a user may type it in the UI
            return cls(after_storage_id=int(cursor))
        try:
            raw = json.loads(cursor)
            known = {f.name for f in fields(cls)}
            state = cls(**{k: v for k, v in raw.items() if k in known})
            state.pending = [Pending(**p) for p in state.pending]
            return state
        except (ValueError, AttributeError, TypeError) as exc:
            raise ValueError(
                f"{DRIFT_SENSOR}: unreadable cursor {cursor[:80]!r}; reset it or set it to "
                "a storage id (an integer)"
            ) from exc

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def forget_request(self) -> None:
        """The last request's run failed or was canceled: its episode is not acknowledged, so
        the next triggering hour asks again."""
        self.requested_for = self.requested_key = None


@dataclass
class Tick:
    """What one tick read: counts for the skip message, episodes that ended."""

    judged: int = 0
    too_small: int = 0
    drifted: int = 0
    already_requested: int = 0
    max_score: float = 0.0
    ended: list[tuple[str, str]] = field(default_factory=list)  # (first drifted hour, end)


@dataclass(frozen=True)
class RetrainRequest:
    """One retraining run to request: its run key (tied to the events) and its tags."""

    run_key: str
    tags: dict[str, str]


@dataclass(frozen=True)
class TickOutcome:
    """A request, or why there is none; and the drift episodes that ended this tick."""

    request: RetrainRequest | None
    skip_reason: str | None
    ended: list[tuple[str, str]]


def read_hour(
    state: SensorState, tick: Tick, storage_id: int, v: DriftVerdict, retrain_after_tracks: int
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
        state.episode_since = state.episode_since or v.partition or UNPARTITIONED
    elif state.episode_since is not None:
        tick.ended.append((state.episode_since, v.partition or UNPARTITIONED))
        state.episode_since = None
    every = retrain_after_tracks
    new_data = every > 0 and state.tracks_since_ack >= every and not state.pending
    if not (v.trigger or new_data):
        return
    if state.requested_for == v.acknowledged_run:
        tick.already_requested += v.trigger
        return
    why = "drift" if v.trigger else f"{state.tracks_since_ack} new tracks"
    state.pending.append(Pending(storage_id, v.partition, v.drift_score, v.acknowledged_run, why))


def skip_message(state: SensorState, tick: Tick, n_records: int) -> str:
    """Why nothing is requested although nothing is held: what the tick read."""
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


def hold_reason(
    state: SensorState, policy: RetrainPolicy, now: float, retraining_active: Callable[[], bool]
) -> str | None:
    """Why the pending hours wait (the minimum interval, or a retraining run still active)."""
    held = len(state.pending)
    if state.last_request_at is not None:
        elapsed = now - state.last_request_at
        wait = policy.min_retrain_interval_seconds - elapsed
        if wait > 0:
            return (
                f"{held} drifted partition(s) held: last retraining was requested {elapsed:.0f} s "
                f"ago, minimum interval {policy.min_retrain_interval_seconds} s; they will be "
                f"folded into one request in {wait:.0f} s"
            )
    if retraining_active():
        return (
            f"{held} drifted partition(s) held: a retraining_job run is still active; they will "
            "be folded into one request after it ends"
        )
    return None


def build_request(state: SensorState) -> RetrainRequest:
    """Every pending hour in one request; the run key names its events, so a lost cursor that
    re-reads them asks for the same run (which the daemon does not launch twice)."""
    events = state.pending
    partitions = [e.partition or UNPARTITIONED for e in events]
    shown = ", ".join(partitions[:_SHOWN_PARTITIONS])
    if len(partitions) > _SHOWN_PARTITIONS:
        shown += f" (+{len(partitions) - _SHOWN_PARTITIONS} more)"
    first, last = events[0].storage_id, events[-1].storage_id
    tags = {
        TRIGGER_TAG: DRIFT_SENSOR,
        REASON_TAG: events[0].why,
        DRIFTED_PARTITIONS_TAG: shown,
        DRIFTED_COUNT_TAG: str(len(events)),
        DRIFT_EVENT_IDS_TAG: f"{first}-{last}",
        MAX_DRIFT_SCORE_TAG: f"{max(e.score for e in events):.3f}",
        ACKNOWLEDGE_SINCE_TAG: partitions[0],
    }
    if state.episode_since:
        tags[EPISODE_SINCE_TAG] = state.episode_since
    return RetrainRequest(run_key=f"feature_drift:{first}-{last}:{len(events)}", tags=tags)


def read_feedback(
    state: SensorState, feedback: Sequence[tuple[int, FeedbackHour]], policy: RetrainPolicy
) -> None:
    """Fold ``online_metrics`` hours in; a trigger is a pending hour like a drifted one."""
    for storage_id, hour in feedback:
        why = read_feedback_hour(state, hour, policy)
        if why and not state.pending:  # anything pending already asks for the same retrain
            state.pending.append(Pending(storage_id, hour.partition, 0.0, state.ack_seen, why))
        state.feedback_after_storage_id = storage_id


def advance(
    state: SensorState,
    hours: Sequence[tuple[int, DriftVerdict]],
    policy: RetrainPolicy,
    *,
    now: float,
    retraining_active: Callable[[], bool],
    feedback: Sequence[tuple[int, FeedbackHour]] = (),
) -> TickOutcome:
    """One tick: fold the new hours (``(storage_id, verdict)``, oldest first) and the new
    ``online_metrics`` hours into ``state``, then request, hold or skip. ``state`` is updated
    in place and is the next cursor."""
    tick = Tick()
    for storage_id, verdict in hours:
        read_hour(state, tick, storage_id, verdict, policy.retrain_after_tracks)
    if hours:
        state.after_storage_id = hours[-1][0]
    read_feedback(state, feedback, policy)
    if not state.pending:
        return TickOutcome(None, skip_message(state, tick, len(hours)), tick.ended)
    hold = hold_reason(state, policy, now, retraining_active)
    if hold:
        return TickOutcome(None, hold, tick.ended)
    request = build_request(state)
    state.requested_for, state.requested_key = state.pending[-1].ack, request.run_key
    state.accepted_since_request = 0  # every retrain takes in the feedback so far
    state.pending = []
    state.last_request_at = now
    return TickOutcome(request, None, tick.ended)


def episode_end_text(ended: Sequence[tuple[str, str]]) -> str | None:
    """What the retrain check says when drift ended this tick (the last episode that did)."""
    if not ended:
        return None
    since, until = ended[-1]
    return f"drift since {since} ended at {until}: the champion fits the data again"
