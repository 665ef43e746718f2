"""What a failed Spotify call means: a final error, or a problem worth waiting out.

``SpotifyFeedClient.call`` hands every exception of a call here. Final answers raise at once
(401 or refused credentials, 403/404 on audio-features, another 4xx, a Retry-After longer than
the per-wait cap); the rest come back as a :class:`Trouble` that names the problem and, for a
429, how long Spotify asked to wait (otherwise the client backs off). Credentials never reach a
message: only the endpoint, the host and the status do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

RESTRICTED_MESSAGE = (
    "Spotify refused the audio-features endpoint (HTTP {status}): Spotify restricted audio "
    "features (and recommendations) for applications created after 27 November 2024, so this "
    "app cannot read them. Track metadata still works, but the models need audio features: use "
    "the landing feed instead (feed kind 'landing': drop Kaggle-format CSV/Parquet/JSON files "
    "in <landing_dir>/<YYYY-MM-DDTHH>/) or the replay feed."
)


class SpotifyFeedError(RuntimeError):
    """The Spotify feed cannot deliver this hour."""


class AudioFeaturesRestricted(SpotifyFeedError):
    """403/404 on audio-features: retrying never helps."""


class SpotifyUnavailable(SpotifyFeedError):
    """Failures outlasted the attempts or the time budget; trying again now would not help."""


class SpotifyRateLimited(SpotifyUnavailable):
    """Spotify asked to come back later than the budget allows: retry the partition later."""


class SpotifyAuthError(SpotifyFeedError):
    """The client credentials were refused or are missing."""


@dataclass(frozen=True)
class Trouble:
    """A failed attempt worth retrying: what went wrong, and Spotify's own wait if it gave one."""

    problem: str
    wait: float | None = None  # None: back off exponentially
    limited: bool = False  # a rate limit that outlasts the budget is still worth a later retry


def retried_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a call may raise that :func:`classify` reads (imported lazily: spotipy
    and requests are loaded only when the Spotify feed runs)."""
    import requests
    from spotipy.exceptions import SpotifyException
    from spotipy.oauth2 import SpotifyOauthError

    return (
        SpotifyException,
        SpotifyOauthError,
        requests.exceptions.Timeout,
        requests.exceptions.ConnectionError,
        ValueError,
    )


def classify(
    endpoint: str, exc: BaseException, *, api_url: str, read_timeout_s: float, max_wait_s: float
) -> Trouble:
    """Raise the final error ``exc`` means, or return the trouble to wait out (``api_url`` and
    ``read_timeout_s``: where the request went and how long it waited, for the message)."""
    import requests
    from spotipy.exceptions import SpotifyException
    from spotipy.oauth2 import SpotifyOauthError

    if isinstance(exc, SpotifyException):
        return _http_trouble(endpoint, exc, max_wait_s)
    if isinstance(exc, SpotifyOauthError):
        raise SpotifyAuthError(
            f"Spotify refused the client credentials: {exc.error or 'error'}"
            f" ({exc.error_description or 'no description'})"
        ) from None
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Trouble(f"{endpoint}: {_host(exc, api_url)} did not accept a connection")
    if isinstance(exc, requests.exceptions.Timeout):
        return Trouble(f"{endpoint}: no answer within {read_timeout_s:g} s")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return Trouble(f"{endpoint}: cannot connect to {_host(exc, api_url)} ({_reason(exc)})")
    return Trouble(f"{endpoint}: malformed JSON in Spotify's answer")


def _http_trouble(endpoint: str, exc: Any, max_wait_s: float) -> Trouble:
    status = exc.http_status
    if endpoint == "audio-features" and status in (403, 404):
        raise AudioFeaturesRestricted(RESTRICTED_MESSAGE.format(status=status)) from None
    if status == 401:
        raise SpotifyAuthError(f"{endpoint}: Spotify refused the access token (HTTP 401)") from None
    if status == 429:
        retry_after = _retry_after_seconds(exc.headers)
        problem = f"{endpoint}: rate limited (HTTP 429, Retry-After {retry_after:g} s)"
        if retry_after > max_wait_s:
            raise SpotifyRateLimited(
                f"{problem}: longer than the {max_wait_s:g} s cap; "
                "Dagster's retry policy will try the partition again later"
            ) from None
        return Trouble(problem, wait=retry_after, limited=True)
    if status >= 500:
        return Trouble(f"{endpoint}: Spotify server error (HTTP {status})")
    raise SpotifyFeedError(
        f"{endpoint}: Spotify answered HTTP {status}: {_short(exc.msg)}"
    ) from None


def _retry_after_seconds(headers: Any) -> float:
    """Retry-After as seconds (a number or an HTTP date); 1 s when absent or unreadable."""
    value = None
    if headers is not None:
        value = headers.get("Retry-After") or headers.get("retry-after")
    if value is None:
        return 1.0
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return 1.0
    return max(0.0, when.timestamp() - time.time())


def _host(exc: Exception, fallback_url: str) -> str:
    """host:port the failed request went to (the token URL or the API), never a path or query."""
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None) or fallback_url
    return urlsplit(url).netloc or "the Spotify API"


def _reason(exc: Exception) -> str:
    """The innermost cause of a requests connection error, e.g. "Connection refused"."""
    text = str(exc)
    for marker in ("] ", "Errno"):
        if marker in text:
            text = text.rsplit(marker, 1)[-1]
    return _short(text.strip(" ')\"("), 80) or type(exc).__name__


def _short(text: Any, limit: int = 200) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
