"""Feedback on served lists (issue 23): checked against the requests this process served, then
appended to the feedback log (``hourly_log``); the hourly asset takes the arm and model version
that served each event from its stored impression (``contract.FEEDBACK_LINE_FIELDS``).

A request is remembered (``RecentRequests``) when its answer is built: its ranked ids, user, arm
and model version, for at most ``FEEDBACK_MEMORY_SECONDS`` and the last ``feedback_memory``
requests (the oldest forgotten first), so memory stays bounded however long the service runs.
An event is accepted only for a remembered request and a track that request ranked; a repeat of
``contract.FEEDBACK_KEY`` is answered as a duplicate and written once. A batch is all or
nothing: one rejected event rejects the batch (every rejection listed), so a client fixes it and
sends it again (duplicates make a resend safe).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from playlist_assets.api.errors import ApiError
from playlist_assets.api.hourly_log import HourlyLog, iso_ms, utc_now
from playlist_assets.api.metrics import ApiMetrics
from playlist_assets.api.schemas import FeedbackEvent
from playlist_assets.lib.feedback.contract import FEEDBACK_LINE_FIELDS

UNKNOWN_ARM = "unknown"  # the metric's arm of an event whose request is not remembered


@dataclass
class Served:
    """What feedback on one request is checked against (and its metric's arm)."""

    ranked: tuple[str, ...]
    user: str | None
    arm: str
    at: float = field(default_factory=time.monotonic)
    seen: set[tuple[str, str]] = field(default_factory=set)  # (track, event) accepted


class RecentRequests:
    """The last ``capacity`` requests served within ``seconds``; thread-safe."""

    def __init__(self, capacity: int, seconds: float) -> None:
        self.capacity, self.seconds = capacity, seconds
        self._served: OrderedDict[str, Served] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._served)

    def remember(self, request_id: str, served: Served) -> None:
        with self._lock:
            self._served[request_id] = served
            self._expire(time.monotonic())

    def _expire(self, now: float) -> None:
        served = self._served
        while served and (
            len(served) > self.capacity or now - next(iter(served.values())).at > self.seconds
        ):
            served.popitem(last=False)

    def judge(self, events: list[FeedbackEvent]) -> tuple[list[dict], list[dict], list[Served]]:
        """(verdicts, rejections, the served request of each event) for a batch; accepted
        events are marked seen at once (a concurrent resend is then a duplicate)."""
        verdicts, rejections, sources = [], [], []
        with self._lock:
            self._expire(time.monotonic())
            marked: list[tuple[Served, tuple[str, str]]] = []
            for i, e in enumerate(events):
                served = self._served.get(e.request_id)
                problem = _problem(e, served)
                if problem is not None:
                    rejections.append({"index": i, **problem})
                    continue
                key = (e.track_id, e.event)
                duplicate = key in served.seen
                if not duplicate:
                    served.seen.add(key)
                    marked.append((served, key))
                verdicts.append({"index": i, "duplicate": duplicate})
                sources.append(served)
            if rejections:  # all or nothing: unmark what this batch marked
                for served, key in marked:
                    served.seen.discard(key)
        return verdicts, rejections, sources

    def unmark(self, events: list[FeedbackEvent], sources: list[Served]) -> None:
        """Forget that these events were accepted (their lines could not be written)."""
        with self._lock:
            for e, served in zip(events, sources, strict=True):
                served.seen.discard((e.track_id, e.event))


def _problem(e: FeedbackEvent, served: Served | None) -> dict | None:
    if served is None:
        return {
            "status": 404,
            "code": "unknown_request",
            "field": "request_id",
            "message": f"request {e.request_id} was not served by this service recently (it "
            "remembers the last day's requests, up to its --feedback-memory)",
        }
    if e.track_id not in served.ranked:
        return {
            "status": 422,
            "code": "not_shown",
            "field": "track_id",
            "message": f"track {e.track_id} was not among the {len(served.ranked)} songs "
            f"request {e.request_id} answered",
        }
    if e.user is not None and served.user is not None and e.user != served.user:
        return {
            "status": 422,
            "code": "other_user",
            "field": "user",
            "message": f"request {e.request_id} was made for another user",
        }
    return None


def take(
    events: list[FeedbackEvent],
    batch: bool,
    key_id: str | None,
    recent: RecentRequests,
    feedback_log: HourlyLog,
    metrics: ApiMetrics,
) -> dict[str, Any]:
    """Check and log one POST's events (runs in a worker thread: it may write to disk)."""
    verdicts, rejections, sources = recent.judge(events)
    if rejections:
        for r in rejections:
            e = events[r["index"]]
            metrics.feedback.labels(e.event, UNKNOWN_ARM, "rejected").inc()
            if batch:
                r["field"] = f"[{r['index']}].{r['field']}"
        first = rejections[0]
        raise ApiError(
            first["status"],
            first["code"],
            f"{first['field']}: {first['message']}"
            + (f" ({len(rejections)} of {len(events)} events rejected)" if batch else ""),
            first["field"],
            details={
                "rejected": [{k: v for k, v in r.items() if k != "status"} for r in rejections]
            }
            if batch
            else None,
        )
    moment = utc_now()
    when = iso_ms(moment)
    fresh = [
        (e, s) for e, s, v in zip(events, sources, verdicts, strict=True) if not v["duplicate"]
    ]
    lines = [_line(e, s, when, key_id) for e, s in fresh]
    if lines:
        try:
            feedback_log.append_many(lines, moment)
        except OSError as exc:
            recent.unmark([e for e, _ in fresh], [s for _, s in fresh])
            raise ApiError(
                503,
                "not_stored",
                f"feedback could not be stored ({exc}); send it again",
                headers={"Retry-After": "5"},
            ) from None
    for e, s, v in zip(events, sources, verdicts, strict=True):
        metrics.feedback.labels(e.event, s.arm, "duplicate" if v["duplicate"] else "accepted").inc()
    return {
        "accepted": len(lines),
        "duplicates": len(events) - len(lines),
        "events": [
            {
                "request_id": e.request_id,
                "track_id": e.track_id,
                "event": e.event,
                "outcome": "duplicate" if v["duplicate"] else "accepted",
            }
            for e, v in zip(events, verdicts, strict=True)
        ],
    }


def _line(e: FeedbackEvent, served: Served, when: str, key_id: str | None) -> dict[str, Any]:
    values = {
        "request_id": e.request_id,
        "track_id": e.track_id,
        "event": e.event,
        "time": when,
        "user": e.user if e.user is not None else served.user,
        "key_id": key_id,
    }
    return {name: values[name] for name in FEEDBACK_LINE_FIELDS}
