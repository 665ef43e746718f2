"""The drift sensor's state machine on its own: hours in, a request, a hold or a skip out."""

from __future__ import annotations

import json

import pytest

from playlist_assets.lib.drift.cursor import (
    RetrainPolicy,
    SensorState,
    TickOutcome,
    advance,
    episode_end_text,
)
from playlist_assets.lib.drift.episodes import DriftVerdict

NOW = 1_000_000.0
NO_LIMITS = RetrainPolicy(min_retrain_interval_seconds=0, retrain_after_tracks=0)


def hour(
    h: int,
    *,
    drifted: bool = False,
    trigger: bool | None = None,
    ack: str = "",
    score: float | None = None,
    n_tracks: int = 40,
    reason: str = "test",
) -> DriftVerdict:
    return DriftVerdict(
        partition=f"2026-11-02-{h:02d}:00",
        drifted=drifted,
        drift_score=score if score is not None else (2.0 if drifted else 0.3),
        trigger=drifted if trigger is None else trigger,
        acknowledged_run=ack,
        n_tracks=n_tracks,
        reason=reason,
    )


def tick(
    state: SensorState,
    hours: list[tuple[int, DriftVerdict]],
    policy: RetrainPolicy = NO_LIMITS,
    *,
    now: float = NOW,
    active: bool = False,
) -> TickOutcome:
    return advance(state, hours, policy, now=now, retraining_active=lambda: active)


def test_the_first_triggering_hour_requests_a_retrain_tagged_with_its_episode() -> None:
    state = SensorState()
    outcome = tick(state, [(7, hour(1)), (8, hour(2, drifted=True, score=1.5))])
    request = outcome.request
    assert request is not None and outcome.skip_reason is None
    assert request.run_key == "feature_drift:8-8:1"
    assert request.tags == {
        "playlist_assets/trigger": "drift_retraining_sensor",
        "playlist_assets/reason": "drift",
        "playlist_assets/drifted_partitions": "2026-11-02-02:00",
        "playlist_assets/drifted_count": "1",
        "playlist_assets/drift_event_ids": "8-8",
        "playlist_assets/max_drift_score": "1.500",
        "playlist_assets/acknowledge_since": "2026-11-02-02:00",
        "playlist_assets/episode_since": "2026-11-02-02:00",
    }
    assert state.after_storage_id == 8 and state.pending == []
    assert (state.requested_for, state.requested_key) == ("", request.run_key)
    assert state.last_request_at == NOW


def test_hours_inside_the_episode_already_requested_do_not_ask_again() -> None:
    state = SensorState()
    assert tick(state, [(1, hour(1, drifted=True))]).request is not None
    # The same shift, judged before any retrain acknowledged it (ack still "").
    outcome = tick(state, [(2, hour(2, drifted=True)), (3, hour(3, drifted=True))])
    assert outcome.request is None
    assert outcome.skip_reason == (
        "checked 2 new feature_drift materialization(s); 2 drifted from the champion (since "
        "2026-11-02-01:00); 2 of them belong to the episode already sent for retraining (no "
        "shift beyond what that retrain acknowledged)"
    )
    assert state.episode_since == "2026-11-02-01:00" and state.pending == []


def test_after_a_finished_retrain_only_a_shift_beyond_what_it_acknowledged_asks_again() -> None:
    state = SensorState()
    first = tick(state, [(1, hour(1, drifted=True))]).request
    # The retrain run-2 acknowledged hour 1: still drifted from the old champion, no trigger.
    settled = tick(state, [(2, hour(2, drifted=True, trigger=False, ack="run-2"))])
    assert settled.request is None and state.pending == []
    further = tick(state, [(3, hour(3, drifted=True, ack="run-2"))]).request
    assert further is not None and further.run_key != first.run_key
    assert further.tags["playlist_assets/acknowledge_since"] == "2026-11-02-03:00"
    assert further.tags["playlist_assets/episode_since"] == "2026-11-02-01:00"
    assert state.requested_for == "run-2"


def test_a_retrain_still_running_holds_the_hours_then_folds_them_into_one_request() -> None:
    state = SensorState()
    tick(state, [(1, hour(1, drifted=True))])
    held = tick(state, [(2, hour(2, drifted=True, ack="run-2"))], active=True)
    assert held.request is None
    assert held.skip_reason.startswith("1 drifted partition(s) held: a retraining_job run")
    held = tick(state, [(3, hour(3, drifted=True, ack="run-2"))], active=True)
    assert len(state.pending) == 2
    request = tick(state, [], active=False).request
    assert request is not None and request.run_key == "feature_drift:2-3:2"
    assert request.tags["playlist_assets/drifted_partitions"] == (
        "2026-11-02-02:00, 2026-11-02-03:00"
    )
    assert state.pending == []


def test_the_minimum_interval_holds_hours_until_it_has_passed() -> None:
    policy = RetrainPolicy(min_retrain_interval_seconds=3600, retrain_after_tracks=0)
    state = SensorState()
    assert tick(state, [(1, hour(1, drifted=True))], policy, now=NOW).request is not None
    held = tick(state, [(2, hour(2, drifted=True, ack="run-2"))], policy, now=NOW + 60)
    assert held.request is None
    assert held.skip_reason == (
        "1 drifted partition(s) held: last retraining was requested 60 s ago, minimum interval "
        "3600 s; they will be folded into one request in 3540 s"
    )
    # Not asked whether a retrain runs while the interval holds.
    outcome = advance(state, [], policy, now=NOW + 120, retraining_active=_never_asked)
    assert outcome.request is None
    later = tick(state, [], policy, now=NOW + 3601)
    assert later.request is not None and later.request.run_key == "feature_drift:2-2:1"
    assert state.last_request_at == NOW + 3601


def _never_asked() -> bool:
    raise AssertionError("retraining_active consulted while the interval holds")


def test_enough_new_tracks_request_a_retrain_without_drift() -> None:
    policy = RetrainPolicy(min_retrain_interval_seconds=0, retrain_after_tracks=100)
    state = SensorState()
    outcome = tick(state, [(1, hour(1, n_tracks=60)), (2, hour(2, n_tracks=60))], policy)
    assert outcome.request is not None
    assert outcome.request.tags["playlist_assets/reason"] == "120 new tracks"
    assert "playlist_assets/episode_since" not in outcome.request.tags
    # A retrain (run-2) resets the count: 60 tracks judged against it are not enough.
    assert tick(state, [(3, hour(3, n_tracks=60, ack="run-2"))], policy).request is None
    assert state.tracks_since_ack == 60


def test_a_failed_request_is_forgotten_so_the_episode_asks_again() -> None:
    state = SensorState()
    first = tick(state, [(1, hour(1, drifted=True))]).request
    state.forget_request()
    again = tick(state, [(2, hour(2, drifted=True))]).request
    assert again is not None and again.run_key != first.run_key


def test_an_episode_ends_at_the_first_hour_that_no_longer_drifts() -> None:
    state = SensorState()
    outcome = tick(state, [(1, hour(1, drifted=True)), (2, hour(2, drifted=True)), (3, hour(3))])
    assert outcome.ended == [("2026-11-02-01:00", "2026-11-02-03:00")]
    assert state.episode_since is None
    assert episode_end_text(outcome.ended) == (
        "drift since 2026-11-02-01:00 ended at 2026-11-02-03:00: the champion fits the data again"
    )
    assert episode_end_text([]) is None


def test_hours_with_too_few_tracks_are_counted_not_judged() -> None:
    state = SensorState()
    small = hour(1, drifted=True, reason="too few tracks to judge: 8 < min_tracks 30")
    outcome = tick(state, [(1, small), (2, hour(2, score=0.4))])
    assert outcome.request is None and state.episode_since is None
    assert outcome.skip_reason == (
        "checked 2 new feature_drift materialization(s); none drifted; max drift_score 0.40 "
        "(drifted at >= 1.00); 1 had too few tracks to judge"
    )
    assert tick(SensorState(), []).skip_reason == (
        "no new feature_drift materializations since storage id the start"
    )


def test_a_lost_cursor_rereads_the_same_events_into_the_same_run_key() -> None:
    hours = [(5, hour(1, drifted=True)), (6, hour(2, drifted=True))]
    first, again = tick(SensorState(), hours).request, tick(SensorState(), hours).request
    assert first.run_key == again.run_key == "feature_drift:5-6:2"
    assert tick(SensorState(), hours[1:]).request.run_key == "feature_drift:6-6:1"


def test_the_cursor_survives_a_restart_and_reads_what_older_builds_wrote() -> None:
    state = SensorState()
    tick(state, [(1, hour(1, drifted=True))])
    tick(state, [(2, hour(2, drifted=True, ack="run-2"))], active=True)
    restored = SensorState.load(state.dump())
    assert restored == state and restored.pending[0].partition == "2026-11-02-02:00"
    old = {"after_storage_id": 4, "pending": [], "retired_field": 1, "ack_seen": "run-1"}
    assert SensorState.load(json.dumps(old)) == SensorState(after_storage_id=4, ack_seen="run-1")
    assert SensorState.load(" 42 ") == SensorState(after_storage_id=42)
    assert SensorState.load(None) == SensorState()
    with pytest.raises(ValueError, match="unreadable cursor"):
        SensorState.load("{not json")
