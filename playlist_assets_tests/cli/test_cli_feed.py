"""``playlist-assets feed``: preview an hour of the replay or landing feed."""

from pathlib import Path

import pandas as pd
import pytest

from playlist_assets import cli


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch):
    # Only this command: the test does not depend on the other commands being importable.
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("playlist_assets.cli.feed",))
    return cli.main


def test_a_replay_hour_is_previewed_the_same_as_the_asset_would_store(
    data_home: Path, run_cli, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "hour.csv"

    code = run_cli(
        ["feed", "--hour", "2026-11-25T13", "--tracks-per-hour", "15", "--out", str(out)]
    )
    again = tmp_path / "again.csv"
    run_cli(["feed", "--hour", "2026-11-25-13:00", "--tracks-per-hour", "15", "--out", str(again)])

    printed = capsys.readouterr().out
    assert code == 0
    assert "2026-11-25 13:00 UTC, replay feed (replay): 15 tracks" in printed
    assert pd.read_csv(out).equals(pd.read_csv(again))  # both spellings: the same hour
    assert len(pd.read_csv(out)) == 15


def test_fresh_replay_previews_new_songs_and_the_mode_follows_the_environment(
    data_home: Path,
    run_cli,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hour = ["feed", "--hour", "2026-11-25T13", "--tracks-per-hour", "12"]
    run_cli([*hour, "--mode", "fresh", "--out", str(tmp_path / "flag.csv")])
    monkeypatch.setenv("PLAYLIST_REPLAY_MODE", "fresh")
    run_cli([*hour, "--out", str(tmp_path / "env.csv")])

    printed = capsys.readouterr().out
    fresh = pd.read_csv(tmp_path / "flag.csv")
    assert "replay feed (replay, fresh tracks): 12 tracks" in printed
    assert fresh.equals(pd.read_csv(tmp_path / "env.csv"))
    assert len(fresh) == 12 and fresh["track_id"].is_unique
    assert not (data_home / "sample").exists()  # fresh tracks need no pool on disk


def test_landing_files_are_checked_and_bad_ones_named(
    data_home: Path, run_cli, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = data_home / "landing" / "2026-11-25T13"
    folder.mkdir(parents=True)
    (folder / "bad.json").write_text("not json")

    code = run_cli(["feed", "--kind", "landing", "--hour", "2026-11-25T13:30:00"])

    printed = capsys.readouterr().out
    assert code == 0
    assert "landing feed" in printed and ": 0 tracks" in printed
    assert f"{folder / 'bad.json'}: {folder / 'bad.json'} is not valid JSON" in printed


def test_a_bad_hour_is_one_clear_error(run_cli, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["feed", "--hour", "yesterday"])

    assert code == 2
    assert "--hour 'yesterday' is not an hour" in capsys.readouterr().err
