"""Simulated listeners: deterministic people built from held-out playlists, for demos and tests.

A listener is one held-out playlist (``continuation_cases``: the first half are the seeds they
ask with, the catalogue songs of the second half their hidden taste). Shown a list, they look at
its first ``look`` songs and add each one that is in their hidden continuation and skip the
others; with probability ``noise`` a reaction flips. ``challenger_penalty``: on that share of the
challenger arm's lists the listener accepts nothing, so its acceptance is that much lower
(a known handicap for measuring what the A/B readout detects).

Two drivers share the listeners and reactions: ``run_offline`` ranks in process on a simulated
clock and writes the contract's landing lines; ``run_api`` calls the HTTP API in real time.
Everything is seeded: the same arguments give the same lines.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from playlist_assets.lib.feedback.contract import (
    CHALLENGER,
    DEFAULT_CHALLENGER_SHARE,
    FEEDBACK_DIR,
    IMPRESSIONS_DIR,
    LINE_SUFFIX,
    arm_of,
    hour_folder,
)
from playlist_assets.lib.feeds.landing import hour_folder_name


@dataclass(frozen=True)
class Listener:
    user: str
    seeds: tuple[str, ...]
    hidden: frozenset[str]
    playlist: str = ""  # the held-out playlist the listener comes from


# Listeners per held-out playlist keep this share of its continuation as their own taste.
TASTE_SHARE = 0.8
_TASTE_SALT = b"playlist_assets.listener.v1"


@dataclass(frozen=True)
class Behaviour:
    look: int = 5  # songs of each list a listener reacts to
    noise: float = 0.05  # probability a reaction flips (added <-> skipped)
    challenger_penalty: float = 0.0  # share of the challenger's lists accepted from nothing


@dataclass
class Tally:
    """What a simulation did, per arm."""

    requests: dict[str, int] = field(default_factory=dict)
    accepted: dict[str, int] = field(default_factory=dict)  # requests with an addition
    events: int = 0
    failures: int = 0
    errors: list[str] = field(default_factory=list)
    # (arm, listener) -> [requests, requests with an addition]: listeners are the units
    by_listener: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def count(self, arm: str, reactions: list[tuple[str, str]], user: str = "") -> None:
        self.requests[arm] = self.requests.get(arm, 0) + 1
        accepted = any(event == "added" for _, event in reactions)
        if accepted:
            self.accepted[arm] = self.accepted.get(arm, 0) + 1
        self.events += len(reactions)
        cell = self.by_listener.setdefault((arm, user), [0, 0])
        cell[0] += 1
        cell[1] += accepted

    def summary(self) -> str:
        parts = []
        for arm in sorted(self.requests):
            n, a = self.requests[arm], self.accepted.get(arm, 0)
            parts.append(f"{arm}: {n} requests, {a / n:.1%} with an addition")
        extra = f", {self.failures} failed calls" if self.failures else ""
        return "; ".join(parts) + f"; {self.events} feedback events{extra}"


def _keeps(user: str, track: str, share: float) -> bool:
    digest = hashlib.blake2b(f"{user}\n{track}".encode(), key=_TASTE_SALT, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < share


def listeners_from(
    cases: Iterable[Any], per_playlist: int = 1, taste: float = TASTE_SHARE
) -> list[Listener]:
    """Listeners from continuation cases (``lib.recommend.cooccurrence.Case``).

    One per playlist (``listener-<pid>``, the whole continuation as taste), or ``per_playlist``
    of them (``listener-<pid>-<j>``): many more listeners than playlists, as a deployment has.
    Each asks with the playlist's seeds and likes its own ``taste`` share of the continuation,
    which songs chosen by a hash of the listener id and the song: deterministic per listener,
    different between listeners of one playlist (who still share much of their taste).
    """
    out = []
    for c in cases:
        if not (c.seeds and c.targets):
            continue
        if per_playlist <= 1:
            out.append(
                Listener(f"listener-{c.pid}", tuple(c.seeds), frozenset(c.targets), str(c.pid))
            )
            continue
        for j in range(per_playlist):
            user = f"listener-{c.pid}-{j}"
            hidden = frozenset(t for t in c.targets if _keeps(user, str(t), taste))
            out.append(Listener(user, tuple(c.seeds), hidden, str(c.pid)))
    return out


def react(
    listener: Listener, ranked: list[str], arm: str, rng: random.Random, how: Behaviour
) -> list[tuple[str, str]]:
    """(track, event) for the first ``how.look`` songs of ``ranked``."""
    out = []
    handicapped = arm == CHALLENGER and rng.random() < how.challenger_penalty
    for track in ranked[: how.look]:
        likes = track in listener.hidden
        if rng.random() < how.noise:
            likes = not likes
        out.append((track, "added" if likes and not handicapped else "skipped"))
    return out


class LandingWriter:
    """Appends contract lines to ``<landing>/<kind>/<hour>/simulator-<tag>.jsonl``."""

    def __init__(self, landing: Path, tag: str) -> None:
        self.landing, self.name = Path(landing), f"simulator-{tag}{LINE_SUFFIX}"
        self._open: dict[tuple[str, str], IO[str]] = {}

    def write(self, kind: str, moment: datetime, record: dict[str, Any]) -> None:
        hour = hour_folder_name(moment)
        handle = self._open.get((kind, hour))
        if handle is None:
            for key in [k for k in self._open if k[0] == kind]:
                self._open.pop(key).close()
            folder = hour_folder(self.landing, kind, hour)
            folder.mkdir(parents=True, exist_ok=True)
            handle = self._open[(kind, hour)] = (folder / self.name).open("a")
        handle.write(json.dumps(record, separators=(",", ":")) + "\n")

    def close(self) -> None:
        for handle in self._open.values():
            handle.close()
        self._open.clear()


def iso_ms(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


Ranker = Callable[[str, tuple[str, ...]], tuple[list[str], str]]  # (arm, seeds) -> ranked, version


def run_offline(
    listeners: list[Listener],
    rank: Ranker,
    landing: Path,
    *,
    start: datetime,
    rate: float,
    hours: float,
    k: int = 10,
    strategy: str = "hybrid",
    how: Behaviour = Behaviour(),
    challenger_share: float = DEFAULT_CHALLENGER_SHARE,
    seed: int = 0,
) -> Tally:
    """``rate`` requests per simulated second for ``hours`` from ``start`` (naive UTC), ranked
    by ``rank`` (cached per seeds and arm: a listener's seeds do not change, and listeners of
    one playlist share them), written as the API would write them; each reaction lands 1-60 s
    after its impression."""
    rng, tally = random.Random(seed), Tally()
    cache: dict[tuple[tuple[str, ...], str], tuple[list[str], str]] = {}
    writer = LandingWriter(landing, f"{seed}-{start:%Y%m%dT%H%M}")
    try:
        for i in range(int(rate * hours * 3600)):
            listener = listeners[rng.randrange(len(listeners))]
            arm = arm_of(listener.user, challenger_share)
            if (listener.seeds, arm) not in cache:
                cache[(listener.seeds, arm)] = rank(arm, listener.seeds)
            ranked, version = cache[(listener.seeds, arm)]
            moment = start + timedelta(seconds=i / rate)
            request_id = f"sim-{seed}-{i}"
            writer.write(
                IMPRESSIONS_DIR,
                moment,
                {
                    "request_id": request_id,
                    "time": iso_ms(moment),
                    "user": listener.user,
                    "key_id": None,
                    "model_version": version,
                    "strategy": strategy,
                    "arm": arm,
                    "k": k,
                    "seeds": list(listener.seeds),
                    "ranked": ranked[:k],
                },
            )
            reactions = react(listener, ranked[:k], arm, rng, how)
            later = moment + timedelta(seconds=1 + rng.random() * 59)
            for track, event in reactions:
                writer.write(
                    FEEDBACK_DIR,
                    later,
                    {
                        "request_id": request_id,
                        "track_id": track,
                        "event": event,
                        "time": iso_ms(later),
                        "user": listener.user,
                        "key_id": None,
                    },
                )
            tally.count(arm, reactions, listener.user)
    finally:
        writer.close()
    return tally


def _post(url: str, body: Any, key: str | None, timeout: float = 10.0) -> Any:
    from urllib.request import Request, urlopen

    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urlopen(request, timeout=timeout) as response:  # noqa: S310 - the user's API URL
        return json.loads(response.read() or b"null")


# A rate-limited call (429) is tried again after the API's Retry-After, at most this often, as a
# well-behaved client does: the simulator makes two calls per listener request.
RATE_LIMIT_RETRIES = 3


def _polite(post: Callable[[str, Any, str | None], Any]) -> Callable[[str, Any, str | None], Any]:
    """``post`` that waits out a 429 (its Retry-After, at most 2 s) and tries again."""
    from urllib.error import HTTPError

    def call(url: str, body: Any, key: str | None) -> Any:
        for _ in range(RATE_LIMIT_RETRIES):
            try:
                return post(url, body, key)
            except HTTPError as exc:
                if exc.code != 429:
                    raise
                wait = exc.headers.get("Retry-After") if exc.headers else None
                try:
                    time.sleep(min(max(float(wait or 1.0), 0.05), 2.0))
                except ValueError:
                    time.sleep(1.0)
        return post(url, body, key)

    return call


def run_api(
    listeners: list[Listener],
    base_url: str,
    *,
    key: str | None,
    rate: float,
    hours: float,
    k: int = 10,
    strategy: str = "hybrid",
    how: Behaviour = Behaviour(),
    seed: int = 0,
    post: Callable[[str, Any, str | None], Any] = _post,
) -> Tally:
    """The same listeners against the HTTP API, ``rate`` requests per real second: POST
    /v1/recommendations, then the reactions in one POST /v1/feedback. A rate-limited call waits
    and is tried again; a failed call is counted and named (the first few), never fatal: the API
    may be restarting."""
    from urllib.error import HTTPError, URLError

    rng, tally = random.Random(seed), Tally()
    base = base_url.rstrip("/")
    post = _polite(post)
    began = time.monotonic()
    for i in range(int(rate * hours * 3600)):
        pause = began + i / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        listener = listeners[rng.randrange(len(listeners))]
        try:
            answer = post(
                f"{base}/v1/recommendations",
                {
                    "seeds": list(listener.seeds),
                    "k": k,
                    "strategy": strategy,
                    "user": listener.user,
                },
                key,
            )
            ranked = [song["id"] for song in answer["songs"]]
            arm = answer.get("arm", "champion")
            reactions = react(listener, ranked, arm, rng, how)
            if reactions:
                events = [
                    {"request_id": answer["request_id"], "track_id": t, "event": e}
                    for t, e in reactions
                ]
                post(f"{base}/v1/feedback", events, key)
            tally.count(arm, reactions, listener.user)
        except (HTTPError, URLError, OSError, KeyError, ValueError) as exc:
            tally.failures += 1
            if len(tally.errors) < 5:
                detail = (
                    exc.read().decode(errors="replace")[:200] if isinstance(exc, HTTPError) else ""
                )
                tally.errors.append(f"request {i}: {exc} {detail}".strip())
    return tally
