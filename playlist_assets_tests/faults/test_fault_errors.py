"""Fault injection, files and locks: truncate a model, lock the warehouse, corrupt the MLflow
database, feed an empty track id; each gives one line naming what to fix, not a traceback.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from playlist_assets.defs.resources import MlflowTracker
from playlist_assets_tests.cli.test_cli_recommend import materialized  # noqa: F401 - fixture

# -- 11.6: one clear line instead of a traceback ------------------------------------------------


@pytest.fixture
def served_home(
    materialized,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A private copy of a materialized data folder (each test may break it its own way)."""
    home = tmp_path / "served"
    shutil.copytree(materialized["home"], home)
    monkeypatch.setenv("PLAYLIST_ASSETS_HOME", str(home))
    return home


def _recommend(args: list[str], capsys) -> tuple[int, str, str]:
    from playlist_assets import cli

    code = cli.main(["recommend", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_truncated_model_names_the_file_and_the_asset(served_home: Path, capsys) -> None:
    model = served_home / "models" / "genre_classifier"
    model.write_bytes(model.read_bytes()[:100])
    code, out, err = _recommend(["--playlist", "mpd:3"], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{model} is truncated or corrupt" in err
    assert "re-materialize asset genre_classifier" in err


def test_model_files_are_replaced_atomically(tmp_path: Path) -> None:
    """A write that dies half-way leaves the previous model whole, and no stray file."""
    from playlist_assets.lib.classifier.artifacts import load_artifact, write_pickle_atomic

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("killed mid-write")

    path = tmp_path / "models" / "genre_classifier"
    write_pickle_atomic(path, {"version": 1})
    with pytest.raises(RuntimeError, match="killed mid-write"):
        write_pickle_atomic(path, {"version": 2, "big": list(range(10_000)), "x": Unpicklable()})
    assert load_artifact(path, "genre_classifier") == {"version": 1}
    assert [p.name for p in path.parent.iterdir()] == ["genre_classifier"]


def test_model_io_manager_round_trips_and_names_a_corrupt_input(data_home: Path) -> None:
    import dagster as dg

    from playlist_assets.defs.model_files import ModelFilesIOManager

    @dg.asset(io_manager_key="model_io_manager")
    def model() -> dict:
        return {"weights": [1, 2, 3]}

    @dg.asset(io_manager_key="model_io_manager")
    def uses_model(model: dict) -> int:
        return len(model["weights"])

    resources = {"model_io_manager": ModelFilesIOManager(base_dir=str(data_home / "models"))}
    assert dg.materialize([model, uses_model], resources=resources).success
    (data_home / "models" / "model").write_bytes(b"\x80\x05\x95")  # truncated pickle
    result = dg.materialize(
        [model, uses_model], resources=resources, selection=["uses_model"], raise_on_error=False
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.cause.message  # the load error, under Dagster's
    assert f"{data_home / 'models' / 'model'} is truncated or corrupt" in message
    assert "re-materialize asset model" in message


def test_locked_warehouse_waits_then_names_the_lock(
    served_home: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A materialization holding DuckDB's write lock: a short wait, then one line naming it."""
    from playlist_assets.cli import recommend

    monkeypatch.setattr(recommend, "WAREHOUSE_WAIT_S", 1.0)
    warehouse = served_home / "warehouse.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
            "con.execute('create or replace table main.busy as select 1 as x'); "
            "print('locked', flush=True); time.sleep(60)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        code, out, err = _recommend(["--playlist", "mpd:3"], capsys)
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"the warehouse {warehouse} is locked by process {holder.pid}" in err
    assert waited >= 1.0
    # once the materialization is gone the same command works
    assert _recommend(["--playlist", "mpd:3"], capsys)[0] == 0


def test_playlist_holding_every_song_gets_a_message(
    served_home: Path,
    materialized,  # noqa: F811 - the fixture imported above
    capsys,
) -> None:
    everything = served_home / "everything.txt"
    everything.write_text("\n".join(materialized["index"]["track_id"]))
    code, out, err = _recommend(["--playlist", str(everything), "--strategy", "cluster"], capsys)
    assert code == 0 and err == ""
    assert out.strip().splitlines() == [
        f"{everything}: nothing to recommend with strategy cluster: every song it could rank "
        "is already in the playlist"
    ]


def test_track_uri_without_an_id_is_rejected_with_playlist_and_position(
    served_home: Path, capsys
) -> None:
    from playlist_assets.lib.recommend.playlists_io import PlaylistFileError, read_playlists

    bad = served_home / "bad.json"
    tracks = [
        {"track_uri": "spotify:track:4uLU6hMCjMI75M1A2tKUQC"},
        {"track_uri": "spotify:track:"},
    ]
    bad.write_text(json.dumps({"playlists": [{"pid": 7, "name": "x", "tracks": tracks}]}))
    with pytest.raises(PlaylistFileError) as err:
        read_playlists(bad)
    assert str(err.value) == (
        f"{bad}: playlist #0 (pid 7): track 1 has track_uri 'spotify:track:' with no track id "
        "after 'spotify:track:'"
    )
    code, out, stderr = _recommend(["--input", str(bad)], capsys)
    assert code == 2 and stderr.count("\n") == 1
    assert "playlist #0 (pid 7): track 1 has track_uri 'spotify:track:' with no track id" in stderr


def test_corrupt_mlflow_database_names_the_file(data_home: Path) -> None:
    import dagster as dg

    db = data_home / "mlflow" / "mlflow.db"
    db.write_bytes(b"this is no database" * 100)

    @dg.asset
    def logs_to_mlflow(mlflow: MlflowTracker) -> None:
        mlflow.mlflow()

    result = dg.materialize(
        [logs_to_mlflow], resources={"mlflow": MlflowTracker()}, raise_on_error=False
    )
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_failure_data.user_failure_data.description == (
        f"MLflow store {db} is not a SQLite database (corrupt or overwritten): restore it from a "
        "backup, or move it away to start an empty one"
    )
