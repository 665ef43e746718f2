"""The ``feed`` resource: one class per backend, chosen from the environment; what run config
may not change; how the Spotify feed fails (once, within its budget, saying what was tried)."""

import socket
import time
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource
from dagster_duckdb_pandas import DuckDBPandasIOManager
from fake_spotify import FakeSpotify, Fault  # noqa: E402

from playlist_assets import settings
from playlist_assets.defs.feed import new_tracks
from playlist_assets.defs.feed_resources import (
    FeedResource,
    LandingFeed,
    ReplayFeed,
    SpotifyFeed,
    UnknownFeed,
    build_feed_resource,
)

HOUR_KEY = "2026-11-25-13:00"


def resources(data_home: Path, feed: FeedResource) -> dict[str, object]:
    database = str(data_home / "warehouse.duckdb")
    return {
        "io_manager": DuckDBPandasIOManager(database=database, schema="main"),
        "warehouse": DuckDBResource(database=database),
        "feed": feed,
    }


def run(data_home: Path, feed: FeedResource, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [new_tracks], resources=resources(data_home, feed), partition_key=HOUR_KEY, **kwargs
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    failure = result.failure_data_for_node("new_tracks")
    assert failure is not None and failure.user_failure_data is not None
    return failure.user_failure_data.description


def test_an_unknown_replay_mode_names_the_choices(data_home: Path) -> None:
    result = run(data_home, ReplayFeed(mode="endless"), raise_on_error=False)

    assert failure_message(result) == (
        "replay mode 'endless' is unknown: choose one of pool, fresh ($PLAYLIST_REPLAY_MODE)"
    )


def test_only_a_rate_limit_is_left_to_the_assets_retry_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeSpotify() as api:
        api.use_as_deployment(monkeypatch)
        feed = SpotifyFeed(client_id=api.client_id, client_secret=api.client_secret, genres=["pop"])
        api.fail("search", Fault(429, headers={"Retry-After": "3600"}))
        with pytest.raises(dg.Failure) as limited:
            feed.fetch(HOUR_KEY, datetime(2026, 11, 25, 13))
        api.fail("search", *[Fault(500)] * 5)
        with pytest.raises(dg.Failure) as failing:
            SpotifyFeed(
                client_id=api.client_id, client_secret=api.client_secret, budget_s=1.0
            ).fetch(HOUR_KEY, datetime(2026, 11, 25, 13))

    assert limited.value.allow_retries is True and "Retry-After 3600" in str(limited.value)
    assert failing.value.allow_retries is False and "HTTP 500" in str(failing.value)


def test_an_unknown_feed_kind_names_the_choices(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYLIST_FEED", "kafka")
    feed = build_feed_resource()
    result = run(data_home, feed, raise_on_error=False)

    assert isinstance(feed, UnknownFeed)  # the rest of the code location still loads
    assert failure_message(result) == (
        "feed kind 'kafka' is unknown: choose one of replay, landing, spotify ($PLAYLIST_FEED)"
    )


def test_the_backend_and_its_credentials_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = build_feed_resource()
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", "an-id")
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", "a-secret")
    monkeypatch.setenv("PLAYLIST_FEED", "spotify")
    spotify = build_feed_resource()
    monkeypatch.setenv("PLAYLIST_FEED", "replay")
    monkeypatch.setenv("PLAYLIST_REPLAY_DRIFT_FEATURES", "energy, valence")
    monkeypatch.setenv("PLAYLIST_REPLAY_DRIFT_STRENGTH", "2.5")
    monkeypatch.setenv("PLAYLIST_REPLAY_MODE", "fresh")
    replay = build_feed_resource()
    monkeypatch.setenv("PLAYLIST_FEED", "landing")
    landing = build_feed_resource()

    assert type(plain) is ReplayFeed and plain.mode == "pool" and plain.drift_features == []
    assert type(spotify) is SpotifyFeed and spotify.kind == "spotify"
    assert spotify.client_secret == dg.EnvVar("SPOTIPY_CLIENT_SECRET")
    assert "a-secret" not in repr(spotify)  # only the variable's name is kept
    assert replay.mode == "fresh"
    assert replay.drift_features == ["energy", "valence"]
    assert replay.drift_strength == 2.5
    assert type(landing) is LandingFeed
    assert all(isinstance(f, FeedResource) for f in (plain, spotify, replay, landing))


def test_the_code_locations_feed_is_the_one_the_environment_names(
    monkeypatch: pytest.MonkeyPatch, data_home: Path
) -> None:
    from playlist_assets.defs.resources import build_resources

    monkeypatch.setenv("PLAYLIST_FEED", "landing")

    assert type(build_resources()["feed"]) is LandingFeed


def test_run_config_cannot_send_the_spotify_credentials_elsewhere(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The credential-bearing URLs are not resource config: a run that sets one is refused."""
    with FakeSpotify() as deployment, FakeSpotify() as attacker:
        deployment.use_as_deployment(monkeypatch)
        feed = SpotifyFeed(client_id=deployment.client_id, client_secret=deployment.client_secret)
        job = dg.Definitions(
            assets=[new_tracks],
            jobs=[dg.define_asset_job("feed_job", selection=[new_tracks])],
            resources=resources(data_home, feed),
        ).resolve_job_def("feed_job")
        for field in ("api_url", "token_url", "spotify_api_url", "spotify_token_url"):
            with pytest.raises(dg.DagsterInvalidConfigError, match=field):
                job.execute_in_process(
                    partition_key=HOUR_KEY,
                    run_config={"resources": {"feed": {"config": {field: attacker.token_url}}}},
                )

    assert attacker.requests == [] and deployment.requests == []
    assert "api_url" not in SpotifyFeed.model_fields
    assert not any("url" in name for name in SpotifyFeed.model_fields)


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_spotify_fails_once_within_the_budget_saying_what_was_tried(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_loopback_port()  # nothing listens there: every connection is refused
    monkeypatch.setenv(settings.SPOTIFY_API_URL_ENV, f"http://127.0.0.1:{port}/v1/")
    monkeypatch.setenv(settings.SPOTIFY_TOKEN_URL_ENV, f"http://127.0.0.1:{port}/api/token")
    feed = SpotifyFeed(client_id="an-id", client_secret="a-secret", genres=["pop"], budget_s=3.0)

    started = time.monotonic()
    result = run(data_home, feed, raise_on_error=False)
    elapsed = time.monotonic() - started

    message = failure_message(result)
    retries = [
        e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY
    ]
    assert not result.success
    assert retries == []  # the asset's RetryPolicy does not repeat a deterministic failure
    assert f"cannot connect to 127.0.0.1:{port} (Connection refused)" in message
    assert "failed attempt(s) in" in message and "Not retried" in message
    assert "a-secret" not in message
    assert elapsed < 30  # a 3 s budget, not minutes of retries inside retries
