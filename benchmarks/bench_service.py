"""The service profile vs ``dagster dev`` + SQLite on the same work, driven through GraphQL.

Work (as the service end-to-end test does it): the whole unpartitioned graph in one run, a 48-hour
backfill of ``hourly_feed_job`` (runs chunked by the assets' backfill policy), then 48 one-hour
runs of it queued at once (at most 4 running; both instances allow 4). Each shape starts in a fresh
data folder; the script prints start time, graph time and backfill time per shape.

    .venv/bin/python benchmarks/bench_service.py [--hours 48] [--only sqlite|postgres]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "playlist_assets_tests" / "service"))

import graphql_driver as gql  # noqa: E402

from playlist_assets.defs.partitions import hourly_partitions  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(port: int, proc: subprocess.Popen | None, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("dagster dev exited during start")
        try:
            if gql.healthy(gql.connect(port))[0]:
                return
        except Exception:
            pass
        time.sleep(2)
    raise TimeoutError("not healthy")


def _work(port: int, hours: int) -> dict[str, float]:
    client = gql.connect(port)
    times = {}
    t0 = time.monotonic()
    run_id = gql.materialize(client, gql.unpartitioned_assets(client))
    assert gql.wait_run(client, run_id, timeout=3600) == "SUCCESS"
    times["unpartitioned graph"] = time.monotonic() - t0
    keys = hourly_partitions.get_partition_keys()[: 2 * hours]
    t0 = time.monotonic()
    backfill = gql.launch_job_backfill(client, "hourly_feed_job", keys[:hours])
    runs = gql.wait_backfill(client, backfill, runs=1, timeout=7200)
    times[f"{hours}-hour backfill ({len(runs)} run(s))"] = time.monotonic() - t0
    assert gql.runs_by_status(runs) == {"SUCCESS": len(runs)}, gql.runs_by_status(runs)
    t0 = time.monotonic()
    run_ids = [gql.materialize_partition(client, "hourly_feed_job", k) for k in keys[hours:]]
    runs = gql.wait_runs(client, run_ids, timeout=7200)
    times[f"{hours} one-hour runs (4 at once)"] = time.monotonic() - t0
    assert gql.runs_by_status(runs) == {"SUCCESS": hours}, gql.runs_by_status(runs)
    return times


def sqlite_shape(root: Path, hours: int) -> dict[str, float]:
    data = root / "sqlite"
    home = data / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = {**os.environ, "PLAYLIST_ASSETS_HOME": str(data), "DAGSTER_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    cmd = [str(REPO / ".venv/bin/dagster"), "dev", "-w", str(REPO / "workspace.yaml")]
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [*cmd, "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        cwd=data,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_healthy(port, proc)
        times = {"start": time.monotonic() - t0, **_work(port, hours)}
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=120)
    return times


def postgres_shape(root: Path, hours: int) -> dict[str, float]:
    data = root / "postgres"
    data.mkdir()
    names = (
        "DAGSTER_PORT",
        "VIEW_PORT",
        "CODE_SERVER_PORT",
        "MLFLOW_PORT",
        "DASHBOARD_PORT",
        "PROXY_PORT",
    )
    ports = {k: str(_free_port()) for k in names}
    ports["POSTGRES_PORT"] = str(_free_port())
    env = {**os.environ, "PLAYLIST_ASSETS_HOME": str(data), **ports}
    env.pop("MLFLOW_TRACKING_URI", None)
    serve = ["bash", str(REPO / "scripts" / "serve.sh")]
    t0 = time.monotonic()
    subprocess.run([*serve, "start"], env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        times = {"start": time.monotonic() - t0, **_work(int(ports["DAGSTER_PORT"]), hours)}
    finally:
        subprocess.run([*serve, "stop"], env=env, check=True, stdout=subprocess.DEVNULL)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-service-"))
    root.chmod(0o755)  # the postgres user reaches its data dir under here
    results = {}
    try:
        if args.only in (None, "sqlite"):
            results["dagster dev + SQLite"] = sqlite_shape(root, args.hours)
        if args.only in (None, "postgres"):
            results["serve.sh (Postgres, 3 processes)"] = postgres_shape(root, args.hours)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    steps = list(next(iter(results.values())))
    print("| step | " + " | ".join(results) + " |")
    print("| --- |" + " ---: |" * len(results))
    for step in steps:
        print(f"| {step} | " + " | ".join(f"{r[step]:.1f} s" for r in results.values()) + " |")


if __name__ == "__main__":
    main()
