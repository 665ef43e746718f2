"""Hourly feed benchmark: one partition, a real 168-hour asset backfill, and the old way.

Everything runs on a throw-away DAGSTER_HOME (the project's dagster.yaml: SQLite storage, pool
"duckdb" limited to one step, at most 4 runs at once) and data folder, with the replay feed:

1. one partition via ``dagster asset materialize --partition`` (multiprocess executor): CLI wall
   time, and the step times inside the run (what our code costs beyond Dagster's start-up);
   then the same hour again: the stored rows must be identical;
2. ours: a real asset backfill of 168 hours submitted to the instance and executed by
   ``dagster-daemon`` (BackfillPolicy.multi_run(24): 7 runs);
3. the old way: ``dagster job backfill`` over one day (24 hours, one run per hour, what a
   partitioned job without a backfill policy does), extrapolated to 168 hours.

Then: no DuckDB lock error in any run, 168 x tracks_per_hour rows, no duplicates.

    .venv/bin/python benchmarks/bench_feed.py [--hours 168] [--old-hours 24] [--write]

This file is also the code location the runs load (``defs`` below): ``new_tracks``, the quality
checks on it when the checks module provides them, and the project's resources.
"""

import argparse
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))  # the daemon loads this file as a code location

from backfills import submit_asset_backfill, wait_for_backfill  # noqa: E402

from playlist_assets.defs.feed import new_tracks  # noqa: E402
from playlist_assets.defs.partitions import hourly_partitions  # noqa: E402
from playlist_assets.defs.resources import build_resources  # noqa: E402

BENCH_JOB = "bench_feed_job"
FIRST_HOUR = "2026-11-18-00:00"  # a fixed week, so runs are comparable
ONE_HOUR = "2026-11-17-12:00"
CHECKS_PROBLEM: list[str] = []
CHECKS_ENV = "BENCH_FEED_CHECKS"  # "0": the code location leaves the checks out


def _checks_on_new_tracks() -> tuple[list, dict]:
    """The quality gate's checks on new_tracks (and their resources), if that module exists."""
    if os.environ.get(CHECKS_ENV) == "0":
        CHECKS_PROBLEM.append("--no-checks")
        return [], {}
    try:
        from playlist_assets.defs import checks as checks_module
    except Exception as exc:  # absent, or mid-edit: measure the feed alone and say so
        CHECKS_PROBLEM.append(f"{type(exc).__name__}: {str(exc)[:120]}")
        return [], {}
    family = checks_module.defs
    checks = [
        c
        for c in (family.asset_checks or [])
        if any(k.asset_key == dg.AssetKey("new_tracks") for k in c.check_keys)
    ]
    return checks, dict(family.resources or {})


def _bench_defs() -> dg.Definitions:
    checks, check_resources = _checks_on_new_tracks()
    job = dg.define_asset_job(
        BENCH_JOB,
        selection=dg.AssetSelection.assets("new_tracks"),
    )
    return dg.Definitions(
        assets=[new_tracks],
        asset_checks=checks,
        jobs=[job],
        resources={**check_resources, **build_resources()},
    )


defs = _bench_defs()


# ------------------------------------------------------------------------------------------
# The driver.


def _env(home: Path, data: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DAGSTER_HOME=str(home),
        PLAYLIST_ASSETS_HOME=str(data),
        GX_ANALYTICS_ENABLED="false",
        PYTHONWARNINGS="ignore",
    )
    return env


def _cli(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [str(ROOT / ".venv/bin/dagster"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"dagster {' '.join(args)} failed:\n{done.stderr[-4000:]}")
    return time.perf_counter() - started


def _table_digest(data: Path, hour: str | None = None) -> tuple[int, int, str]:
    """(rows, distinct (hour, track) pairs, digest of the rows) of main.new_tracks."""
    import duckdb

    where = ""
    if hour:
        start = hourly_partitions.time_window_for_partition_key(hour).start
        where = f"where partition_hour = '{start:%Y-%m-%d %H:%M:%S}'"
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as conn:
        frame = conn.execute(
            f"select * from main.new_tracks {where} order by partition_hour, track_id"
        ).fetchdf()
        distinct = conn.execute(
            f"select count(*) from (select distinct partition_hour, track_id from main.new_tracks {where})"
        ).fetchone()[0]
    digest = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()[:16]
    return len(frame), int(distinct), digest


def _step_seconds(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    return {
        s.step_key: (s.end_time or 0) - (s.start_time or 0)
        for s in instance.get_run_step_stats(run_id)
    }


def _last_end(instance: dg.DagsterInstance, runs) -> float:
    return max(instance.get_run_stats(r.run_id).end_time or 0 for r in runs)


def _latest_run(instance: dg.DagsterInstance) -> dg.DagsterRun:
    return instance.get_runs(limit=1)[0]


def _wait_runs(instance: dg.DagsterInstance, tags: dict[str, str], expected: int, timeout: float):
    from dagster._core.storage.dagster_run import FINISHED_STATUSES, RunsFilter

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = instance.get_runs(filters=RunsFilter(tags=tags))
        if len(runs) >= expected and all(r.status in FINISHED_STATUSES for r in runs):
            return runs
        time.sleep(0.5)
    raise TimeoutError(f"runs tagged {tags} did not finish within {timeout:.0f} s")


def _lock_errors(instance: dg.DagsterInstance, runs) -> int:
    count = 0
    for run in runs:
        for record in instance.all_logs(run.run_id):
            text = (record.user_message or "") + str(getattr(record, "dagster_event", "") or "")
            if "Could not set lock" in text or "Conflicting lock" in text:
                count += 1
    return count


def _wait_daemon_ready(instance: dg.DagsterInstance, timeout: float) -> None:
    """Until the backfill daemon and the run queue have both reported once (start-up excluded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        beats = instance.get_daemon_heartbeats()
        if {"BACKFILL", "QUEUED_RUN_COORDINATOR"} <= set(beats):
            return
        time.sleep(0.5)
    raise TimeoutError(f"dagster-daemon did not start within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=168)
    parser.add_argument("--old-hours", type=int, default=24, help="0 skips the old way")
    parser.add_argument("--no-checks", action="store_true", help="measure the feed alone")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--write", action="store_true", help="write benchmarks/results/feed.md")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_feed_"))
    home, data = tmp / "dagster_home", tmp / "data"
    home.mkdir()
    data.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    if args.no_checks:
        os.environ[CHECKS_ENV] = "0"
    env = _env(home, data)
    os.environ.update(DAGSTER_HOME=str(home), PLAYLIST_ASSETS_HOME=str(data))
    # The sample is written once up front (first use would otherwise pay for it).
    from playlist_assets import settings
    from playlist_assets.lib.sample_data.generate import ensure_sample

    ensure_sample(settings.sample_dir())
    target = ["-f", str(Path(__file__).resolve()), "-a", "defs"]
    instance = dg.DagsterInstance.get()
    rows: list[tuple[str, str, str]] = []
    daemon = None
    try:
        # 1. One partition, twice.
        first_wall = _cli(
            env, "asset", "materialize", *target, "--select", "*", "--partition", ONE_HOUR
        )
        first_run = _latest_run(instance)
        steps = _step_seconds(instance, first_run.run_id)
        stats = instance.get_run_stats(first_run.run_id)
        first_rows = _table_digest(data, ONE_HOUR)
        second_wall = _cli(
            env, "asset", "materialize", *target, "--select", "*", "--partition", ONE_HOUR
        )
        second_rows = _table_digest(data, ONE_HOUR)
        feed_step = steps.get("new_tracks", float("nan"))
        check_steps = sum(v for k, v in steps.items() if k != "new_tracks")
        run_seconds = (stats.end_time or 0) - (stats.start_time or 0)
        rows += [
            (
                "one partition: CLI wall (process start, load, run)",
                f"{first_wall:.2f} s",
                f"re-run {second_wall:.2f} s",
            ),
            ("one partition: run start to end", f"{run_seconds:.2f} s", "multiprocess executor"),
            (
                "one partition: new_tracks step",
                f"{feed_step:.2f} s",
                "feed + DuckDB write, in its step process",
            ),
            (
                "one partition: check steps",
                f"{check_steps:.2f} s",
                f"{len(steps) - 1} check step(s)",
            ),
            (
                "re-run of the hour gives the same rows",
                str(first_rows == second_rows),
                f"{first_rows[0]} rows, sha {first_rows[2]}",
            ),
        ]

        # 2. Ours: a real asset backfill through the daemon.
        daemon = subprocess.Popen(
            [str(ROOT / ".venv/bin/dagster-daemon"), "run", *target],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp / "daemon.log").open("w"),
            start_new_session=True,
        )
        _wait_daemon_ready(instance, timeout=300)
        keys = hourly_partitions.get_partition_keys_in_range(
            dg.PartitionKeyRange(FIRST_HOUR, _key_after(FIRST_HOUR, args.hours - 1))
        )
        started, submitted_at = time.perf_counter(), time.time()
        backfill_id = submit_asset_backfill(instance, defs, keys, ["new_tracks"], "bench_feed")
        status = wait_for_backfill(instance, backfill_id, timeout_s=900)
        ours = time.perf_counter() - started
        our_runs = instance.get_runs(filters=_runs_filter({"dagster/backfill": backfill_id}))
        total, distinct, _ = _table_digest(data)
        lock_errors = _lock_errors(instance, our_runs)
        failed = [r for r in our_runs if r.status != dg.DagsterRunStatus.SUCCESS]
        step_totals: dict[str, float] = {}
        for run in our_runs:
            for step, seconds in _step_seconds(instance, run.run_id).items():
                step_totals[step] = step_totals.get(step, 0.0) + seconds
        rows += [
            (
                f"ours: asset backfill, {len(keys)} hours",
                f"{ours:.1f} s",
                f"{len(our_runs)} runs, status {status}",
            ),
            (
                "  rows stored / distinct (hour, track)",
                f"{total} / {distinct}",
                f"expected {len(keys) + 1} hours x 40",
            ),
            (
                "  submission to the last run's end",
                f"{_last_end(instance, our_runs) - submitted_at:.1f} s",
                "the rest is the daemon noticing the backfill is done",
            ),
            ("  failed runs / DuckDB lock errors", f"{len(failed)} / {lock_errors}", ""),
        ] + [
            (f"  step {step} (all runs)", f"{seconds:.1f} s", "")
            for step, seconds in sorted(step_totals.items())
        ]

        # 3. The old way: one run per hour.
        if args.old_hours:
            old_keys = hourly_partitions.get_partition_keys_in_range(
                dg.PartitionKeyRange(
                    "2026-11-10-00:00", _key_after("2026-11-10-00:00", args.old_hours - 1)
                )
            )
            started = time.perf_counter()
            _cli(
                env, "job", "backfill", *target, "-j", BENCH_JOB, "--noprompt",
                "--from", old_keys[0], "--to", old_keys[-1],
            )  # fmt: skip
            old_runs = _wait_runs(
                instance,
                {"dagster/partition_set": f"{BENCH_JOB}_partition_set"},
                len(old_keys),
                timeout=1800,
            )
            old = time.perf_counter() - started
            old_failed = [r for r in old_runs if r.status != dg.DagsterRunStatus.SUCCESS]
            per_hour = old / len(old_keys)
            rows += [
                (f"old way: one run per hour, {len(old_keys)} hours", f"{old:.1f} s", f"{len(old_failed)} failed, {_lock_errors(instance, old_runs)} lock errors"),
                (f"old way extrapolated to {len(keys)} hours", f"{per_hour * len(keys):.0f} s", f"ours is {per_hour * len(keys) / ours:.1f}x faster"),
            ]  # fmt: skip
    finally:
        if daemon is not None:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rows.append(("peak RSS of the largest child process", f"{peak:.0f} MB", "ru_maxrss"))
    rows.append(
        (
            "load average (1, 5, 15 min) at the end",
            ", ".join(f"{v:.1f}" for v in os.getloadavg()),
            f"{os.cpu_count()} cores, shared",
        )
    )
    table = _markdown(rows)
    print(table)
    if args.write:
        _write_results(table, args)


def _runs_filter(tags: dict[str, str]):
    from dagster._core.storage.dagster_run import RunsFilter

    return RunsFilter(tags=tags)


def _key_after(key: str, hours: int) -> str:
    start = hourly_partitions.time_window_for_partition_key(key).start
    return hourly_partitions.get_partition_key_for_timestamp(start.timestamp() + 3600 * hours)


def _markdown(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| measure | value | notes |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def _write_results(table: str, args: argparse.Namespace) -> None:
    """Replace this mode's section of benchmarks/results/feed.md, keeping every other one."""
    out = ROOT / "benchmarks" / "results" / "feed.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = (
        f".venv/bin/python benchmarks/bench_feed.py --hours {args.hours} "
        f"--old-hours {args.old_hours}{' --no-checks' if args.no_checks else ''} --write"
    )
    title = "## Feed alone (--no-checks)" if args.no_checks else "## Feed + quality checks"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    section = f"{title}\n\nCommand: `{command}` ({when}).\n\n{table}\n"
    header = "# Hourly feed (`new_tracks`)\n\n" + (__doc__ or "").split("\n\n")[0] + "\n"
    sections: dict[str, str] = {}
    if out.exists():
        for chunk in out.read_text().split("\n## ")[1:]:
            sections["## " + chunk.split("\n", 1)[0]] = "## " + chunk.rstrip() + "\n"
    sections[title] = section  # other sections (e.g. hand-written notes) stay as they are
    out.write_text(header + "\n" + "\n".join(sections.values()))


if __name__ == "__main__":
    main()
