"""``new_tracks``: hourly partitions in DuckDB from the replay, landing and Spotify feeds."""

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource
from dagster_duckdb_pandas import DuckDBPandasIOManager
from fake_spotify import FakeSpotify  # noqa: E402

from playlist_assets import settings
from playlist_assets.defs import feed as feed_module
from playlist_assets.defs.feed import REJECTS_TABLE, hourly_feed_job, new_tracks
from playlist_assets.defs.feed_resources import (
    FeedResource,
    LandingFeed,
    ReplayFeed,
    SpotifyFeed,
    build_feed_resource,
)
from playlist_assets.defs.monitoring import feature_drift
from playlist_assets.defs.partitions import hourly_partitions
from playlist_assets.lib.feeds.hours import NEW_TRACKS_COLUMNS
from playlist_assets.lib.sample_data.generate import generate_tracks

HOUR_KEY = "2026-11-25-13:00"
NEXT_KEY = "2026-11-25-14:00"
GENRES = ("pop", "rock", "jazz", "latin")


@pytest.fixture
def pool_csv(data_home: Path) -> Path:
    path = data_home / "pool.csv"
    generate_tracks(30, GENRES, seed=5, stream="replay").to_csv(path, index=True)
    return path


def resources(data_home: Path, feed: FeedResource) -> dict[str, object]:
    database = str(data_home / "warehouse.duckdb")
    return {
        "io_manager": DuckDBPandasIOManager(database=database, schema="main"),
        "warehouse": DuckDBResource(database=database),
        "feed": feed,
    }


def run(
    data_home: Path, feed: FeedResource, key: str = HOUR_KEY, **kwargs
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [new_tracks], resources=resources(data_home, feed), partition_key=key, **kwargs
    )


def table(data_home: Path, sql: str = "select * from main.new_tracks") -> pd.DataFrame:
    with duckdb.connect(str(data_home / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchdf()


def metadata(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    event = result.asset_materializations_for_node("new_tracks")[0]
    return {k: v.value for k, v in event.metadata.items()}


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    failure = result.failure_data_for_node("new_tracks")
    assert failure is not None
    return (
        failure.user_failure_data.description if failure.user_failure_data else str(failure.error)
    )


def test_a_replay_hour_is_stored_keyed_by_its_hour_and_rerunning_replaces_it(
    data_home: Path, pool_csv: Path
) -> None:
    feed = ReplayFeed(replay_pool_path=str(pool_csv), tracks_per_hour=25)

    first = run(data_home, feed)
    stored_first = table(data_home).sort_values("track_id", ignore_index=True)
    run(data_home, feed)  # the same hour again
    stored_again = table(data_home).sort_values("track_id", ignore_index=True)
    run(data_home, feed, key=NEXT_KEY)

    assert first.success
    assert list(stored_first.columns) == list(NEW_TRACKS_COLUMNS)
    assert len(stored_first) == 25
    pd.testing.assert_frame_equal(stored_first, stored_again)  # same rows, not duplicated
    assert set(stored_first["partition_hour"]) == {pd.Timestamp("2026-11-25 13:00:00")}
    assert set(stored_first["source"]) == {"replay"}
    per_hour = table(data_home, "select partition_hour, count(*) n from main.new_tracks group by 1")
    assert sorted(per_hour["n"]) == [25, 25]
    meta = metadata(first)
    assert meta["rows"] == 25
    assert meta["source"] == "replay"
    assert meta["feed"] == "replay"
    assert sum(meta["genre_counts"].values()) == 25
    assert set(meta["genre_counts"]) <= set(GENRES)
    assert "| track_id" in meta["preview"]


def test_a_run_over_a_range_of_hours_stores_the_same_rows_as_hour_by_hour(
    data_home: Path, pool_csv: Path, tmp_path: Path
) -> None:
    feed = ReplayFeed(replay_pool_path=str(pool_csv), tracks_per_hour=10)
    keys = hourly_partitions.get_partition_keys_in_range(
        dg.PartitionKeyRange("2026-11-25-10:00", "2026-11-25-12:00")
    )
    other_home = tmp_path / "other"
    other_home.mkdir()

    ranged = dg.materialize(
        [new_tracks],
        resources=resources(data_home, feed),
        tags={
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
        },
    )
    for key in keys:
        run(other_home, feed, key=key)

    order = ["partition_hour", "track_id"]
    assert ranged.success and metadata(ranged)["partitions"] == 3
    pd.testing.assert_frame_equal(
        table(data_home).sort_values(order, ignore_index=True),
        table(other_home).sort_values(order, ignore_index=True),
    )
    assert len(table(data_home)) == 30


def test_replay_drift_knob_shifts_the_configured_hours(data_home: Path, pool_csv: Path) -> None:
    feed = ReplayFeed(
        replay_pool_path=str(pool_csv),
        drift_features=["energy"],
        drift_start=NEXT_KEY,
        drift_strength=1.0,
    )

    run(data_home, feed)
    drifted = run(data_home, feed, key=NEXT_KEY)

    means = table(
        data_home, "select partition_hour, avg(energy) e from main.new_tracks group by 1 order by 1"
    )
    assert means["e"].iloc[1] > means["e"].iloc[0] + 0.1
    assert metadata(drifted)["drift"] == {
        "features": ["energy"],
        "start": NEXT_KEY,
        "strength": 1.0,
    }


def test_the_default_pool_is_the_sample_generators_held_back_songs(data_home: Path) -> None:
    result = run(data_home, ReplayFeed(tracks_per_hour=12))

    stored = table(data_home)
    catalogue = pd.read_csv(data_home / "sample" / "spotify_tracks.csv")
    assert result.success and len(stored) == 12
    assert not set(stored["track_id"]) & set(catalogue["track_id"])  # held back, not catalogue
    assert set(stored["track_genre"]) <= set(settings.configured_genres())


def test_fresh_replay_stores_new_songs_every_hour(data_home: Path) -> None:
    feed = ReplayFeed(mode="fresh", tracks_per_hour=30)

    first = run(data_home, feed)
    run(data_home, feed)  # the same hour again: the same rows, replaced
    run(data_home, feed, key=NEXT_KEY)

    stored = table(data_home)
    per_hour = stored.groupby("partition_hour")["track_id"].count()
    assert first.success and metadata(first)["feed"] == "replay"
    assert sorted(per_hour) == [30, 30]
    assert stored["track_id"].is_unique  # the next hour brought other songs
    assert set(stored["track_genre"]) <= set(settings.configured_genres())
    assert set(stored["source"]) == {"replay"}


def test_an_hour_without_landing_files_is_an_empty_partition_with_every_column(
    data_home: Path,
) -> None:
    result = run(data_home, LandingFeed())

    stored = table(data_home)
    assert result.success
    assert stored.empty
    assert list(stored.columns) == list(NEW_TRACKS_COLUMNS)  # downstream SQL finds the table
    types = table(
        data_home,
        "select column_name, data_type from information_schema.columns "
        "where table_name = 'new_tracks'",
    ).set_index("column_name")["data_type"]
    assert types["popularity"] == "BIGINT" and types["partition_hour"] == "TIMESTAMP"
    assert metadata(result)["rows"] == 0


def test_landing_files_load_and_a_bad_file_is_kept_aside_by_name(
    data_home: Path, pool_csv: Path
) -> None:
    folder = data_home / "landing" / "2026-11-25T13"
    folder.mkdir(parents=True)
    good = pd.read_csv(pool_csv).drop(columns=["Unnamed: 0"]).head(6)
    good.to_parquet(folder / "batch.parquet")
    (folder / "broken.json").write_text("[{]")
    feed = LandingFeed()

    result = run(data_home, feed)
    run(data_home, feed)  # re-running replaces the hour's rejects too

    stored = table(data_home)
    rejects = table(data_home, f"select * from {REJECTS_TABLE}")
    assert result.success
    assert sorted(stored["track_id"]) == sorted(good["track_id"])
    assert set(stored["source"]) == {str(folder / "batch.parquet")}
    assert len(rejects) == 1
    assert rejects.loc[0, "source"] == str(folder / "broken.json")
    assert "not valid JSON" in rejects.loc[0, "reason"]
    assert set(rejects.columns) >= {
        "source",
        "row_number",
        "track_id",
        "reason",
        "row_json",
        "quarantined_at",
    }
    assert metadata(result)["rejected_rows"] == 1
    assert "broken.json" in metadata(result)["rejects_preview"]


def test_restricted_audio_features_fail_the_hour_once_with_a_pointer_to_landing(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeSpotify(restrict_audio_features=True) as api:
        api.use_as_deployment(monkeypatch)
        feed = SpotifyFeed(
            client_id=api.client_id,
            client_secret=api.client_secret,
            genres=["pop"],
            tracks_per_genre=5,
        )
        result = run(data_home, feed, raise_on_error=False)
        calls = len(api.calls("audio-features"))

    message = failure_message(result)
    assert not result.success
    assert "restricted audio features" in message and "landing feed" in message
    assert calls == 1
    assert api.client_secret not in message


def test_the_spotify_feed_stores_an_hour_from_the_api(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeSpotify(tracks_per_query=1000) as api:
        api.use_as_deployment(monkeypatch)
        feed = SpotifyFeed(
            client_id=api.client_id,
            client_secret=api.client_secret,
            genres=["pop", "rock"],
            tracks_per_genre=7,
        )
        result = run(data_home, feed)

    stored = table(data_home)
    assert result.success
    assert len(stored) == 14
    assert set(stored["source"]) == {"spotify:search"}
    assert metadata(result)["genre_counts"] == {"pop": 7, "rock": 7}


def test_the_spotify_feed_without_credentials_fails_with_what_to_set(data_home: Path) -> None:
    result = run(data_home, SpotifyFeed(), raise_on_error=False)

    assert "SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET" in failure_message(result)


def test_the_hourly_job_runs_the_feed_then_drift_on_a_running_schedule() -> None:
    @dg.asset(partitions_def=hourly_partitions, name="feature_drift")
    def feature_drift_stand_in(new_tracks: pd.DataFrame) -> None:
        """Stands in for the drift helper's asset."""

    defs = dg.Definitions.merge(
        feed_module.defs,
        dg.Definitions(
            assets=[feature_drift_stand_in],
            resources={
                "io_manager": dg.InMemoryIOManager(),
                "warehouse": DuckDBResource(database=":memory:"),
                "feed": build_feed_resource(),
            },
        ),
    )
    job = defs.resolve_job_def(hourly_feed_job.name)
    schedule = defs.resolve_schedule_def("hourly_feed_schedule")

    assert job.asset_layer.executable_asset_keys == {
        dg.AssetKey("new_tracks"),
        dg.AssetKey("feature_drift"),
    }
    assert job.partitions_def == hourly_partitions
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.cron_schedule == "5 * * * *"
    asset = defs.resolve_assets_def("new_tracks")
    # Both in the same backfill runs, many hours per run (a run per hour would take a year's
    # backfill hours).
    policy = asset.backfill_policy
    assert feature_drift.backfill_policy == policy
    assert policy.policy_type.value == "MULTI_RUN"
    assert policy.max_partitions_per_run >= 168
    assert asset.op.pool == "duckdb"
    assert asset.op.retry_policy.max_retries == 3
    assert asset.metadata_by_key[dg.AssetKey("new_tracks")]["partition_expr"] == "partition_hour"
