"""Listeners' feedback in the retraining sensor's cursor: enough new feedback, or acceptance
below the floor, requests one retrain per episode."""

from __future__ import annotations

from playlist_assets.lib.drift.cursor import RetrainPolicy, SensorState, advance
from playlist_assets.lib.drift.feedback_triggers import FeedbackHour, feedback_hour

POLICY = RetrainPolicy(
    min_retrain_interval_seconds=0,
    retrain_after_tracks=0,
    retrain_after_accepted=100,
    acceptance_floor=0.0,
)
FLOOR = RetrainPolicy(
    min_retrain_interval_seconds=0,
    retrain_after_tracks=0,
    retrain_after_accepted=0,
    acceptance_floor=0.2,
    acceptance_window_hours=3,
    acceptance_min_impressions=100,
)


def hours(first_id: int, *rows: tuple[int, int, int]) -> list[tuple[int, FeedbackHour]]:
    return [
        (first_id + i, FeedbackHour(f"2026-11-02-{i:02d}:00", n, a, acc))
        for i, (n, a, acc) in enumerate(rows)
    ]


def tick(state: SensorState, feedback, policy: RetrainPolicy, *, active: bool = False):
    # the cursor goes through JSON every tick, as in the sensor
    state = SensorState.load(state.dump())
    outcome = advance(
        state, [], policy, now=1e6, retraining_active=lambda: active, feedback=feedback
    )
    return state, outcome


def test_enough_accepted_feedback_requests_one_retrain_then_counts_again() -> None:
    state, outcome = tick(SensorState(), hours(10, (500, 100, 60)), POLICY)
    assert outcome.request is None and state.accepted_since_request == 60
    state, outcome = tick(state, hours(11, (500, 100, 50)), POLICY)
    assert outcome.request is not None
    assert "110 accepted requests" in outcome.request.tags["playlist_assets/reason"]
    assert state.accepted_since_request == 0 and state.feedback_after_storage_id == 11
    state, outcome = tick(state, hours(12, (500, 100, 50)), POLICY)
    assert outcome.request is None


def test_acceptance_below_the_floor_asks_once_per_episode() -> None:
    low = (400, 40, 0)  # 10 % < 20 %
    state, outcome = tick(SensorState(), hours(1, low), FLOOR)
    assert (
        outcome.request is not None
        and "below the floor" in outcome.request.tags["playlist_assets/reason"]
    )
    state, outcome = tick(state, hours(2, low, low), FLOOR)  # same episode: no new request
    assert outcome.request is None and state.low_acceptance_since is not None
    state, outcome = tick(state, hours(4, (400, 200, 0), (400, 200, 0), (400, 200, 0)), FLOOR)
    assert outcome.request is None and state.low_acceptance_since is None  # episode over
    state, outcome = tick(state, hours(7, low, low, low), FLOOR)
    assert outcome.request is not None  # a new episode asks again


def test_too_few_impressions_decide_nothing_and_a_running_retrain_holds() -> None:
    state, outcome = tick(SensorState(), hours(1, (50, 0, 0)), FLOOR)
    assert outcome.request is None and state.low_acceptance_since is None
    state, outcome = tick(state, hours(2, (400, 0, 0)), FLOOR, active=True)
    assert outcome.request is None and "still active" in (outcome.skip_reason or "")
    state, outcome = tick(state, [], FLOOR)
    assert outcome.request is not None


def test_metadata_of_an_online_metrics_hour_is_read_leniently() -> None:
    hour = feedback_hour({"champion_impressions": 10, "champion_accepted": "3"}, "2026-11-02-01:00")
    assert hour == FeedbackHour("2026-11-02-01:00", 10, 3, 0)
