"""The Spotify feed through spotipy against a local fake of the Web API (no network)."""

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from fake_spotify import FakeSpotify, Fault  # noqa: E402

from playlist_assets.lib.feeds.normalize import FEED_COLUMNS
from playlist_assets.lib.feeds.spotify import (
    AudioFeaturesRestricted,
    RetryBudget,
    SpotifyAuthError,
    SpotifyFeedClient,
    SpotifyRateLimited,
    SpotifySettings,
    SpotifyUnavailable,
)
from playlist_assets.lib.feeds.spotify_hour import collect_hour

HOUR = datetime(2026, 11, 25, 13)
SECRET = "s3cr3t-client-secret-value"


@pytest.fixture
def api() -> Iterator[FakeSpotify]:
    with FakeSpotify(client_id="client-123", client_secret=SECRET, tracks_per_query=1000) as fake:
        yield fake


class Sleeps(list):
    """Records the waits instead of sleeping, so tests stay fast."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(
    api: FakeSpotify,
    sleeps: Sleeps | None = None,
    budget: RetryBudget | None = None,
    read_timeout_s: float = 5.0,
    secret: str = SECRET,
    clock: Callable[[], float] = time.monotonic,
) -> SpotifyFeedClient:
    settings = SpotifySettings(
        client_id=api.client_id,
        client_secret=secret,
        api_url=api.api_url,
        token_url=api.token_url,
        read_timeout_s=read_timeout_s,
    )
    return SpotifyFeedClient(
        settings,
        budget,
        sleep=sleeps if sleeps is not None else Sleeps(),
        clock=clock,
        jitter=lambda: 1.0,
    )


def test_a_normal_hour_follows_pagination_and_batches_audio_features(api: FakeSpotify) -> None:
    with client_for(api) as client:
        batch = collect_hour(client, ["pop", "rock"], HOUR, per_genre=60)

    assert list(batch.tracks.columns) == list(FEED_COLUMNS)
    assert len(batch.tracks) == 120
    assert batch.tracks["track_genre"].value_counts().to_dict() == {"pop": 60, "rock": 60}
    assert batch.tracks["track_id"].str.fullmatch(r"[0-9A-Za-z]{22}").all()
    assert set(batch.tracks["source"]) == {"spotify:search"}
    assert batch.rejects.empty
    searches = api.calls("search")
    # Page size 50: each genre needs its first page plus the page behind the "next" link.
    assert len(searches) == 4
    assert searches[1].params["offset"] != searches[0].params["offset"]
    assert searches[0].params["q"] == ['genre:"pop" year:2026']
    features = api.calls("audio-features")
    assert [len(c.params["ids"][0].split(",")) for c in features] == [100, 20]
    first = batch.tracks.iloc[0]
    expected = api.audio_feature(first["track_id"])
    assert first["tempo"] == expected["tempo"] and first["key"] == expected["key"]
    assert ";" in first["artists"]


def test_the_same_hour_asks_for_the_same_tracks_and_the_next_hour_for_others(
    api: FakeSpotify,
) -> None:
    with client_for(api) as client:
        one = collect_hour(client, ["jazz"], HOUR, per_genre=10).tracks
        again = collect_hour(client, ["jazz"], HOUR, per_genre=10).tracks
        later = collect_hour(client, ["jazz"], datetime(2026, 11, 25, 14), per_genre=10).tracks

    assert one["track_id"].tolist() == again["track_id"].tolist()
    assert not set(one["track_id"]) & set(later["track_id"])


def test_429_waits_retry_after_then_succeeds(api: FakeSpotify) -> None:
    api.fail("search", Fault(429, headers={"Retry-After": "7"}))
    sleeps = Sleeps()

    with client_for(api, sleeps) as client:
        batch = collect_hour(client, ["pop"], HOUR, per_genre=5)

    assert sleeps == [7.0]
    assert len(batch.tracks) == 5


def test_429_longer_than_the_cap_gives_up_at_once_without_waiting(api: FakeSpotify) -> None:
    api.fail("search", Fault(429, headers={"Retry-After": "3600"}))
    sleeps = Sleeps()

    with (
        client_for(api, sleeps, RetryBudget(max_wait_s=30)) as client,
        pytest.raises(SpotifyUnavailable, match=r"Retry-After 3600 s\): longer than the 30 s cap"),
    ):
        collect_hour(client, ["pop"], HOUR, per_genre=5)

    assert sleeps == []


def test_a_server_error_is_retried_with_backoff_then_succeeds(api: FakeSpotify) -> None:
    api.fail("search", Fault(500), Fault(503))
    sleeps = Sleeps()

    with client_for(api, sleeps, RetryBudget(base_backoff_s=2.0)) as client:
        batch = collect_hour(client, ["rock"], HOUR, per_genre=5)

    assert sleeps == [2.0, 4.0]  # exponential (jitter pinned to its maximum)
    assert len(batch.tracks) == 5


def test_server_errors_that_outlast_the_attempts_raise_unavailable(api: FakeSpotify) -> None:
    api.fail("audio-features", *[Fault(502)] * 10)

    client = client_for(api, budget=RetryBudget(max_attempts=3))
    with pytest.raises(SpotifyUnavailable, match=r"HTTP 502\); gave up after 3 attempts"):
        collect_hour(client, ["rock"], HOUR, per_genre=5)

    assert len(api.calls("audio-features")) == 3


def test_waits_never_pass_the_hours_total_budget(api: FakeSpotify) -> None:
    api.fail("search", *[Fault(429, headers={"Retry-After": "20"})] * 10)
    sleeps = Sleeps()

    # A clock that advances by the waits taken, as a real one would.
    budget = RetryBudget(max_attempts=10, total_s=50)
    client = client_for(api, sleeps, budget, clock=lambda: sum(sleeps))
    with pytest.raises(SpotifyRateLimited, match="pass the hour's 50 s budget"):
        collect_hour(client, ["pop"], HOUR, per_genre=5)  # still a rate limit: retry later

    assert sleeps == [20.0, 20.0]


def test_403_on_audio_features_ends_the_hour_with_a_message_pointing_to_landing() -> None:
    with FakeSpotify(restrict_audio_features=True) as api:
        client = client_for(api, secret=api.client_secret)
        with pytest.raises(AudioFeaturesRestricted) as caught:
            collect_hour(client, ["pop"], HOUR, per_genre=5)

    message = str(caught.value)
    assert "HTTP 403" in message
    assert "restricted audio features" in message
    assert "landing feed" in message
    assert len(api.calls("audio-features")) == 1  # never retried
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_malformed_json_is_retried_then_reported(api: FakeSpotify) -> None:
    api.fail("search", Fault(200, body="{not json"))
    with client_for(api) as client:
        assert len(collect_hour(client, ["pop"], HOUR, per_genre=5).tracks) == 5

    api.fail("audio-features", *[Fault(200, body="<html>proxy error</html>")] * 5)
    client = client_for(api, budget=RetryBudget(max_attempts=2))
    with pytest.raises(SpotifyUnavailable, match="audio-features: malformed JSON"):
        collect_hour(client, ["pop"], HOUR, per_genre=5)


def test_a_timeout_is_retried_and_each_request_is_bounded(api: FakeSpotify) -> None:
    api.fail("search", Fault(200, body={"tracks": {"items": []}}, delay=2.0))
    sleeps = Sleeps()

    started = time.monotonic()
    with client_for(api, sleeps, read_timeout_s=0.3) as client:
        batch = collect_hour(client, ["edm"], HOUR, per_genre=5)
    elapsed = time.monotonic() - started

    assert len(batch.tracks) == 5
    assert len(sleeps) == 1
    assert elapsed < 1.5  # the slow answer was not waited for


def test_timeouts_that_persist_raise_unavailable_naming_the_endpoint(api: FakeSpotify) -> None:
    api.fail("search", *[Fault(200, body="{}", delay=1.0)] * 2)

    client = client_for(api, budget=RetryBudget(max_attempts=2), read_timeout_s=0.2)
    with pytest.raises(SpotifyUnavailable, match="search: no answer within 0.2 s"):
        collect_hour(client, ["edm"], HOUR, per_genre=5)


def test_a_hanging_server_ends_the_hour_within_its_budget_not_the_read_timeout(
    api: FakeSpotify,
) -> None:
    api.fail("search", *[Fault(200, body="{}", delay=3.0)] * 3)

    started = time.monotonic()
    client = client_for(api, budget=RetryBudget(total_s=1.0), read_timeout_s=15.0)
    with pytest.raises(SpotifyUnavailable) as caught:
        collect_hour(client, ["edm"], HOUR, per_genre=5)
    elapsed = time.monotonic() - started

    assert elapsed < 2.5  # each request's timeout was cut to what was left of the 1 s
    assert "search: no answer within" in str(caught.value)
    assert "failed attempt(s) in" in str(caught.value)  # says what was tried


def test_a_rate_limit_beyond_the_cap_is_the_one_failure_worth_retrying_later(
    api: FakeSpotify,
) -> None:
    api.fail("search", Fault(429, headers={"Retry-After": "3600"}))
    api.fail("audio-features", *[Fault(502)] * 5)

    with pytest.raises(SpotifyRateLimited):
        collect_hour(client_for(api), ["pop"], HOUR, per_genre=5)
    with pytest.raises(SpotifyUnavailable) as caught:
        collect_hour(client_for(api), ["pop"], HOUR, per_genre=5)

    assert not isinstance(caught.value, SpotifyRateLimited)


def test_refused_credentials_are_reported_without_the_secret(api: FakeSpotify) -> None:
    client = client_for(api, secret="wrong-secret")
    with pytest.raises(SpotifyAuthError) as caught:
        collect_hour(client, ["pop"], HOUR, per_genre=5)

    assert "invalid_client" in str(caught.value)
    assert "wrong-secret" not in str(caught.value)
    with pytest.raises(SpotifyAuthError, match="SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET"):
        SpotifyFeedClient(SpotifySettings(client_id="", client_secret=""))


def test_credentials_and_tokens_never_reach_the_logs(
    api: FakeSpotify, caplog: pytest.LogCaptureFixture
) -> None:
    api.fail("search", Fault(500))
    caplog.set_level(logging.DEBUG)

    with client_for(api) as client:
        collect_hour(client, ["pop"], HOUR, per_genre=5)

    text = caplog.text + repr(client.settings)
    assert "spotipy" in caplog.text or "urllib3" in caplog.text  # logging was captured at all
    for secret in (SECRET, "fake-access-token", "Basic ", "Bearer "):
        assert secret not in text


def test_an_hour_offset_past_the_results_wraps_around() -> None:
    with (
        FakeSpotify(tracks_per_query=120) as api,
        client_for(api, secret=api.client_secret) as client,
    ):
        batch = collect_hour(client, ["pop"], HOUR, per_genre=30)

    offsets = [int(c.params["offset"][0]) for c in api.calls("search")]
    assert offsets[0] >= 120  # this hour starts past the query's 120 results ...
    assert offsets[1] == offsets[0] % 120  # ... so it starts again inside them
    assert len(batch.tracks) == 30
