"""The replay feed: the same hour always gives the same tracks; the drift knob shifts what it says."""

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from playlist_assets.lib.feeds.normalize import FEED_COLUMNS, FEED_DTYPES
from playlist_assets.lib.feeds.replay import (
    FEATURE_RANGES,
    DriftSpec,
    ReplayError,
    load_pool,
    replay_hour,
)
from playlist_assets.lib.schema import AUDIO_FEATURES, KAGGLE_COLUMNS

GENRES = ("pop", "rock", "jazz", "acoustic")
HOUR = datetime(2026, 11, 25, 13)
KEY = "2026-11-25-13:00"


def write_pool(path: Path, n_per_genre: int = 50, seed: int = 3) -> Path:
    """A small Kaggle-format pool with the unnamed index column, like the sample generator's."""
    rng = np.random.default_rng(seed)
    n = n_per_genre * len(GENRES)
    alphabet = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
    frame = pd.DataFrame(
        {
            "track_id": ["".join(rng.choice(alphabet, 22)) for _ in range(n)],
            "artists": [f"Artist {i % 13}" for i in range(n)],
            "album_name": [f"Album {i % 7}" for i in range(n)],
            "track_name": [f"Song {i}" for i in range(n)],
            "popularity": rng.integers(0, 101, n),
            "duration_ms": rng.integers(90_000, 400_000, n),
            "explicit": rng.random(n) < 0.2,
            "danceability": rng.random(n).round(3),
            "energy": rng.beta(2, 2, n).round(3),
            "key": rng.integers(0, 12, n),
            "loudness": rng.uniform(-25, -2, n).round(3),
            "mode": rng.integers(0, 2, n),
            "speechiness": rng.uniform(0.02, 0.3, n).round(4),
            "acousticness": rng.random(n).round(4),
            "instrumentalness": (rng.random(n) ** 4).round(5),
            "liveness": rng.uniform(0.05, 0.6, n).round(4),
            "valence": rng.random(n).round(3),
            "tempo": rng.uniform(70, 180, n).round(3),
            "time_signature": rng.choice([3, 4], n),
            "track_genre": np.repeat(GENRES, n_per_genre),
        },
        columns=list(KAGGLE_COLUMNS),
    )
    frame.to_csv(path, index=True)
    return path


@pytest.fixture
def pool(tmp_path: Path) -> pd.DataFrame:
    return load_pool(write_pool(tmp_path / "replay_pool.csv"), GENRES)


def test_an_hour_is_the_same_every_time_and_hours_differ(pool: pd.DataFrame) -> None:
    first = replay_hour(pool, KEY, HOUR, 40).tracks
    again = replay_hour(pool, KEY, HOUR, 40).tracks
    other = replay_hour(pool, "2026-11-25-14:00", HOUR, 40).tracks

    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 40
    assert first["track_id"].is_unique
    assert set(first["track_id"]) != set(other["track_id"])
    assert list(first.columns) == list(FEED_COLUMNS)
    assert first.dtypes.astype(str).to_dict() == {
        c: str(pd.Series(dtype=FEED_DTYPES[c]).dtype) for c in FEED_COLUMNS
    }
    assert set(first["source"]) == {"replay"}


def test_pool_is_restricted_to_the_configured_genres(tmp_path: Path) -> None:
    path = write_pool(tmp_path / "pool.csv")

    pool = load_pool(path, ["pop", "jazz"])
    drawn = replay_hour(pool, KEY, HOUR, 1_000).tracks

    assert set(drawn["track_genre"]) == {"pop", "jazz"}
    assert len(drawn) == len(pool) == 100  # never more than the pool holds


def test_a_missing_pool_or_an_empty_selection_says_which_file(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="nowhere.csv"):
        load_pool(tmp_path / "nowhere.csv")
    path = write_pool(tmp_path / "pool.csv")
    with pytest.raises(ReplayError, match="no usable tracks in the genres polka"):
        load_pool(path, ["polka"])


def test_drift_shifts_only_the_chosen_features_from_its_start_hour(pool: pd.DataFrame) -> None:
    drift = DriftSpec.parse(["energy", "tempo", "key"], "2026-11-25-13:00", 1.5)
    before_key, before_hour = "2026-11-25-12:00", datetime(2026, 11, 25, 12)

    plain_before = replay_hour(pool, before_key, before_hour, 60).tracks
    drifted_before = replay_hour(pool, before_key, before_hour, 60, drift).tracks
    plain = replay_hour(pool, KEY, HOUR, 60).tracks
    drifted = replay_hour(pool, KEY, HOUR, 60, drift).tracks

    pd.testing.assert_frame_equal(plain_before, drifted_before)  # not yet
    assert drifted["track_id"].tolist() == plain["track_id"].tolist()  # same tracks, new values
    untouched = [f for f in AUDIO_FEATURES if f not in ("energy", "tempo", "key")]
    pd.testing.assert_frame_equal(drifted[untouched], plain[untouched])
    energy_std = pool["energy"].std(ddof=0)
    shift = (drifted["energy"] - plain["energy"]).mean()
    assert 0.8 * energy_std < shift <= 1.5 * energy_std + 1e-9  # clipping only takes away
    assert drifted["tempo"].mean() > plain["tempo"].mean() + 20


def test_drifted_values_stay_within_their_valid_ranges(pool: pd.DataFrame) -> None:
    features = ["danceability", "energy", "key", "mode", "loudness", "tempo", "time_signature"]
    drift = DriftSpec.parse(features, None, 10.0)

    drifted = replay_hour(pool, KEY, HOUR, 80, drift).tracks

    for feature in features:
        low, high = FEATURE_RANGES[feature]
        assert drifted[feature].between(low, high).all(), feature
    assert drifted["key"].dtype == "Int64"
    assert (drifted["energy"] == 1.0).all()
    assert (drifted["loudness"] == 5.0).all()


def test_negative_drift_and_bad_drift_settings(pool: pd.DataFrame) -> None:
    down = replay_hour(pool, KEY, HOUR, 60, DriftSpec.parse(["valence"], None, -1.0)).tracks
    plain = replay_hour(pool, KEY, HOUR, 60).tracks
    assert down["valence"].mean() < plain["valence"].mean()
    assert down["valence"].min() >= 0.0

    with pytest.raises(ReplayError, match="loudnes"):
        DriftSpec.parse(["loudnes"], None, 1.0)
    with pytest.raises(ReplayError, match="not a partition key"):
        DriftSpec.parse(["energy"], "next tuesday", 1.0)
    assert DriftSpec.parse(["energy"], "2026-11-25T13:00:00+00:00", 1.0).start == HOUR


def test_a_track_listed_under_two_genres_is_drawn_once(tmp_path: Path) -> None:
    path = write_pool(tmp_path / "pool.csv", n_per_genre=10)
    frame = pd.read_csv(path, index_col=0)
    frame.loc[frame["track_genre"] == "rock", "track_id"] = frame.loc[
        frame["track_genre"] == "pop", "track_id"
    ].to_numpy()  # every rock track is also a pop track, as in the Kaggle file
    frame.to_csv(path)

    everything = replay_hour(load_pool(path, GENRES), KEY, HOUR, 1_000).tracks
    rock_only = load_pool(path, ["rock", "jazz"])

    assert everything["track_id"].is_unique
    assert len(everything) == 30
    assert (rock_only["track_genre"] == "rock").sum() == 10  # kept where pop is not configured
