"""``playlist-assets sample-data``: writes the sample once, rewrites it only when asked."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from playlist_assets import cli
from playlist_assets.lib.sample_data import generate as sd

SMALL = ["--per-genre", "40", "--replay-per-genre", "10", "--playlists", "30", "--seed", "3"]


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch):
    # Only this command: the test does not depend on the other commands being importable.
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("playlist_assets.cli.sample_data",))
    return cli.main


def _stamps(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_writes_the_three_files_and_says_what_is_in_them(
    run_cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "sample"

    code = run_cli(["sample-data", "--dest", str(dest), *SMALL])

    printed = capsys.readouterr().out
    assert code == 0
    n_genres = len(sd.SAMPLE_GENRES)
    assert f"{dest / sd.TRACKS_FILE} ({40 * n_genres} rows, {n_genres} genres)" in printed
    assert f"{dest / sd.REPLAY_FILE} ({10 * n_genres} rows)" in printed
    assert f"{dest / sd.PLAYLISTS_FILE} (30 playlists)" in printed
    assert len(pd.read_csv(dest / sd.TRACKS_FILE, index_col=0)) == 40 * n_genres
    assert len(pd.read_csv(dest / sd.REPLAY_FILE, index_col=0)) == 10 * n_genres
    assert len(json.loads((dest / sd.PLAYLISTS_FILE).read_text())["playlists"]) == 30


def test_a_second_run_leaves_the_files_alone_unless_forced(
    run_cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "sample"
    run_cli(["sample-data", "--dest", str(dest), *SMALL])
    first = _stamps(dest)

    assert run_cli(["sample-data", "--dest", str(dest), *SMALL]) == 0
    assert _stamps(dest) == first
    assert "already current" in capsys.readouterr().out

    assert run_cli(["sample-data", "--dest", str(dest), *SMALL, "--force"]) == 0
    forced = _stamps(dest)
    assert all(forced[name] != first[name] for name in first)
    assert "written" in capsys.readouterr().out


def test_default_destination_is_the_data_folder(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_home = tmp_path / "data"
    monkeypatch.setenv("PLAYLIST_ASSETS_HOME", str(data_home))

    assert run_cli(["sample-data", *SMALL]) == 0

    assert (data_home / "sample" / sd.TRACKS_FILE).is_file()
    assert f"sample in {data_home / 'sample'}" in capsys.readouterr().out


def test_bad_sizes_are_one_clear_error(
    run_cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["sample-data", "--dest", str(tmp_path), "--per-genre", "0"])

    assert code == 2
    assert "--per-genre must be at least 1, got 0" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_more_than_a_slice_is_written_as_mpd_slice_files(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from playlist_assets.lib.sample_data import slices

    small = slices.Scale(tail_body=5_000, tail_rare=5_000, communities=100)
    monkeypatch.setattr(slices, "Scale", lambda: small)  # the full world takes ~10 s to build
    dest = tmp_path / "big"
    args = ["sample-data", "--dest", str(dest), *SMALL[:4], "--playlists", "1200"]

    assert run_cli(args) == 0

    out, err = capsys.readouterr()
    assert f"{dest / sd.MPD_DIR} (2 slice files, 1200 playlists)" in out
    assert "slices written: 2/2" in err
    names = sorted(p.name for p in (dest / sd.MPD_DIR).iterdir())
    assert names == ["mpd.slice.0-999.json.gz", "mpd.slice.1000-1999.json.gz"]
    assert run_cli(args) == 0 and "already current" in capsys.readouterr().out
