"""Fault injection, runs: kill a real run, leave a dead one in the instance, make the data
folder read-only; and see that the next run is not blocked and nothing spins.
"""

from __future__ import annotations

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


def test_the_sweep_reads_a_store_without_orphans_without_importing_mlflow(tmp_path: Path) -> None:
    """Every run start sweeps for MLflow runs a dead run left open. With none (the usual case)
    the SQLite store is read directly: an hourly run does not pay for importing MLflow."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("playlist_assets")
    live = client.create_run(experiment, tags={"dagster.run_id": "live-run"})
    done = client.create_run(experiment, tags={"dagster.run_id": "over-run"})
    client.set_terminated(done.info.run_id)

    def sweep(over: str) -> str:
        code = (
            "import sys\n"
            "from playlist_assets.lib.mlflow_runs import end_orphaned_mlflow_runs\n"
            f"ended = end_orphaned_mlflow_runs({uri!r}, lambda run: run == {over!r}).runs\n"
            "print(ended, 'mlflow' in sys.modules)\n"
        )
        return subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()

    assert sweep("over-run") == "[] False"  # the only run over is already finished
    assert sweep("live-run") == f"[('{live.info.run_id}', 'live-run')] True"
    assert client.get_run(live.info.run_id).info.status == "KILLED"
