"""The production profile end to end: ``scripts/serve.sh`` on this machine, driven as a user would.

Starts Postgres, the MLflow server, the code server, the webserver and the daemon; materializes
the unpartitioned graph through the webserver's GraphQL; backfills 48 hours of the hourly feed
(as the UI does: runs chunked by the assets' backfill policy), then queues 8 one-hour runs at once
(limit 4) and kills the daemon half-way; then checks that every partition was materialized
exactly once, nothing hit the DuckDB lock, the drift sensor resumed from its cursor, MLflow's runs
finished on the server with the champion alias set there, and that stop leaves no process
behind. Minutes of a 2-core machine: run by scripts/test_service.sh (``pytest -m service``), not
by the default test run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import graphql_driver as gql
import pytest

from playlist_assets import settings
from playlist_assets.defs.partitions import hourly_partitions

pytestmark = pytest.mark.service

REPO = Path(__file__).resolve().parents[2]
SERVE = ["bash", str(REPO / "scripts" / "serve.sh")]
# A 48-hour backfill; then one-hour runs queued at once (each is a process start: ~13 s of a
# quiet 2-core machine, so 48 of them would add 10 minutes to CI). Both can be set.
HOURS = int(os.environ.get("SERVICE_TEST_HOURS", "48"))
QUEUED_RUNS = int(os.environ.get("SERVICE_TEST_QUEUED_RUNS", "8"))
FEED_JOB = "hourly_feed_job"
RUNS_AT_ONCE = 4
SENSOR = "drift_retraining_sensor"
REGISTERED_MODEL = "playlist_genre_classifier"
# A DuckDB lock conflict, as DuckDB words it ("Could not set lock on file ... Conflicting lock").
LOCK_ERROR = "Conflicting lock"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SERVE, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


def _processes_using(data_home: Path) -> list[int]:
    """Pids of every process whose environment points at this data folder (runs included)."""
    needle = f"{settings.DATA_HOME_ENV}={data_home}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if needle in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def service() -> Iterator[dict]:
    # Not under pytest's tmp folder (mode 700): the postgres user must reach its data dir.
    root = Path(tempfile.mkdtemp(prefix="playlist-service-"))
    root.chmod(0o755)
    data = root / "data"
    data.mkdir()
    ports = {
        name: _free_port()
        for name in ("DAGSTER_PORT", "CODE_SERVER_PORT", "MLFLOW_PORT", "POSTGRES_PORT")
    }
    env = {**os.environ, settings.DATA_HOME_ENV: str(data), **{k: str(v) for k, v in ports.items()}}
    env.pop(settings.MLFLOW_URI_ENV, None)
    started = time.monotonic()
    result = _serve(env, "start")
    info = {"env": env, "data": data, "ports": ports, "start_s": time.monotonic() - started}
    try:
        assert result.returncode == 0, result.stderr + result.stdout
        info["start_stdout"] = result.stdout
        yield info
    finally:
        stop = _serve(env, "stop", timeout=300)
        info["stop"] = stop
        info["left_running"] = _processes_using(data)
        if not info["left_running"]:
            shutil.rmtree(root, ignore_errors=True)


def test_service_profile_end_to_end(service: dict) -> None:
    env, data, ports = service["env"], service["data"], service["ports"]
    timings = {"profile start": service["start_s"]}

    # A health line per service.
    for name in ("postgres", "code-server", "mlflow", "webserver", "daemon"):
        line = next(x for x in service["start_stdout"].splitlines() if x.startswith(name))
        assert "NOT" not in line and "pid" in line, line

    # A second start says so and starts nothing.
    pids = {p.name: p.read_text() for p in (data / "service" / "run").glob("*.pid")}
    again = _serve(env, "start", timeout=120)
    assert again.returncode != 0 and "already running" in again.stderr, again.stderr
    assert {p.name: p.read_text() for p in (data / "service" / "run").glob("*.pid")} == pids

    # A Postgres that refuses the password: one line naming the service and the setting.
    other = {**env, settings.DATA_HOME_ENV: str(data.parent / "other")}
    other.update(dict.fromkeys(("DAGSTER_PORT", "CODE_SERVER_PORT", "MLFLOW_PORT"), "0"))
    other["DATABASE_URL"] = (
        f"postgresql://playlist:wrong@127.0.0.1:{ports['POSTGRES_PORT']}/dagster"
    )
    refused = _serve(other, "start", timeout=120)
    assert refused.returncode != 0
    assert refused.stderr.strip().count("\n") == 0, refused.stderr
    assert "postgres" in refused.stderr and "password" in refused.stderr
    assert "DATABASE_URL" in refused.stderr and "wrong" not in refused.stderr

    client = gql.connect(ports["DAGSTER_PORT"])
    assert gql.healthy(client)[0], gql.healthy(client)[1]

    # The whole unpartitioned graph, through the webserver.
    t0 = time.monotonic()
    run_id = gql.materialize(client, gql.unpartitioned_assets(client))
    assert gql.wait_run(client, run_id, timeout=1800) == "SUCCESS"
    timings["unpartitioned graph"] = time.monotonic() - t0

    # 48 hours of the feed as the UI backfills them (runs chunked by the assets' backfill policy),
    # then the next hours as one-hour runs queued at once, as the hourly schedule catches up, at
    # most 4 running. The daemon dies half-way through the queue.
    keys = hourly_partitions.get_partition_keys()[: HOURS + QUEUED_RUNS]
    backfilled, queued = keys[:HOURS], keys[HOURS:]
    t0 = time.monotonic()
    backfill = gql.launch_job_backfill(client, FEED_JOB, backfilled)
    backfill_runs = gql.wait_backfill(client, backfill, runs=1, timeout=1800)
    timings[f"{HOURS}-hour backfill ({len(backfill_runs)} run(s))"] = time.monotonic() - t0
    assert gql.runs_by_status(backfill_runs) == {"SUCCESS": len(backfill_runs)}

    t0 = time.monotonic()
    run_ids = [gql.materialize_partition(client, FEED_JOB, key) for key in queued]
    most_at_once = 0
    while True:
        counts = gql.runs_by_status(gql.runs_of(client, run_ids))
        most_at_once = max(most_at_once, counts["STARTED"] + counts["STARTING"])
        if counts["SUCCESS"] >= QUEUED_RUNS // 2:
            break
        assert time.monotonic() - t0 < 3600, f"queue stalled: {counts}"
        time.sleep(2)
    cursor_before = gql.sensor(client, SENSOR).cursor
    daemon_pid = int((data / "service" / "run" / "daemon.pid").read_text())
    os.killpg(daemon_pid, signal.SIGKILL)
    killed_at = time.time()
    restarted = _serve(env, "restart", "daemon", timeout=600)
    assert restarted.returncode == 0, restarted.stderr
    runs = gql.wait_runs(client, run_ids, timeout=3600)
    timings[f"{QUEUED_RUNS} one-hour runs, {RUNS_AT_ONCE} at once"] = time.monotonic() - t0

    assert gql.runs_by_status(runs) == {"SUCCESS": QUEUED_RUNS}, gql.runs_by_status(runs)
    # The queue never starts more than the limit. (It often starts fewer: a run whose steps
    # all wait for the single "duckdb" pool slot stays queued instead of idling in a process.)
    assert most_at_once <= RUNS_AT_ONCE, most_at_once
    timings["most runs in progress at once"] = most_at_once
    for asset in ("new_tracks", "feature_drift"):
        per_partition = gql.materializations_per_partition(client, asset)
        assert {p: per_partition[p] for p in keys} == dict.fromkeys(keys, 1), asset

    # No step met the DuckDB lock, not even one a retry hid.
    assert not _event_log_mentions(env, LOCK_ERROR)

    # The sensor ticks again after the restart and carries on from its cursor.
    deadline = time.monotonic() + 300
    while not any(t > killed_at for t in gql.sensor(client, SENSOR).tick_times):
        assert time.monotonic() < deadline, "the drift sensor never ticked after the restart"
        time.sleep(5)
    after = gql.sensor(client, SENSOR).cursor
    before_id = json.loads(cursor_before or "{}").get("after_storage_id") or 0
    after_id = json.loads(after)["after_storage_id"]
    assert after_id is not None and after_id >= before_id, (cursor_before, after)

    # MLflow: runs FINISHED on the server, the champion alias set there, artifacts it serves.
    # (A retrain the drift sensor requested may still be queued or running: let it finish.)
    gql.wait_idle(client, timeout=1800)
    from mlflow import MlflowClient

    ml = MlflowClient(tracking_uri=f"http://127.0.0.1:{ports['MLFLOW_PORT']}")
    experiment = ml.get_experiment_by_name("playlist_assets")
    mlflow_runs = ml.search_runs([experiment.experiment_id])
    assert mlflow_runs and {r.info.status for r in mlflow_runs} == {"FINISHED"}
    champion = ml.get_model_version_by_alias(REGISTERED_MODEL, "champion")
    assert champion.version
    assert any((data / "service" / "mlflow_artifacts").rglob("*")), "no artifact on the server"

    print("\n".join(f"service: {k}: {v:.1f}" for k, v in timings.items()))


def _event_log_mentions(env: dict[str, str], text: str) -> int:
    import psycopg2

    data = Path(env[settings.DATA_HOME_ENV])
    password = (data / "service" / "postgres.password").read_text().strip()
    with (
        psycopg2.connect(
            host="127.0.0.1",
            port=int(env["POSTGRES_PORT"]),
            user="playlist",
            password=password,
            dbname="dagster",
        ) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT count(*) FROM event_logs WHERE event LIKE %s", (f"%{text}%",))
        return cur.fetchone()[0]


def test_stop_leaves_nothing_running(service: dict) -> None:
    """Runs last in this module: stops the profile and looks for any process left behind."""
    env, data = service["env"], service["data"]
    stop = _serve(env, "stop", timeout=300)
    assert stop.returncode == 0, stop.stderr
    assert not _processes_using(data)
    for port in service["ports"].values():
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
    status = _serve(env, "status", timeout=60)
    assert "pid" not in status.stdout, status.stdout
