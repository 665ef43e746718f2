"""``playlists`` over a folder of slices: a bad slice quarantined, the per-slice job's Parquet
files reused by the combine, and a slice run that never opens the warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from playlist_assets import settings
from playlist_assets.defs.playlists import playlists, slices_dir, slices_job
from playlist_assets.defs.resources import build_resources
from playlist_assets.lib.recommend.playlist_store import PlaylistStore


def slice_file(path: Path, pids: list[int]) -> Path:
    document = {
        "info": {"slice": path.name},
        "playlists": [
            {
                "pid": pid,
                "name": f"list {pid}",
                "tracks": [
                    {"track_uri": f"spotify:track:{pid:011d}{j:011d}", "artist_name": "A"}
                    for j in range(4)
                ],
            }
            for pid in pids
        ],
    }
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    mpd = tmp_path / "mpd"
    mpd.mkdir()
    slice_file(mpd / "mpd.slice.0-999.json", [0, 1, 2])
    slice_file(mpd / "mpd.slice.1000-1999.json", [1000, 1001])
    monkeypatch.setenv(settings.MPD_PATH_ENV, str(mpd))
    return mpd


def meta(result: dg.ExecuteInProcessResult) -> dict:
    event = result.get_asset_materialization_events()[0]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_a_bad_slice_is_quarantined_with_its_line_and_the_others_load(data_home, folder) -> None:
    bad = folder / "mpd.slice.2000-2999.json"
    bad.write_text('{"playlists": [{"pid": 2000, "tracks": [{"track_uri": "spotify:track:"}]}]}')
    result = dg.materialize([playlists], resources=build_resources())
    assert result.success
    got = meta(result)
    assert got["playlists"] == 5 and got["slices_quarantined"] == 1
    assert got["median_playlist_length"] == 4.0
    assert f"{bad}: playlist #0 (pid 2000): track 0 has track_uri" in got["quarantine"]
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        status = con.execute("SELECT slice, status FROM main.playlist_slices ORDER BY 1").fetchall()
        pids = {r[0] for r in con.execute("SELECT DISTINCT pid FROM main.playlists").fetchall()}
    assert status[-1] == ("mpd.slice.2000-2999", "quarantined")
    assert pids == {0, 1, 2, 1000, 1001}
    assert PlaylistStore(settings.warehouse_path()).playlist_ids().tolist() == [0, 1, 2, 1000, 1001]


def test_every_slice_bad_fails_naming_each(data_home, folder) -> None:
    for path in folder.iterdir():
        path.write_text('{"playlists": [{"pid": "x", "tracks": []}]}')
    result = dg.materialize([playlists], resources=build_resources(), raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert failure.description.count("'pid' must be an integer") == 2


def test_slice_runs_write_parquet_only_and_the_combine_reuses_them(data_home, folder) -> None:
    job = slices_job(["mpd.slice.0-999", "mpd.slice.1000-1999"])
    with dg.instance_for_test() as instance:
        for key in ("mpd.slice.0-999", "mpd.slice.1000-1999"):
            run = job.execute_in_process(
                partition_key=key, instance=instance, resources=build_resources()
            )
            assert run.success
    assert sorted(p.name for p in slices_dir().iterdir()) == [
        "mpd.slice.0-999.parquet",
        "mpd.slice.1000-1999.parquet",
    ]
    assert not settings.warehouse_path().exists()  # the slice runs never open the warehouse
    result = dg.materialize([playlists], resources=build_resources())
    assert meta(result)["slices_reused"] == 2 and meta(result)["slices_converted"] == 0


def test_a_bad_slice_run_fails_with_its_line(data_home, folder) -> None:
    (folder / "mpd.slice.0-999.json").write_text('{"playlists": [{"pid": 1, "tracks": [')
    job = slices_job(["mpd.slice.0-999"])
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            partition_key="mpd.slice.0-999", instance=instance, raise_on_error=False
        )
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert "mpd.slice.0-999.json: malformed JSON" in failure.description
