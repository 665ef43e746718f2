"""A year of hourly operation: does the hourly cost, the retrain and the storage stay flat?

Grows the history of ``new_tracks`` + ``feature_drift`` to 24, 168, 720, 2,160 and 8,760 hours as
asset backfills processed by a real ``dagster-daemon`` (the partitions' start is moved back so the
whole year lies in the past), and at each size measures:

- the hourly tick: one more hour materialized by ``dagster asset materialize`` (wall and CPU);
- the retrain: ``retraining_job`` (wall, per-step seconds from the event log, peak RSS);
- one evaluation of ``drift_retraining_sensor`` from its cursor (one new hour), after the ticks
  that catch up on the backlog from no cursor (``max_events_per_tick`` events each);
- warehouse size, Dagster instance storage size and its file count.

    .venv/bin/python benchmarks/bench_year.py            # the year (under 30 min here)
    .venv/bin/python benchmarks/bench_year.py --quick    # 24 and 168 hours
    PLAYLIST_REPLAY_MODE=fresh .venv/bin/python benchmarks/bench_year.py  # a growing songs base

Every measured command runs in its own process under ``/usr/bin/time`` so peak memory is the
command's own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

from backfills import submit_asset_backfill, wait_for_backfill

from playlist_assets.settings import UNPARTITIONED_SELECTION

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MODULE = "playlist_assets.definitions"
FEED_KEYS = ("new_tracks", "feature_drift")
FULL_SIZES = (24, 168, 720, 2160, 8760)
QUICK_SIZES = (24, 168)


def timed(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
    """Run ``cmd`` under /usr/bin/time; wall seconds, CPU seconds and peak RSS (MiB)."""
    stats = log.with_suffix(".time")
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(stats), *cmd],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}; see {log}")
    _, user, system, max_kb = stats.read_text().split()[-4:]
    return {"wall_s": wall, "cpu_s": float(user) + float(system), "peak_mib": int(max_kb) / 1024}


def folder_size(path: Path) -> tuple[int, int]:
    """(bytes, files) of ``path``, a file or a folder."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def hour_keys(start: datetime, first: int, last: int) -> list[str]:
    return [(start + timedelta(hours=h)).strftime("%Y-%m-%d-%H:%M") for h in range(first, last)]


def wait_until_done(backfill_id: str, timeout_s: float) -> None:
    """Until the daemon has run the backfill; every one of its runs must have succeeded."""
    import dagster as dg

    instance = dg.DagsterInstance.get()
    status = wait_for_backfill(instance, backfill_id, timeout_s)
    runs = instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    failed = [r for r in runs if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS]
    if status not in ("COMPLETED", "COMPLETED_SUCCESS") or failed:
        raise SystemExit(f"backfill {backfill_id} ended {status}; {len(failed)} runs failed")


def wait_until_idle(timeout_s: float = 600) -> None:
    """Wait for the daemon's own runs (a sensor's retrain, the dashboard refresh) to end, so they
    do not share the machine with what is measured next."""
    import dagster as dg
    from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES

    instance = dg.DagsterInstance.get()
    deadline = time.monotonic() + timeout_s
    while instance.get_runs(filters=dg.RunsFilter(statuses=NOT_FINISHED_STATUSES), limit=1):
        if time.monotonic() > deadline:
            raise SystemExit(f"runs still active after {timeout_s:.0f} s")
        time.sleep(2)


def step_seconds(run_id: str) -> dict[str, float]:
    import dagster as dg

    instance = dg.DagsterInstance.get()
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS).records
    return {
        r.event_log_entry.step_key: r.event_log_entry.dagster_event.event_specific_data.duration_ms
        / 1000
        for r in records
    }


def latest_manual_retrain_id() -> str:
    """The newest retraining_job run this script launched (the daemon's sensor may launch its own,
    tagged with the sensor's name)."""
    import dagster as dg

    records = dg.DagsterInstance.get().get_run_records(
        dg.RunsFilter(job_name="retraining_job"), limit=10
    )
    return next(
        r.dagster_run.run_id for r in records if "dagster/sensor_name" not in r.dagster_run.tags
    )


def sensor_tick(cursor: str | None) -> tuple[float, str | None]:
    """One evaluation of the drift sensor from ``cursor`` (seconds, the cursor it leaves), with
    the resources the code location gives it. Nothing is launched: the result is discarded."""
    import dagster as dg

    from playlist_assets.definitions import defs

    with warnings.catch_warnings():  # "will not resolve resources": they are passed below
        warnings.simplefilter("ignore", UserWarning)
        sensor = defs.get_sensor_def("drift_retraining_sensor")
    resources = {key: defs.resources[key] for key in sensor.required_resource_keys}
    instance = dg.DagsterInstance.get()
    started = time.perf_counter()
    with dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor) as context:
        result = sensor.evaluate_tick(context)
    return time.perf_counter() - started, result.cursor


def catch_up() -> tuple[float, int, str | None]:
    """Drift-sensor ticks from no cursor until one reads nothing new: seconds, ticks, cursor."""
    total, ticks, cursor = 0.0, 0, None
    while True:
        seconds, after = sensor_tick(cursor)
        total, ticks = total + seconds, ticks + 1
        if after == cursor:
            return total, ticks, cursor
        cursor = after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="24 and 168 hours only")
    parser.add_argument("--sizes", default=None, help="comma-separated history sizes in hours")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--timeout", type=float, default=3600, help="per backfill, seconds")
    args = parser.parse_args()
    sizes = (
        tuple(int(s) for s in args.sizes.split(","))
        if args.sizes
        else (QUICK_SIZES if args.quick else FULL_SIZES)
    )

    scratch = Path(tempfile.mkdtemp(prefix="bench_year_"))
    home, dagster_home, logs = scratch / "data", scratch / "dagster_home", scratch / "logs"
    for folder in (home, dagster_home, logs):
        folder.mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    now_hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    start = now_hour - timedelta(hours=max(sizes) + 2)
    env = {
        **os.environ,
        "PLAYLIST_ASSETS_HOME": str(home),
        "DAGSTER_HOME": str(dagster_home),
        "PLAYLIST_PARTITIONS_START": start.strftime("%Y-%m-%d-%H:%M"),
        "GX_ANALYTICS_ENABLED": "false",
    }
    os.environ.update(env)
    import dagster as dg  # after the environment: the partitions' start is read at import

    from playlist_assets.definitions import defs

    dagster = str(VENV_BIN / "dagster")
    print(f"scratch: {scratch}; partitions start {env['PLAYLIST_PARTITIONS_START']}", flush=True)

    def materialize(select: str, log: str, *extra: str) -> dict[str, float]:
        command = [dagster, "asset", "materialize", "-m", MODULE, "--select", select, *extra]
        return timed(command, env, logs / log)

    base = materialize(UNPARTITIONED_SELECTION, "graph.log")
    print(f"whole unpartitioned graph: {base['wall_s']:.1f} s", flush=True)

    daemon_log = (logs / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(VENV_BIN / "dagster-daemon"), "run", "-m", MODULE],
        env=env,
        cwd=REPO,
        stdout=daemon_log,
        stderr=subprocess.STDOUT,
    )
    rows = []
    done = 0
    try:
        for size in sizes:
            started = time.perf_counter()
            backfill_id = submit_asset_backfill(
                dg.DagsterInstance.get(),
                defs,
                hour_keys(start, done, size),
                FEED_KEYS,
                "bench_year",
            )
            wait_until_done(backfill_id, args.timeout)
            backfill_s = time.perf_counter() - started
            done = size
            # A deployment's first ticks read the backlog (max_events_per_tick each); the hourly
            # one reads from its cursor: one new hour.
            catch_up_s, catch_up_ticks, cursor = catch_up()
            wait_until_idle()
            tick = materialize(
                " or ".join(f"key:{k}" for k in FEED_KEYS),
                f"tick_{size}.log",
                "--partition",
                hour_keys(start, size, size + 1)[0],
            )
            sensor_s, _ = sensor_tick(cursor)
            wait_until_idle()
            retrain = timed(
                [dagster, "job", "execute", "-m", MODULE, "-j", "retraining_job"],
                env,
                logs / f"retrain_{size}.log",
            )
            steps = step_seconds(latest_manual_retrain_id())
            warehouse_bytes, _ = folder_size(home / "warehouse.duckdb")
            instance_bytes, instance_files = folder_size(dagster_home)
            row = {
                "hours": size,
                "backfill_s": backfill_s,
                "tick_wall_s": tick["wall_s"],
                "tick_cpu_s": tick["cpu_s"],
                "retrain_wall_s": retrain["wall_s"],
                "retrain_peak_mib": retrain["peak_mib"],
                "retrain_steps_s": steps,
                "sensor_tick_s": sensor_s,
                "sensor_catch_up_s": catch_up_s,
                "sensor_catch_up_ticks": catch_up_ticks,
                "warehouse_mib": warehouse_bytes / 2**20,
                "instance_mib": instance_bytes / 2**20,
                "instance_kib_per_hour": instance_bytes / 1024 / (size + 1),
                "instance_files": instance_files,
            }
            rows.append(row)
            print(json.dumps(row, default=float), flush=True)
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
        daemon_log.close()
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    print()
    print(
        "| hours | backfill s | hourly tick wall s | tick CPU s | retrain s | retrain peak MiB "
        "| sensor tick s | sensor catch-up s (ticks) | warehouse MiB | instance MiB | instance KiB/hour "
        "| instance files |"
    )
    print("|" + "---:|" * 12)
    for r in rows:
        print(
            f"| {r['hours']:,} | {r['backfill_s']:.0f} | {r['tick_wall_s']:.1f} | "
            f"{r['tick_cpu_s']:.1f} | {r['retrain_wall_s']:.1f} | {r['retrain_peak_mib']:.0f} | "
            f"{r['sensor_tick_s']:.2f} | {r['sensor_catch_up_s']:.2f} ({r['sensor_catch_up_ticks']}) | "
            f"{r['warehouse_mib']:.1f} | {r['instance_mib']:.1f} | "
            f"{r['instance_kib_per_hour']:.1f} | {r['instance_files']} |"
        )
    print()
    print("retrain steps (s):")
    for r in rows:
        top = sorted(r["retrain_steps_s"].items(), key=lambda kv: -kv[1])[:6]
        print(f"  {r['hours']:,} h: " + ", ".join(f"{k} {v:.1f}" for k, v in top))


if __name__ == "__main__":
    main()
