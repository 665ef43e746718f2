"""What a run waiting for the ``duckdb`` slot costs, and what one recovery pass costs.

1. CPU used by a run blocked on the pool for a fixed time: Dagster 1.13's in-process executor
   as shipped (its wait loop never sleeps) against the same executor with
   ``playlist_assets.defs.recovery.sleep_while_blocked``. The slot is held by a STARTED run
   whose recorded process (this one) is alive, as during a long materialization.
2. Wall time of one ``recover_orphaned_runs`` pass (what every run now does before its steps)
   on an instance holding a few hundred finished runs and one orphan.

    .venv/bin/python benchmarks/bench_recovery.py [--seconds 10] [--runs 300]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

REPO = Path(__file__).resolve().parents[1]


@dg.op(pool="duckdb")
def needs_the_slot() -> None:
    """Stands for any step in the duckdb pool."""


@dg.job(executor_def=dg.in_process_executor)
def blocked_job() -> None:
    needs_the_slot()


def _hold_slot(instance: dg.DagsterInstance, pid: int) -> str:
    from dagster._core.events import EngineEventData
    from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
    from dagster._core.utils import make_new_run_id

    run = instance.add_run(
        DagsterRun(job_name="holder", run_id=make_new_run_id(), status=DagsterRunStatus.STARTED)
    )
    instance.report_engine_event("holder", run, EngineEventData.in_process(pid))
    instance.event_log_storage.set_concurrency_slots("duckdb", 1)
    assert instance.event_log_storage.claim_concurrency_slot("duckdb", run.run_id, "x").is_claimed
    return run.run_id


def _child(patched: bool) -> None:
    """Execute ``blocked_job`` (it blocks until killed)."""
    if patched:
        from playlist_assets.defs.recovery import sleep_while_blocked

        sleep_while_blocked()
    with dg.DagsterInstance.get() as instance:
        dg.execute_job(dg.reconstructable(blocked_job), instance=instance)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def blocked_cpu(patched: bool, seconds: float) -> float:
    """CPU seconds per wall second of a run blocked on the pool."""
    home = Path(tempfile.mkdtemp(prefix="bench-recovery-"))
    try:
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
        env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}
        os.environ["DAGSTER_HOME"] = str(home)
        with dg.DagsterInstance.get() as instance:
            _hold_slot(instance, os.getpid())
        log = (home / "child.log").open("w")
        cmd = [sys.executable, __file__, "--child", "patched" if patched else "stock"]
        child = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while "blocked by limit" not in (home / "child.log").read_text():
                if time.monotonic() > deadline or child.poll() is not None:
                    raise RuntimeError((home / "child.log").read_text()[-2000:])
                time.sleep(0.2)
            before, start = _cpu_seconds(child.pid), time.monotonic()
            time.sleep(seconds)
            return (_cpu_seconds(child.pid) - before) / (time.monotonic() - start)
        finally:
            child.kill()
            child.wait()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def recovery_pass(runs: int) -> tuple[float, int]:
    """Seconds of one recovery pass with ``runs`` finished runs and one orphan; runs recovered."""
    from dagster._core.events import EngineEventData
    from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
    from dagster._core.utils import make_new_run_id

    from playlist_assets.run_recovery import recover_orphaned_runs

    home = Path(tempfile.mkdtemp(prefix="bench-recovery-"))
    try:
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
        os.environ["DAGSTER_HOME"] = str(home)
        with dg.DagsterInstance.get() as instance:
            for _ in range(runs):
                instance.add_run(
                    DagsterRun(
                        job_name="old", run_id=make_new_run_id(), status=DagsterRunStatus.SUCCESS
                    )
                )
            gone = subprocess.Popen([sys.executable, "-c", "pass"])
            gone.wait()
            orphan = instance.add_run(
                DagsterRun(
                    job_name="dead", run_id=make_new_run_id(), status=DagsterRunStatus.STARTED
                )
            )
            instance.report_engine_event("x", orphan, EngineEventData.in_process(gone.pid))
            started = time.perf_counter()
            report = recover_orphaned_runs(instance)
            return time.perf_counter() - started, len(report.orphaned)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--child", choices=("stock", "patched"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child == "patched")
        return
    stock = blocked_cpu(False, args.seconds)
    patched = blocked_cpu(True, args.seconds)
    seconds, recovered = recovery_pass(args.runs)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)")
    print("| run blocked on the duckdb pool | CPU s per wall s |")
    print("| --- | ---: |")
    print(f"| Dagster 1.13 in-process executor as shipped | {stock:.2f} |")
    print(f"| with sleep_while_blocked | {patched:.3f} |")
    print(
        f"\none recovery pass, {args.runs} finished runs + 1 orphan: {seconds:.3f} s "
        f"({recovered} recovered)"
    )


if __name__ == "__main__":
    main()
