"""The landing feed: CSV, Parquet and JSON hours, a missing hour, and bad files kept aside."""

import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from playlist_assets.lib.feeds.landing import hour_folder_name, read_landing_hour
from playlist_assets.lib.feeds.normalize import FEED_COLUMNS, REJECT_COLUMNS, normalize_tracks
from playlist_assets.lib.schema import KAGGLE_COLUMNS

HOUR = datetime(2026, 11, 25, 13)
FEATURES = {
    "danceability": 0.61,
    "energy": 0.72,
    "key": 5,
    "loudness": -6.1,
    "mode": 1,
    "speechiness": 0.05,
    "acousticness": 0.12,
    "instrumentalness": 0.0,
    "liveness": 0.11,
    "valence": 0.48,
    "tempo": 121.0,
    "time_signature": 4,
}


def kaggle_rows(n: int, genre: str = "rock", start: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "track_id": f"{i:022d}".replace("0", "A"),
                "artists": f"Band {i}",
                "album_name": f"Album {i}",
                "track_name": f"Song {i}",
                "popularity": 40 + i,
                "duration_ms": 200_000 + i,
                "explicit": i % 2 == 0,
                **FEATURES,
                "track_genre": genre,
            }
            for i in range(start, start + n)
        ],
        columns=list(KAGGLE_COLUMNS),
    )


@pytest.fixture
def hour_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "landing" / hour_folder_name(HOUR)
    folder.mkdir(parents=True)
    return folder


def test_hour_folder_is_named_by_its_start() -> None:
    assert hour_folder_name(HOUR) == "2026-11-25T13"


def test_csv_parquet_and_kaggle_json_files_of_an_hour_load_together(hour_dir: Path) -> None:
    kaggle_rows(3, "rock").to_csv(hour_dir / "a.csv", index=True)  # Kaggle-style index column
    kaggle_rows(2, "jazz", start=10).to_parquet(hour_dir / "b.parquet")
    records = kaggle_rows(2, "pop", start=20).to_dict(orient="records")
    (hour_dir / "c.json").write_text(json.dumps(records))
    (hour_dir / "_SUCCESS").write_text("")  # marker files are not data

    batch = read_landing_hour(hour_dir.parent, HOUR)

    assert list(batch.tracks.columns) == list(FEED_COLUMNS)
    assert batch.tracks["track_genre"].tolist() == ["rock"] * 3 + ["jazz"] * 2 + ["pop"] * 2
    assert batch.tracks["source"].tolist() == (
        [str(hour_dir / "a.csv")] * 3
        + [str(hour_dir / "b.parquet")] * 2
        + [str(hour_dir / "c.json")] * 2
    )
    assert batch.rejects.empty
    assert batch.tracks["explicit"].dtype == "boolean"
    assert batch.tracks.loc[0, "popularity"] == 40


def test_spotify_audio_features_json_is_merged_with_its_track_objects(hour_dir: Path) -> None:
    tracks = [
        {
            "id": "4iV5W9uYEdYUVa79Axb7Rh",
            "name": "New Song",
            "artists": [{"name": "First"}, {"name": "Second"}],
            "album": {"name": "New Album"},
            "popularity": 55,
            "duration_ms": 187_000,
            "explicit": False,
        },
        {"id": "1301WleyT98MSxVHPZCA6M", "name": "No Features", "artists": [], "album": {}},
    ]
    document = {
        "genre": "edm",
        "tracks": tracks,
        "audio_features": [{"id": "4iV5W9uYEdYUVa79Axb7Rh", **FEATURES}, None],
    }
    (hour_dir / "spotify.json").write_text(json.dumps(document))

    batch = read_landing_hour(hour_dir.parent, HOUR)

    row = batch.tracks.iloc[0]
    assert len(batch.tracks) == 1
    assert row["track_id"] == "4iV5W9uYEdYUVa79Axb7Rh"
    assert row["artists"] == "First;Second"  # Kaggle's separator
    assert row["album_name"] == "New Album"
    assert row["track_genre"] == "edm"
    assert row["tempo"] == 121.0
    assert batch.rejects["track_id"].tolist() == ["1301WleyT98MSxVHPZCA6M"]
    assert batch.rejects["reason"].tolist() == ["no audio features for this track"]


def test_a_list_of_track_objects_merged_with_features_is_accepted(hour_dir: Path) -> None:
    items = [
        {
            "track": {
                "id": "7ouMYWpwJ422jRcDASZB7P",
                "name": "Wrapped",
                "artists": [{"name": "Solo"}],
                "album": {"name": "Playlist Album"},
                "popularity": 70,
                "duration_ms": 240_000,
                "explicit": True,
            },
            "track_genre": "latin",
            **FEATURES,
        }
    ]
    (hour_dir / "items.json").write_text(json.dumps(items))

    batch = read_landing_hour(hour_dir.parent, HOUR)

    assert batch.tracks[["track_id", "track_genre", "explicit"]].values.tolist() == [
        ["7ouMYWpwJ422jRcDASZB7P", "latin", True]
    ]


def test_a_missing_hour_is_an_empty_batch_with_every_column(tmp_path: Path) -> None:
    batch = read_landing_hour(tmp_path / "landing", HOUR)

    assert batch.tracks.empty
    assert list(batch.tracks.columns) == list(FEED_COLUMNS)
    assert batch.tracks["popularity"].dtype == "Int64"
    assert batch.rejects.empty
    assert "no landing folder" in batch.notes[0]


def test_bad_files_are_kept_aside_by_name_and_the_others_still_load(hour_dir: Path) -> None:
    kaggle_rows(4).to_csv(hour_dir / "good.csv", index=False)
    (hour_dir / "broken.json").write_text('{"tracks": [{"track_id": ')
    (hour_dir / "corrupt.parquet").write_bytes(b"PAR1 this is not parquet")
    kaggle_rows(2).drop(columns=["tempo", "energy"]).to_csv(hour_dir / "narrow.csv", index=False)
    (hour_dir / "empty.csv").write_text("")

    batch = read_landing_hour(hour_dir.parent, HOUR)

    assert len(batch.tracks) == 4
    assert set(batch.tracks["source"]) == {str(hour_dir / "good.csv")}
    assert list(batch.rejects.columns) == list(REJECT_COLUMNS)
    reasons = batch.rejects.groupby("source")["reason"].first()
    assert "not valid JSON" in reasons[str(hour_dir / "broken.json")]
    assert "not a readable Parquet file" in reasons[str(hour_dir / "corrupt.parquet")]
    assert "empty" in reasons[str(hour_dir / "empty.csv")]
    assert reasons[str(hour_dir / "narrow.csv")] == "missing columns: energy, tempo"
    # A file that parsed keeps every row, numbered, with the row as it came.
    narrow = batch.rejects[batch.rejects["source"] == str(hour_dir / "narrow.csv")]
    assert narrow["row_number"].tolist() == [1, 2]
    assert json.loads(narrow["row_json"].iloc[0])["track_name"] == "Song 0"
    broken = batch.rejects[batch.rejects["source"] == str(hour_dir / "broken.json")]
    assert '"track_id": ' in json.loads(broken["row_json"].iloc[0])["raw_excerpt"]


def test_untypable_values_reject_their_row_with_the_field_and_value() -> None:
    raw = kaggle_rows(4).astype(object)
    raw.loc[1, "popularity"] = "very"
    raw.loc[2, "key"] = 3.5
    raw.loc[2, "explicit"] = "maybe"
    raw.loc[3, "danceability"] = None  # missing is not untypable: the quality checks judge it
    raw["comment"] = "extra"

    batch = normalize_tracks(raw, "hour.csv")

    assert batch.tracks["track_name"].tolist() == ["Song 0", "Song 3"]
    assert pd.isna(batch.tracks.loc[1, "danceability"])
    assert batch.rejects["row_number"].tolist() == [2, 3]
    assert batch.rejects["reason"].tolist() == [
        "popularity: not a number ('very')",
        "key: not an integer (3.5); explicit: not true/false ('maybe')",
    ]
    assert batch.notes == ["hour.csv: ignored extra columns comment"]
