"""The Spotify feed's client: spotipy with every wait capped and the whole hour time-bounded.

spotipy's own retry honours ``Retry-After`` without a cap (a call can hang for an hour), so the
client is built with ``retries=0, status_retries=0`` and this module retries itself: 429 waits
``Retry-After`` only when it fits under the per-wait cap and the hour's budget, 5xx / timeouts /
refused connections / malformed JSON back off exponentially with jitter. Every request's own
timeout is cut to what is left of the budget, so the hour ends within ``RetryBudget.total_s``
(default 45 s) whatever the server does, with one error that says what was tried.

Only a rate limit (``SpotifyRateLimited``) is worth Dagster's ``RetryPolicy`` retrying later;
anything else that outlasts the budget (``SpotifyUnavailable``: an unreachable address, a
server that keeps failing or hanging) would fail the same way again, so it is final. Which
failure is which is decided in ``spotify_errors.py``: Spotify answers 403 (or 404) on
``audio-features`` for applications created after November 2024, which ends the hour with
``AudioFeaturesRestricted``, never a retry. Credentials never reach a log line, an exception message or metadata. What one hour asks
for (search per genre, then audio features) is in ``spotify_hour.py``.
"""

from __future__ import annotations

import logging
import random
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

# ``settings`` is the client's own SpotifySettings below; the project's module keeps its name.
from playlist_assets import settings as project_settings
from playlist_assets.lib.feeds.spotify_errors import (
    AudioFeaturesRestricted,
    SpotifyAuthError,
    SpotifyFeedError,
    SpotifyRateLimited,
    SpotifyUnavailable,
    Trouble,
    classify,
    retried_errors,
)

# The errors are part of the client's public face (callers catch them from here).
__all__ = [
    "AUDIO_FEATURES_BATCH",
    "SEARCH_MAX_OFFSET",
    "SEARCH_PAGE_LIMIT",
    "AudioFeaturesRestricted",
    "RetryBudget",
    "SpotifyAuthError",
    "SpotifyFeedClient",
    "SpotifyFeedError",
    "SpotifyRateLimited",
    "SpotifySettings",
    "SpotifyUnavailable",
]

T = TypeVar("T")

SEARCH_PAGE_LIMIT = 50  # Spotify's maximum page size for search
SEARCH_MAX_OFFSET = 1000  # Spotify refuses offset + limit beyond this
AUDIO_FEATURES_BATCH = 100  # Spotify's maximum ids per audio-features call


@dataclass(frozen=True)
class RetryBudget:
    """How long one hour of the feed may wait on Spotify, in total and per wait."""

    max_attempts: int = 5  # per call, the first try included
    max_wait_s: float = 30.0  # a longer Retry-After is not waited out
    total_s: float = 45.0  # the whole hour: requests, their timeouts and the waits
    base_backoff_s: float = 1.0


@dataclass(frozen=True)
class SpotifySettings:
    client_id: str
    client_secret: str
    api_url: str | None = None  # e.g. a local fake: "http://127.0.0.1:8765/v1/"
    token_url: str | None = None
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 15.0
    market: str | None = None

    def __repr__(self) -> str:  # keep the secret out of tracebacks and logs
        return f"SpotifySettings(client_id=***, api_url={self.api_url!r})"


class SpotifyFeedClient:
    """spotipy without its uncapped retry, plus our bounded one."""

    def __init__(
        self,
        settings: SpotifySettings,
        budget: RetryBudget | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        log: Callable[[str], None] | None = None,
    ) -> None:
        import requests
        import spotipy
        from spotipy.cache_handler import MemoryCacheHandler
        from spotipy.oauth2 import SpotifyClientCredentials

        if not settings.client_id or not settings.client_secret:
            raise SpotifyAuthError(
                f"the spotify feed needs {project_settings.SPOTIFY_CLIENT_ID_ENV} and "
                f"{project_settings.SPOTIFY_CLIENT_SECRET_ENV} in the environment"
            )
        # spotipy logs request headers (the Basic credentials, the bearer token) at DEBUG.
        logging.getLogger("spotipy").setLevel(logging.INFO)
        timeout = (settings.connect_timeout_s, settings.read_timeout_s)
        auth = SpotifyClientCredentials(
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            requests_timeout=timeout,
            cache_handler=MemoryCacheHandler(),  # never a .cache file with the token
        )
        if settings.token_url:
            auth.OAUTH_TOKEN_URL = settings.token_url
        # A plain session: spotipy's own would mount a urllib3 Retry that turns a 429 or 5xx into
        # "Max Retries" (status lost, Retry-After dropped) even with retries=0.
        self._session = requests.Session()
        self._sp = spotipy.Spotify(
            auth_manager=auth,
            requests_session=self._session,
            requests_timeout=timeout,
            retries=0,
            status_retries=0,
            backoff_factor=0,
        )
        if settings.api_url:
            self._sp.prefix = settings.api_url.rstrip("/") + "/"
        self.settings = settings
        self.budget = budget or RetryBudget()
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._log = log or (lambda _msg: None)
        self._auth = auth
        self._started = clock()
        self._deadline = self._started + self.budget.total_s
        self.waits: list[float] = []  # every wait taken, for metadata and tests
        self.tried: list[str] = []  # every failed attempt, for the final error

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> SpotifyFeedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls -------------------------------------------------------------------------------

    def call(self, endpoint: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` with capped, budgeted retries; ``endpoint`` names it in errors."""
        retried = retried_errors()
        attempt = 0
        while True:
            attempt += 1
            self._cap_timeouts(endpoint, attempt)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    result = fn(*args, **kwargs)
            except retried as exc:
                trouble = classify(
                    endpoint,
                    exc,
                    api_url=self._sp.prefix,
                    read_timeout_s=self._sp.requests_timeout[1],
                    max_wait_s=self.budget.max_wait_s,
                )
            else:
                if result is not None:
                    return result
                # spotipy turns an undecodable 200 body into None.
                trouble = Trouble(f"{endpoint}: malformed JSON in Spotify's answer")
            wait = trouble.wait if trouble.wait is not None else self._backoff(attempt)
            self._wait_or_give_up(trouble.problem, wait, attempt, trouble.limited)

    def _backoff(self, attempt: int) -> float:
        # Full jitter: a random share of an exponentially growing, capped ceiling.
        ceiling = min(self.budget.max_wait_s, self.budget.base_backoff_s * 2 ** (attempt - 1))
        return ceiling * (0.5 + 0.5 * self._jitter())

    def _wait_or_give_up(self, problem: str, wait: float, attempt: int, limited: bool) -> None:
        self.tried.append(problem)
        remaining = self._deadline - self._clock()
        error = SpotifyRateLimited if limited else SpotifyUnavailable
        if attempt >= self.budget.max_attempts:
            raise error(f"{problem}; gave up after {attempt} attempts{self._story()}")
        if wait > remaining:
            raise error(
                f"{problem}; waiting {wait:.1f} s more would pass the hour's "
                f"{self.budget.total_s:g} s budget{self._story()}"
            )
        self._log(f"{problem}; retrying in {wait:.1f} s (attempt {attempt + 1})")
        self.waits.append(wait)
        self._sleep(wait)

    def _cap_timeouts(self, endpoint: str, attempt: int) -> None:
        """Cut this request's timeouts to what is left of the budget (spotipy reads them per call)."""
        remaining = self._deadline - self._clock()
        if remaining <= 0.05:
            last = self.tried[-1] if self.tried else f"{endpoint}: no answer yet"
            raise SpotifyUnavailable(
                f"{last}; the hour's {self.budget.total_s:g} s budget is spent{self._story()}"
            )
        timeout = (
            min(self.settings.connect_timeout_s, remaining),
            min(self.settings.read_timeout_s, remaining),
        )
        self._sp.requests_timeout = timeout
        self._auth.requests_timeout = timeout

    def _story(self) -> str:
        """What was tried, for the final error: attempts, time spent, waits, other problems."""
        spent = self._clock() - self._started
        waits = ", ".join(f"{w:.1f}" for w in self.waits) or "none"
        others = [p for p in dict.fromkeys(self.tried) if p != self.tried[-1]][:3]
        story = f" ({len(self.tried)} failed attempt(s) in {spent:.1f} s, waits {waits} s"
        return story + (f"; before that: {'; '.join(others)})" if others else ")")

    # -- endpoints ---------------------------------------------------------------------------

    def search_tracks(self, query: str, count: int, offset: int = 0) -> Iterator[dict[str, Any]]:
        """Up to ``count`` track objects for ``query``, following the ``next`` links."""
        limit = max(1, min(SEARCH_PAGE_LIMIT, count))
        offset = max(0, min(offset, SEARCH_MAX_OFFSET - limit))

        def search(at: int) -> Any:
            kwargs = {"q": query, "type": "track", "limit": limit, "market": self.settings.market}
            return self.call("search", self._sp.search, offset=at, **kwargs)

        page = search(offset)
        tracks = _tracks_page(page)
        total = tracks.get("total")
        if not tracks["items"] and offset and isinstance(total, int) and total > 0:
            page = search(offset % total)  # the hour's offset ran past the results: wrap once
        delivered = 0
        while True:
            tracks = _tracks_page(page)
            for item in tracks["items"]:
                if isinstance(item, dict) and item.get("id"):
                    yield item
                    delivered += 1
                    if delivered >= count:
                        return
            if not tracks.get("next"):
                return
            page = self.call("search", self._sp.next, tracks)

    def audio_features(self, track_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Audio features by track id, in batches of 100 (ids Spotify does not know are absent)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(track_ids), AUDIO_FEATURES_BATCH):
            chunk = list(track_ids[start : start + AUDIO_FEATURES_BATCH])
            answer = self.call("audio-features", self._audio_features_call, chunk)
            if not isinstance(answer, list):
                raise SpotifyFeedError("audio-features: Spotify's answer is not a list")
            for feature in answer:
                if isinstance(feature, dict) and feature.get("id"):
                    found[str(feature["id"])] = feature
        return found

    def playlist_tracks(self, playlist_id: str) -> list[tuple[str, str | None]]:
        """``(track id, lead artist)`` of a playlist's tracks in order, following ``next`` pages.

        Episodes and removed tracks (no id) are skipped.
        """
        # spotipy logs each failed call itself; callers report one line instead.
        logging.getLogger("spotipy").setLevel(logging.CRITICAL)
        page: Any = self.call(
            "playlist items",
            self._sp.playlist_items,
            playlist_id,
            fields="items(track(id,type,artists(name))),next",
            additional_types=("track",),
        )
        found: list[tuple[str, str | None]] = []
        while page:
            for item in page.get("items") or []:
                track = (item or {}).get("track") or {}
                if track.get("id") and track.get("type", "track") == "track":
                    names = [a.get("name") for a in track.get("artists") or []]
                    found.append((str(track["id"]), names[0] if names else None))
            page = self.call("playlist items", self._sp.next, page) if page.get("next") else None
        return found

    def _audio_features_call(self, track_ids: list[str]) -> list[Any] | None:
        try:
            return self._sp.audio_features(track_ids)
        except TypeError:
            # spotipy looks inside the decoded body, which is None when it was not JSON.
            return None


def _tracks_page(page: Any) -> dict[str, Any]:
    tracks = page.get("tracks") if isinstance(page, dict) else None
    if not isinstance(tracks, dict) or not isinstance(tracks.get("items"), list):
        raise SpotifyFeedError("search: Spotify's answer has no 'tracks.items' list")
    return tracks
