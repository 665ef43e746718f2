from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from playlist_assets.lib.tracks_io import TracksFileError, read_tracks_csv

HEADER = ",track_id,artists,track_genre\n"


def test_reads_kaggle_file_and_drops_index_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "0,5SuOikwiRyPMVoIQDJUgSV,Gen Hoshino,acoustic\n")
    frame = read_tracks_csv(path)
    assert list(frame.columns) == ["track_id", "artists", "track_genre"]
    assert frame.loc[0, "track_id"] == "5SuOikwiRyPMVoIQDJUgSV"


def test_reads_gzip(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(HEADER + "0,5SuOikwiRyPMVoIQDJUgSV,Gen Hoshino,acoustic\n")
    assert len(read_tracks_csv(path)) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (b"", "is empty (0 bytes)"),
        (b"\x1f\x8b\x08garbage", "unreadable"),
        (b'a,b\n1,"unterminated\n', "malformed CSV"),
    ],
)
def test_unusable_files_name_the_file(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = (
        tmp_path / "tracks.csv.gz"
        if content and content.startswith(b"\x1f")
        else tmp_path / "tracks.csv"
    )
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TracksFileError) as err:
        read_tracks_csv(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)
