"""Fault injection: kill a real run, lock the warehouse, corrupt the stored files, and see the outcome.

Each case is what a user (or a machine) does to the product, and asserts what they see: a re-run
that is not blocked, a waiting run that does not burn a CPU, one error line that names the file.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import playlist_assets
from playlist_assets.defs.resources import MlflowTracker
from playlist_assets_tests.cli.test_cli_recommend import materialized  # noqa: F401 - fixture

REPO = Path(playlist_assets.__file__).resolve().parents[1]
DAGSTER_YAML = REPO / "dagster.yaml"
# The catalogue up to the classifier (the hourly feed stays out: it needs a partition).
TRAINING = (
    "raw_spotify_tracks,validated_songs,quarantined_tracks,train_songs,test_songs,genre_classifier"
)


# -- helpers ------------------------------------------------------------------------------------


def _env(home: Path, dagster_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(REPO),
        PLAYLIST_ASSETS_HOME=str(home),
        DAGSTER_HOME=str(dagster_home),
        GX_ANALYTICS_ENABLED="false",
    )
    return env


def _materialize(env: dict[str, str], select: str, log: Path) -> subprocess.Popen:
    """``dagster asset materialize`` in its own process, output to ``log``."""
    cmd = [sys.executable, "-m", "dagster", "asset", "materialize"]
    cmd += ["-m", "playlist_assets.definitions", "--select", select]
    return subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT)


def _wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended (rc {proc.returncode}) before {what}")
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _mlflow_runs(db: Path, status: str) -> list[str]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return [
                r[0] for r in con.execute("select run_uuid from runs where status = ?", [status])
            ]
    except sqlite3.OperationalError:  # locked or not migrated yet
        return []


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def instance_dirs(data_home: Path, tmp_path: Path) -> tuple[Path, Path]:
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(DAGSTER_YAML, dagster_home / "dagster.yaml")
    return data_home, dagster_home


# -- 11.1: a killed run does not block the next one ---------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc")
def test_killed_run_frees_its_slot_and_a_waiting_run_sleeps(instance_dirs, tmp_path: Path) -> None:
    """kill -9 mid-`genre_classifier`; the next run recovers it, and waits for a live one idly."""
    import dagster as dg

    home, dagster_home = instance_dirs
    env = _env(home, dagster_home)
    mlflow_db = home / "mlflow" / "mlflow.db"

    # 1. A run killed -9 while its genre_classifier MLflow run is open (holding the duckdb slot).
    victim = _materialize(env, TRAINING, tmp_path / "victim.log")
    try:
        _wait_for(lambda: _mlflow_runs(mlflow_db, "RUNNING"), 300, "an open MLflow run", victim)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()
    open_runs = _mlflow_runs(mlflow_db, "RUNNING")
    assert open_runs

    # 2. The next run is not blocked: it recovers the dead run first and succeeds.
    rerun = _materialize(env, "genre_classifier", tmp_path / "rerun.log")
    assert rerun.wait(timeout=300) == 0, (tmp_path / "rerun.log").read_text()[-3000:]
    log = (tmp_path / "rerun.log").read_text()
    assert "Run recovery: run " in log and "marked failed" in log
    assert "Step blocked by limit for pool duckdb" not in log
    for run_id in open_runs:  # the dead run's MLflow run is closed as KILLED
        assert run_id in _mlflow_runs(mlflow_db, "KILLED")
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        statuses = [r.dagster_run.status for r in instance.get_run_records()]
    assert statuses.count(dg.DagsterRunStatus.FAILURE) == 1
    assert statuses.count(dg.DagsterRunStatus.SUCCESS) == 1

    # 3. A run waiting for a live run's slot sleeps instead of spinning a CPU, and goes on when
    #    the slot is freed. The live holder is this test process, recorded as a STARTED run.
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        holder = _live_run_holding_the_slot(instance)
        waiter = _materialize(env, "train_songs,test_songs", tmp_path / "waiter.log")
        try:
            _wait_for(
                lambda: "Step blocked by limit" in (tmp_path / "waiter.log").read_text(),
                120,
                "the waiter to block",
                waiter,
            )
            before, started = _cpu_seconds(waiter.pid), time.monotonic()
            time.sleep(5)
            busy = (_cpu_seconds(waiter.pid) - before) / (time.monotonic() - started)
            instance.event_log_storage.free_concurrency_slots_for_run(holder.run_id)
            assert waiter.wait(timeout=120) == 0, (tmp_path / "waiter.log").read_text()[-3000:]
        finally:
            if waiter.poll() is None:
                waiter.kill()
                waiter.wait()
    assert busy < 0.05, f"a blocked run used {busy:.0%} of a CPU while waiting"


def _live_run_holding_the_slot(instance):
    """A STARTED run whose recorded process (this one) is alive, holding the duckdb slot."""
    from dagster._core.events import EngineEventData
    from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
    from dagster._core.utils import make_new_run_id

    run = instance.add_run(
        DagsterRun(job_name="holder", run_id=make_new_run_id(), status=DagsterRunStatus.STARTED)
    )
    instance.report_engine_event(
        "Executing steps in process", run, EngineEventData.in_process(os.getpid())
    )
    claim = instance.event_log_storage.claim_concurrency_slot("duckdb", run.run_id, "holder")
    assert claim.is_claimed
    return run


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
    from playlist_assets.lib.artifacts import load_artifact, write_pickle_atomic

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
    from playlist_assets.lib.playlists_io import PlaylistFileError, read_playlists

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


# -- 11.1 by hand and under dagster dev: doctor and the sensor ----------------------------------


def _dead_run_holding_the_slot(instance, data_home: Path) -> tuple[str, str]:
    """A STARTED run whose process exited, holding the duckdb slot, with an open MLflow run."""
    from dagster._core.events import EngineEventData
    from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
    from dagster._core.utils import make_new_run_id
    from mlflow import MlflowClient

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    run = instance.add_run(
        DagsterRun(job_name="victim", run_id=make_new_run_id(), status=DagsterRunStatus.STARTED)
    )
    instance.report_engine_event("Executing steps", run, EngineEventData.in_process(gone.pid))
    instance.event_log_storage.set_concurrency_slots("duckdb", 1)
    assert instance.event_log_storage.claim_concurrency_slot("duckdb", run.run_id, "s").is_claimed
    client = MlflowClient(tracking_uri=f"sqlite:///{data_home / 'mlflow' / 'mlflow.db'}")
    experiment = client.create_experiment("playlist_assets")
    mlflow_run = client.create_run(experiment, tags={"dagster.run_id": run.run_id})
    return run.run_id, mlflow_run.info.run_id


def _mlflow_status(data_home: Path, run_id: str) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{data_home / 'mlflow' / 'mlflow.db'}")
    return client.get_run(run_id).info.status


def test_doctor_recovers_a_dead_run(instance_dirs, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import dagster as dg

    from playlist_assets import cli

    home, dagster_home = instance_dirs
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        run_id, mlflow_run = _dead_run_holding_the_slot(instance, home)

        assert cli.main(["doctor", "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert f"would do: run {run_id} (victim): process" in out and "is gone" in out
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED

        assert cli.main(["doctor"]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith(f"run {run_id} (victim): process ")
        assert f"run {run_id}: freed its pool slots" in out
        assert f"MLflow run {mlflow_run} (of dagster run {run_id}): ended as KILLED" in out
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
        info = instance.event_log_storage.get_concurrency_info("duckdb")
        assert info.claimed_slots == []
    assert _mlflow_status(home, mlflow_run) == "KILLED"

    assert cli.main(["doctor"]) == 0
    assert "nothing to recover" in capsys.readouterr().out


def test_sensor_recovers_a_dead_run_but_not_a_live_one(instance_dirs) -> None:
    import dagster as dg

    from playlist_assets.defs.recovery import orphaned_runs_sensor

    home, dagster_home = instance_dirs
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        dead, mlflow_run = _dead_run_holding_the_slot(instance, home)
        instance.event_log_storage.set_concurrency_slots("duckdb", 2)
        live = _live_run_holding_the_slot(instance)
        result = orphaned_runs_sensor(dg.build_sensor_context(instance=instance))
        assert f"run {dead} (victim)" in result.skip_message
        assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(live.run_id).status == dg.DagsterRunStatus.STARTED
    assert _mlflow_status(home, mlflow_run) == "KILLED"


def test_a_reused_pid_is_not_the_run_process() -> None:
    from playlist_assets.run_recovery import process_alive

    assert process_alive(os.getpid(), not_after=time.time())
    assert not process_alive(os.getpid(), not_after=time.time() - 3600)  # a later process


@pytest.mark.slow
def test_read_only_data_folder_fails_at_once_in_one_line(tmp_path: Path) -> None:
    """A data folder the run cannot write: the run fails before any step, naming the folder.

    Root writes anywhere, so as root the run is started as user nobody (setpriv).
    """
    as_root = os.geteuid() == 0
    if as_root and not (shutil.which("setpriv") and _uid_of("nobody") is not None):
        pytest.skip("needs setpriv and user nobody to drop root")
    base = Path(tempfile.mkdtemp(prefix="playlist-ro-"))
    try:
        base.chmod(0o755)
        home, dagster_home = base / "data", base / "dagster_home"
        home.mkdir()
        dagster_home.mkdir()
        shutil.copy(DAGSTER_YAML, dagster_home / "dagster.yaml")
        if as_root:
            for path in (dagster_home, dagster_home / "dagster.yaml"):
                os.chown(path, _uid_of("nobody"), -1)
        else:
            home.chmod(0o555)
        env = {**_env(home, dagster_home), "HOME": str(dagster_home)}
        cmd = [sys.executable, "-m", "dagster", "asset", "materialize"]
        cmd += ["-m", "playlist_assets.definitions", "--select", "raw_spotify_tracks"]
        if as_root:
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]
        done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    finally:
        if (base / "data").exists():
            (base / "data").chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)
    assert done.returncode != 0
    assert (
        f"data folder {home} is not writable (Permission denied): fix its permissions or set "
        "PLAYLIST_ASSETS_HOME to a writable folder"
    ) in done.stderr + done.stdout
    assert "STEP_START" not in done.stderr + done.stdout


def _uid_of(user: str) -> int | None:
    import pwd

    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None
