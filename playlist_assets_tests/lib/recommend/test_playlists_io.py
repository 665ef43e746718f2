"""Reading MPD JSON: both schemas, folders of slices, gzip, and every kind of bad file."""

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from playlist_assets.lib.recommend import playlists_io
from playlist_assets.lib.recommend.playlists_io import (
    PLAYLIST_COLUMNS,
    PlaylistFileError,
    iter_playlists,
    read_playlists,
)


def track(i: int, pos: int | None = None, reduced: bool = False) -> dict:
    entry = {
        "artist_name": f"Artist {i % 3}",
        "track_uri": f"spotify:track:{i:022d}",
        "track_name": f"Song {i}",
    }
    if not reduced:
        entry.update(
            pos=pos,
            artist_uri=f"spotify:artist:{i % 3:022d}",
            album_uri="spotify:album:" + "A" * 22,
            duration_ms=200000,
            album_name="Album",
        )
    return entry


def original(pids: list[int], per: int = 3) -> dict:
    """The original MPD schema: info first, every field, ``pos`` on each track."""
    return {
        "info": {"generated_on": "2017-12-03", "slice": "0-999", "version": "v1"},
        "playlists": [
            {
                "name": f"list {pid}",
                "collaborative": "false",
                "pid": pid,
                "num_tracks": per,
                "tracks": [track(pid * 10 + j, pos=j) for j in range(per)],
            }
            for pid in pids
        ],
    }


def reduced(pids: list[int], per: int = 3) -> dict:
    """The reduced schema of the real extract: no pos, three track fields, playlists before info."""
    return {
        "playlists": [
            {
                "name": f"r{pid}",
                "pid": pid,
                "tracks": [track(pid * 10 + j, reduced=True) for j in range(per)],
            }
            for pid in pids
        ],
        "info": {"slice": "reduced", "source_slices": [{"pids": pids}]},
    }


def write(path: Path, data: dict | str) -> Path:
    text = data if isinstance(data, str) else json.dumps(data, indent=2)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_original_schema_becomes_a_tidy_long_table(tmp_path):
    frame = read_playlists(write(tmp_path / "mpd.slice.0-999.json", original([0, 1])))
    assert list(frame.columns) == list(PLAYLIST_COLUMNS)
    assert len(frame) == 6
    first = frame.iloc[0]
    assert first["pid"] == 0 and first["name"] == "list 0" and first["pos"] == 0
    assert first["track_uri"] == "spotify:track:" + "0" * 22
    assert first["track_id"] == "0" * 22
    assert first["artist_name"] == "Artist 0" and first["track_name"] == "Song 0"
    assert frame.groupby("pid")["pos"].apply(list).tolist() == [[0, 1, 2], [0, 1, 2]]


def test_reduced_gzipped_schema_takes_positions_from_list_order(tmp_path):
    frame = read_playlists(write(tmp_path / "extract.json.gz", reduced([5, 7], per=4)))
    assert frame["pid"].unique().tolist() == [5, 7]
    assert frame[frame["pid"] == 7]["pos"].tolist() == [0, 1, 2, 3]
    assert frame[frame["pid"] == 7]["track_name"].tolist() == [
        "Song 70",
        "Song 71",
        "Song 72",
        "Song 73",
    ]


def test_streaming_parse_is_independent_of_read_chunk_size(tmp_path, monkeypatch):
    path = write(tmp_path / "a.json", original(list(range(12)), per=5))
    whole = read_playlists(path)
    monkeypatch.setattr(playlists_io, "_CHUNK", 7)  # every value straddles chunk boundaries
    assert read_playlists(path).astype(str).equals(whole.astype(str))


def test_folder_reads_every_slice_in_name_order_and_skips_other_files(tmp_path):
    write(tmp_path / "b.json.gz", reduced([20, 21]))
    write(tmp_path / "a.json", original([10]))
    (tmp_path / "notes.txt").write_text("not a slice")
    frame = read_playlists(tmp_path)
    assert frame["pid"].unique().tolist() == [10, 20, 21]
    assert frame.attrs["pid_offsets"] == {}


def test_colliding_pids_across_slices_are_shifted_and_recorded(tmp_path):
    write(tmp_path / "a.json", original([0, 1, 2]))
    write(tmp_path / "b.json", reduced([0, 1]))
    frame = read_playlists(tmp_path)
    assert frame["pid"].nunique() == 5
    assert frame.attrs["pid_offsets"] == {"b.json": 3}
    assert frame[frame["pid"] == 3]["name"].iloc[0] == "r0"


def test_string_columns_are_categorical_to_save_memory(tmp_path):
    frame = read_playlists(write(tmp_path / "a.json", original([0, 1, 2], per=8)))
    for column in ("name", "track_uri", "track_id", "artist_name", "track_name"):
        assert isinstance(frame[column].dtype, pd.CategoricalDtype), column


def test_iter_playlists_yields_the_objects_as_written(tmp_path):
    data = original([3, 4])
    got = list(iter_playlists(write(tmp_path / "a.json", data)))
    assert got == data["playlists"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"playlists": [{"pid": 0, "tracks": []}', "malformed JSON"),
        ('{"playlists": [{"pid": 0, "tracks": [}]}', "malformed JSON"),
        ('{"info": {}}', 'no "playlists" array'),
        ("[1, 2]", "expected '{'"),
        ("", "expected '{', found end of file"),
        ('{"playlists": []} trailing', "unexpected data after"),
    ],
)
def test_malformed_json_names_the_file_and_where(tmp_path, content, expected):
    path = write(tmp_path / "bad.json", content)
    with pytest.raises(PlaylistFileError) as err:
        read_playlists(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_error_position_counts_lines(tmp_path):
    text = json.dumps(original([0, 1]), indent=2)
    broken = text.replace('"pid": 1', '"pid" 1')
    path = write(tmp_path / "bad.json", broken)
    line = broken.splitlines().index(next(x for x in broken.splitlines() if '"pid" 1' in x)) + 1
    with pytest.raises(PlaylistFileError, match=f"line {line} "):
        read_playlists(path)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["playlists"][1]["tracks"][2].pop("track_uri"),
            "pid 1): track 2 has no 'track_uri'",
        ),
        (
            lambda d: d["playlists"][0]["tracks"][1].update(track_uri="x"),
            "track 1 has track_uri 'x'",
        ),
        (lambda d: d["playlists"][0].update(pid="zero"), "'pid' must be an integer"),
        (lambda d: d["playlists"][0].update(tracks=None), "'tracks' must be a list"),
        (lambda d: d["playlists"][1].update(pid=0), "pid 0 appears twice"),
        (lambda d: d["playlists"][0]["tracks"][0].update(pos="first"), "track 0 has pos 'first'"),
    ],
)
def test_bad_playlist_content_names_file_playlist_and_track(tmp_path, mutate, expected):
    data = original([0, 1])
    mutate(data)
    path = write(tmp_path / "bad.json", data)
    with pytest.raises(PlaylistFileError) as err:
        read_playlists(path)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_corrupt_gzip_names_the_file(tmp_path):
    path = tmp_path / "broken.json.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00 this is not gzip data")
    with pytest.raises(PlaylistFileError, match="broken.json.gz: cannot be read"):
        read_playlists(path)


def test_missing_path_and_empty_folder_are_clear(tmp_path):
    with pytest.raises(PlaylistFileError, match="no such MPD file or folder"):
        read_playlists(tmp_path / "nope.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PlaylistFileError, match="holds no MPD slice"):
        read_playlists(tmp_path / "empty")
