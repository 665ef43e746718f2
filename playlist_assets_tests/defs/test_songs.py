"""validated_songs + quarantined_tracks: the songs base a user trains on, and what was kept out."""

import json
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
from dagster_duckdb import DuckDBResource
from dagster_duckdb_pandas import DuckDBPandasIOManager

from playlist_assets.defs.checks import raw_spotify_tracks_great_expectations
from playlist_assets.defs.songs import songs_base
from playlist_assets.lib.sample_data.generate import generate_tracks
from playlist_assets.lib.schema import TYPED_DTYPES
from playlist_assets.settings import DEFAULT_GENRES

SOURCE = "/data/tracks.csv"


def clean_tracks(per_genre: int = 12, seed: int = 0, genres=DEFAULT_GENRES) -> pd.DataFrame:
    frame = generate_tracks(per_genre, list(genres), seed=seed)
    return frame.drop_duplicates("track_id").reset_index(drop=True)


def database(tmp_path: Path) -> str:
    return str(tmp_path / "warehouse.duckdb")


def resources(tmp_path: Path) -> dict:
    return {
        "io_manager": DuckDBPandasIOManager(database=database(tmp_path), schema="main"),
        "warehouse": DuckDBResource(database=database(tmp_path)),
    }


def catalogue_asset(frame: pd.DataFrame) -> dg.AssetsDefinition:
    @dg.asset(name="raw_spotify_tracks")
    def raw_spotify_tracks() -> dg.Output:
        return dg.Output(frame, metadata={"source_path": dg.MetadataValue.path(SOURCE)})

    return raw_spotify_tracks


def build(frame: pd.DataFrame, tmp_path: Path, *, with_check: bool = False, **kwargs):
    assets = [catalogue_asset(frame), songs_base]
    if with_check:
        assets.append(raw_spotify_tracks_great_expectations)
    return dg.materialize(assets, resources=resources(tmp_path), raise_on_error=False, **kwargs)


def materialization(result, key: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == key:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError(f"{key} was not materialized")


def table(tmp_path: Path, name: str) -> pd.DataFrame:
    with duckdb.connect(database(tmp_path), read_only=True) as conn:
        return conn.execute(f"select * from main.{name}").fetch_df()


def add_partitions(tmp_path: Path, hours: dict[str, pd.DataFrame]) -> None:
    """Write hours into main.new_tracks as the feed's I/O manager does."""
    frames = [
        part.assign(
            partition_hour=pd.Timestamp(key[:10] + " " + key[11:]),
            source=f"landing/{key}/tracks.csv",
        )
        for key, part in hours.items()
    ]
    data = pd.concat(frames, ignore_index=True)  # noqa: F841 (read by duckdb)
    with duckdb.connect(database(tmp_path)) as conn:
        conn.execute("create table if not exists main.new_tracks as select * from data limit 0")
        conn.execute("insert into main.new_tracks select * from data")


def test_a_batch_with_a_few_bad_rows_goes_through_and_they_are_quarantined(tmp_path, data_home):
    frame = pd.concat(
        [clean_tracks(), clean_tracks(per_genre=3, seed=1, genres=["acoustic"])],
        ignore_index=True,
    )
    frame.loc[0, "tempo"] = 0.0
    frame.loc[1, "energy"] = np.nan
    frame.loc[2, "track_id"] = "abc"
    frame = pd.concat([frame, frame.iloc[[10]]], ignore_index=True)  # one exact repeat
    result = build(frame, tmp_path, with_check=True)
    assert result.success
    meta = materialization(result, "validated_songs")
    assert (
        meta["input_rows"],
        meta["validated_rows"],
        meta["quarantined_rows"],
        meta["duplicates_removed"],
        meta["out_of_scope_rows"],
    ) == (124, 117, 3, 1, 3)
    assert meta["row_accounting"] == (
        "input 124 = validated 117 + quarantined 3 + duplicates 1 + out of scope 3"
    )
    assert "| rock | 12 |" in meta["per_genre"]
    assert meta["partitions_included"] == 0 and meta["partitions_excluded"] == 0

    songs = table(tmp_path, "validated_songs")
    assert len(songs) == 117 and songs["track_id"].is_unique
    assert list(songs.columns) == list(TYPED_DTYPES)
    assert set(songs["track_genre"]) == set(DEFAULT_GENRES)

    quarantined = table(tmp_path, "quarantined_tracks").sort_values("row_number")
    assert quarantined["source"].tolist() == [SOURCE] * 3
    assert quarantined["row_number"].tolist() == [1, 2, 3]
    assert quarantined["reason"].tolist() == [
        "tempo must be > 0 and <= 250 (got 0.0)",
        "energy must not be missing (NaN/null) (got NaN)",
        "track_id must be 22 base-62 characters (got 'abc')",
    ]
    assert quarantined["track_id"].tolist()[2] == "abc"
    original = json.loads(quarantined["row_json"].tolist()[0])
    assert original["tempo"] == 0.0 and original["track_id"] == frame.loc[0, "track_id"]
    assert quarantined["quarantined_at"].notna().all()
    assert materialization(result, "quarantined_tracks")["dagster/row_count"] == 3


def test_hours_join_the_catalogue_newest_first_and_failed_hours_stay_out(tmp_path, data_home):
    catalogue = clean_tracks()
    updated = catalogue.iloc[[0]].assign(popularity=97)
    fresh = clean_tracks(per_genre=1, seed=7)
    bad_hour = clean_tracks(per_genre=1, seed=8).assign(danceability=3.0)
    add_partitions(
        tmp_path,
        {
            "2026-11-01-00:00": pd.concat([updated, fresh], ignore_index=True),
            "2026-11-01-01:00": bad_hour,
        },
    )
    result = build(catalogue, tmp_path)
    assert result.success
    meta = materialization(result, "validated_songs")
    assert meta["partitions_included"] == 1 and meta["partitions_excluded"] == 1
    assert meta["newest_partition"] == "2026-11-01-00:00"
    assert meta["excluded_batches"].startswith(
        "- 2026-11-01-01:00: danceability must be >= 0 and <= 1: 10 of 10 rows (100.0%)"
    )
    assert (meta["input_rows"], meta["validated_rows"], meta["quarantined_rows"]) == (141, 130, 10)
    assert meta["duplicates_removed"] == 1

    songs = table(tmp_path, "validated_songs")
    assert songs.loc[songs["track_id"] == catalogue.loc[0, "track_id"], "popularity"].tolist() == [
        97
    ]
    assert set(fresh["track_id"]) <= set(songs["track_id"])
    assert not set(bad_hour["track_id"]) & set(songs["track_id"])

    quarantined = table(tmp_path, "quarantined_tracks")
    assert set(quarantined["source"]) == {"new_tracks:2026-11-01-01:00"}
    assert quarantined["reason"].str.startswith("whole batch rejected: danceability").all()
    assert json.loads(quarantined["row_json"][0])["source"] == "landing/2026-11-01-01:00/tracks.csv"


def test_configured_genres_restrict_the_songs_base(tmp_path, data_home, monkeypatch):
    monkeypatch.setenv("PLAYLIST_GENRES", "rock,jazz")
    result = build(clean_tracks(), tmp_path)
    meta = materialization(result, "validated_songs")
    assert (meta["validated_rows"], meta["out_of_scope_rows"]) == (24, 96)
    assert meta["genres"] == "rock, jazz"
    assert set(table(tmp_path, "validated_songs")["track_genre"]) == {"rock", "jazz"}


def test_a_clean_catalogue_leaves_an_empty_quarantine_table(tmp_path, data_home):
    result = build(clean_tracks(), tmp_path)
    assert result.success
    assert len(table(tmp_path, "quarantined_tracks")) == 0
    assert list(table(tmp_path, "quarantined_tracks").columns) == [
        "source",
        "row_number",
        "track_id",
        "reason",
        "row_json",
        "quarantined_at",
    ]


def test_rebuilding_alone_on_a_bad_catalogue_fails_with_the_reason(tmp_path, data_home):
    """A blocking check only gates its own run: validated_songs must refuse bad data itself."""
    bad = clean_tracks().drop(columns=["valence"])
    first = dg.materialize(
        [catalogue_asset(bad)], resources=resources(tmp_path), raise_on_error=False
    )
    assert first.success
    result = dg.materialize(
        [catalogue_asset(bad), songs_base],
        resources=resources(tmp_path),
        selection=["validated_songs", "quarantined_tracks"],
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.user_failure_data.description
    assert message.startswith("raw_spotify_tracks (")
    assert "(missing: valence). Fix the file and re-materialize raw_spotify_tracks." in message
    assert not result.get_asset_materialization_events()


def test_no_song_in_the_configured_genres_is_a_clear_failure(tmp_path, data_home, monkeypatch):
    monkeypatch.setenv("PLAYLIST_GENRES", "k-pop")
    result = build(clean_tracks(), tmp_path)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_failure_data.user_failure_data.description.startswith(
        "no valid songs in the configured genres (k-pop): 120 input rows, 0 quarantined, "
        "120 of other genres."
    )


def test_rows_the_feed_could_not_type_are_in_quarantined_tracks(tmp_path, data_home):
    rejects = pd.DataFrame(  # noqa: F841 (read by duckdb)
        {
            "source": ["landing/2026-11-01T00/bad.csv"],
            "row_number": [3],
            "track_id": ["5SuOikwiRyPMVoIQDJUgSV"],
            "reason": ["tempo: 'fast' is not a number"],
            "row_json": ['{"tempo": "fast"}'],
            "quarantined_at": [pd.Timestamp("2026-11-01 00:05")],
            "partition_hour": [pd.Timestamp("2026-11-01 00:00")],
        }
    )
    with duckdb.connect(database(tmp_path)) as conn:
        conn.execute("create table main.new_tracks_rejects as select * from rejects")
    result = build(clean_tracks(), tmp_path)
    assert result.success
    quarantined = table(tmp_path, "quarantined_tracks")
    row = quarantined[quarantined["source"] == "landing/2026-11-01T00/bad.csv"]
    assert row["reason"].tolist() == ["tempo: 'fast' is not a number"]
    assert materialization(result, "validated_songs")["feed_rejects (main.new_tracks_rejects)"] == 1


def test_each_batch_is_judged_once_and_retrains_reuse_the_stored_verdicts(tmp_path, data_home):
    catalogue = clean_tracks()
    add_partitions(
        tmp_path,
        {
            "2026-11-01-00:00": clean_tracks(per_genre=1, seed=7),
            "2026-11-01-01:00": clean_tracks(per_genre=1, seed=8).assign(danceability=3.0),
        },
    )
    first = build(catalogue, tmp_path, with_check=True)
    assert first.success
    verdicts_sql = (
        "select batch, accepted, judged_at from main.quality_verdicts order by judged_at, batch"
    )
    with duckdb.connect(database(tmp_path), read_only=True) as conn:
        judged = conn.execute(verdicts_sql).fetchall()
    # The catalogue by its check; the two hours (fed without a check) once, by validated_songs.
    assert [(b, a) for b, a, _ in judged] == [
        ("catalogue", True),
        ("2026-11-01-00:00", True),
        ("2026-11-01-01:00", False),
    ]
    retrain = build(catalogue, tmp_path)
    assert retrain.success
    with duckdb.connect(database(tmp_path), read_only=True) as conn:
        assert conn.execute(verdicts_sql).fetchall() == judged  # nothing judged again
    assert (
        materialization(retrain, "validated_songs")["validated_rows"]
        == materialization(first, "validated_songs")["validated_rows"]
    )
