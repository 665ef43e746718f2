"""What listeners' feedback adds to the retraining sensor's decisions (pure, no Dagster).

Each ``online_metrics`` hour tells the sensor how many impressions the serving arm (the
champion) had and how many of them were accepted, and how many requests had accepted songs in
all arms (their reactions become co-occurrence evidence at the next retrain,
lib/feedback/training.py). Two triggers:

- **new feedback**: ``retrain_after_accepted`` accepted requests since the last request;
- **acceptance below the floor**: the champion's acceptance over the last
  ``acceptance_window_hours`` hours (with at least ``acceptance_min_impressions`` impressions)
  is below ``acceptance_floor``. One request per episode: the episode stays open (and asks no
  more) until the rate is back at or above the floor.

Both become pending hours of the same episode logic as drift (``cursor.advance``): held by the
minimum interval and by a running retrain, folded into one request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOW_ACCEPTANCE = "acceptance below the floor"


@dataclass(frozen=True)
class FeedbackHour:
    """One ``online_metrics`` hour as the sensor reads it (its materialization's metadata)."""

    partition: str | None
    serving_impressions: int
    serving_accepted: int
    accepted_requests: int


def feedback_hour(metadata: dict[str, Any], partition: str | None) -> FeedbackHour:
    def number(name: str) -> int:
        value = metadata.get(name)
        value = getattr(value, "value", value)
        try:
            return int(value or 0)
        except (TypeError, ValueError):
            return 0

    return FeedbackHour(
        partition,
        number("champion_impressions"),
        number("champion_accepted"),
        number("accepted_requests"),
    )


def window_rate(window: list[list[int]], min_impressions: int) -> float | None:
    """Acceptance over the window's ``[impressions, accepted]`` hours; None below the minimum."""
    shown = sum(h[0] for h in window)
    return None if shown < max(1, min_impressions) else sum(h[1] for h in window) / shown


def read_feedback_hour(state: Any, hour: FeedbackHour, policy: Any) -> str | None:
    """Fold one hour into ``state`` (a ``cursor.SensorState``); the reason to retrain, if any.

    ``policy``: a ``cursor.RetrainPolicy`` (retrain_after_accepted, acceptance_floor,
    acceptance_window_hours, acceptance_min_impressions).
    """
    state.accepted_since_request += hour.accepted_requests
    window = state.acceptance_window + [[hour.serving_impressions, hour.serving_accepted]]
    state.acceptance_window = window[-max(1, policy.acceptance_window_hours) :]
    why = None
    if policy.acceptance_floor > 0:
        rate = window_rate(state.acceptance_window, policy.acceptance_min_impressions)
        if rate is not None and rate < policy.acceptance_floor:
            if state.low_acceptance_since is None:
                state.low_acceptance_since = hour.partition or "unpartitioned"
                why = (
                    f"{LOW_ACCEPTANCE}: {rate:.1%} < {policy.acceptance_floor:.1%} over the last "
                    f"{len(state.acceptance_window)} hour(s)"
                )
        elif rate is not None:
            state.low_acceptance_since = None  # the episode ended
    every = policy.retrain_after_accepted
    if why is None and every > 0 and state.accepted_since_request >= every:
        why = f"{state.accepted_since_request} accepted requests of listeners' feedback"
    return why
