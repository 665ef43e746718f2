"""Fresh replay: new, realistic tracks every hour, the same ones for the same hour."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from playlist_assets.lib.feeds.fresh import fresh_hour
from playlist_assets.lib.feeds.replay import (
    FEATURE_RANGES,
    DriftSpec,
    ReplayError,
    load_pool,
    replay_hour,
)
from playlist_assets.lib.sample_data.generate import SAMPLE_GENRES, generate_tracks, write_sample
from playlist_assets.settings import DEFAULT_GENRES

START = datetime(2026, 11, 25)


def key(hour: datetime) -> str:
    return hour.strftime("%Y-%m-%d-%H:%M")


@pytest.fixture(scope="module")
def three_days() -> pd.DataFrame:
    """72 consecutive hours of the fresh feed over the default genres."""
    hours = [START + timedelta(hours=h) for h in range(72)]
    frames = [fresh_hour(DEFAULT_GENRES, key(h), h, 40).tracks.assign(hour=h) for h in hours]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def catalogue() -> pd.DataFrame:
    """The default sample's catalogue (the songs base before any feed)."""
    return generate_tracks(300, SAMPLE_GENRES, seed=42)


def test_an_hour_is_the_same_on_every_call_and_the_next_hour_is_new() -> None:
    first = fresh_hour(DEFAULT_GENRES, "2026-11-25-13:00", START, 40).tracks
    again = fresh_hour(DEFAULT_GENRES, "2026-11-25-13:00", START, 40).tracks
    following = fresh_hour(DEFAULT_GENRES, "2026-11-25-14:00", START, 40).tracks

    pd.testing.assert_frame_equal(first, again)
    assert len(first) == len(following) == 40
    assert not set(first["track_id"]) & set(following["track_id"])


def test_every_hour_brings_new_songs_so_the_base_grows(
    three_days: pd.DataFrame, catalogue: pd.DataFrame, tmp_path
) -> None:
    pool = pd.read_csv(write_sample(tmp_path, n_per_genre=20, replay_per_genre=150).replay_csv)

    assert len(three_days) == 72 * 40
    assert three_days["track_id"].is_unique  # 2,880 new songs, no repeats
    assert three_days["track_id"].str.fullmatch(r"[0-9A-Za-z]{22}").all()
    assert not set(three_days["track_id"]) & set(catalogue["track_id"])
    assert not set(three_days["track_id"]) & set(pool["track_id"])
    shares = three_days["track_genre"].value_counts(normalize=True)
    assert set(shares.index) == set(DEFAULT_GENRES)
    assert shares.between(0.07, 0.13).all()  # spread evenly over the configured genres


def test_fresh_tracks_follow_each_genres_distribution(
    three_days: pd.DataFrame, catalogue: pd.DataFrame
) -> None:
    features = ["energy", "acousticness", "danceability", "speechiness", "popularity"]
    fresh = three_days.groupby("track_genre")[features].mean().astype(float)
    known = catalogue.groupby("track_genre")[features].mean().loc[fresh.index]
    spread = catalogue.groupby("track_genre")[features].std().loc[fresh.index]

    assert ((fresh - known).abs() / spread).max().max() < 0.5  # same genres, not noise
    assert fresh["acousticness"].idxmax() == "classical"
    assert fresh["speechiness"].idxmax() == "hip-hop"
    for feature, (low, high) in FEATURE_RANGES.items():
        low = -1 if feature == "key" else low  # -1: no key detected, as in the real file
        assert three_days[feature].between(low, high).all(), feature


def test_mostly_the_scenes_artists_with_now_and_then_a_new_artist_or_album(
    three_days: pd.DataFrame, catalogue: pd.DataFrame
) -> None:
    lead = three_days["artists"].str.split(";").str[0]
    known_artists = set(catalogue["artists"].str.split(";").str[0])
    known_albums = set(catalogue["album_name"])

    new_artist_share = (~lead.isin(known_artists)).mean()
    new_album_share = (~three_days["album_name"].isin(known_albums)).mean()
    assert 0.01 < new_artist_share < 0.15
    assert new_album_share > new_artist_share


def test_fresh_rows_have_the_pool_replays_columns_and_types(tmp_path) -> None:
    paths = write_sample(tmp_path, n_per_genre=20, n_playlists=20, replay_per_genre=10)
    pooled = replay_hour(load_pool(paths.replay_csv), "2026-11-25-13:00", START, 10).tracks
    fresh = fresh_hour(DEFAULT_GENRES, "2026-11-25-13:00", START, 10).tracks

    assert fresh.dtypes.to_dict() == pooled.dtypes.to_dict()
    assert set(fresh["source"]) == {"replay"}


def test_drift_shifts_fresh_hours_from_its_start() -> None:
    drift = DriftSpec.parse(["energy"], "2026-11-25-14:00", 1.0)
    before = fresh_hour(DEFAULT_GENRES, "2026-11-25-13:00", START.replace(hour=13), 200, drift)
    after = fresh_hour(DEFAULT_GENRES, "2026-11-25-14:00", START.replace(hour=14), 200, drift)

    assert after.tracks["energy"].mean() > before.tracks["energy"].mean() + 0.1
    assert after.notes == ["drift: energy shifted by +1 std"] and before.notes == []


def test_genres_without_a_profile_are_a_clear_error_and_zero_tracks_an_empty_hour() -> None:
    with pytest.raises(ReplayError, match=r"no sample profile for the genres k-pop; known: "):
        fresh_hour(["k-pop"], "2026-11-25-13:00", START, 40)

    only_pop = fresh_hour(["pop", "k-pop"], "2026-11-25-13:00", START, 5).tracks
    assert only_pop["track_genre"].eq("pop").all() and len(only_pop) == 5
    assert fresh_hour(DEFAULT_GENRES, "2026-11-25-13:00", START, 0).tracks.empty
