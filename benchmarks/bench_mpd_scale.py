"""The whole Million Playlist Dataset on one machine: 10,000, 100,000 and 1,000,000 playlists.

The playlists are the generator's full-size MPD (``playlist-assets sample-data --playlists
1000000``, catalogue at 1,000 songs per genre like the Kaggle file); the smaller sizes are its
first 10 and 100 slice files, so the sizes nest. For each size, in a fresh data folder, each step
runs in its own ``dagster asset materialize`` process: ``+song_index`` (the catalogue's chain,
the same at every size), ``playlists``, ``track_cooccurrence``, ``recommendation_eval``. Per step:
wall and CPU seconds (the process and the workers it starts), peak memory (the process tree's
summed RSS, sampled every 0.2 s), and the data folder's size after it. Then serving: loading the
recommender and a request, in one process, and one request through the CLI (process start,
load and answer). The growth exponent of each step between sizes (time ~ size^b).

``--slice-runs K`` also shows the multi-process shape: a real ``dagster-daemon`` runs
``mpd_slices_job`` over the first K slices as a backfill (one run per slice, the queued run
coordinator's 4 runs at most, pool ``mpd_slices`` set to 2), then ``playlists`` only combines.

    nice -n 10 .venv/bin/python benchmarks/bench_mpd_scale.py            # up to 1,000,000
    nice -n 10 .venv/bin/python benchmarks/bench_mpd_scale.py --quick    # up to 100,000
    ... --data /big/disk/mpd_bench   # keep (and reuse) the generated slices there (~6 GB)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MODULE = "playlist_assets.definitions"
SIZES = (10_000, 100_000, 1_000_000)
PER_GENRE = 1_000
# song_index with everything upstream of it but the hourly feed (quarantined_tracks shares a step
# with validated_songs).
CATALOGUE_CHAIN = "(+key:song_index or key:quarantined_tracks) and not tag:cadence=hourly"
STEPS = (
    CATALOGUE_CHAIN,
    "playlists",
    "track_cooccurrence",
    "recommendation_eval",
)


MAX_RSS = float(os.environ.get("BENCH_MAX_RSS_GIB", "14")) * 2**30


def measured(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
    """Run ``cmd``: wall and CPU seconds (with its reaped workers), peak summed RSS of its tree.
    A tree above ``BENCH_MAX_RSS_GIB`` (14) is killed: the machine is shared."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        peak = [0]

        def sample() -> None:
            try:
                root = psutil.Process(proc.pid)
                while proc.poll() is None:
                    tree = [root, *root.children(recursive=True)]
                    total = 0
                    for p in tree:
                        with contextlib.suppress(psutil.Error):
                            total += p.memory_info().rss
                    peak[0] = max(peak[0], total)
                    if total > MAX_RSS:
                        for p in reversed(tree):
                            with contextlib.suppress(psutil.Error):
                                p.kill()
                    time.sleep(0.2)
            except psutil.Error:
                pass

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        sampler.join()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        over = f" (killed above {MAX_RSS / 2**30:.0f} GiB)" if peak[0] > MAX_RSS else ""
        raise SystemExit(f"failed ({code}){over}: {' '.join(cmd)}; see {log}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "peak_mib": peak[0] / 2**20}


def size_of(path: Path) -> int:
    if not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def generate(data: Path, playlists: int, logs: Path) -> dict[str, float] | None:
    """The full-size slices, unless a generation of at least as many (same seed and catalogue)
    is there already: sizes nest, so its first slices are the same."""
    from playlist_assets.lib.sample_data import generate as sd

    dest = data / "generated"
    try:
        have = json.loads((dest / sd.MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        have = {}
    wanted = sd.sample_manifest(42, PER_GENRE, playlists, 150)
    same = {k: v for k, v in have.items() if k not in ("n_playlists", "slices")}
    if have.get("n_playlists", 0) >= playlists and same == {
        k: v for k, v in wanted.items() if k not in ("n_playlists", "slices")
    }:
        print(f"generated slices reused: {dest} ({have['n_playlists']:,} playlists)", flush=True)
        return None
    cmd = [str(VENV_BIN / "playlist-assets"), "sample-data", "--dest", str(dest)]
    cmd += ["--per-genre", str(PER_GENRE), "--playlists", str(playlists)]
    stats = measured(cmd, dict(os.environ), logs / "generate.log")
    stats["gib"] = size_of(dest / sd.MPD_DIR) / 2**30
    return stats


def slices_for(data: Path, n: int) -> Path:
    """A folder of links to the first n/1,000 generated slices."""
    from playlist_assets.lib.sample_data.slices import SLICE_SIZE, slice_file_name

    folder = data / f"slices_{n}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i in range(n // SLICE_SIZE):
        name = slice_file_name(i)
        (folder / name).symlink_to(data / "generated" / "mpd" / name)
    return folder


def environment(home: Path, slices: Path, data: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PLAYLIST_ASSETS_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster_home"),
        PLAYLIST_TRACKS_CSV=str(data / "generated" / "spotify_tracks.csv"),
        PLAYLIST_MPD_PATH=str(slices),
        GX_ANALYTICS_ENABLED="false",
        MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false",
    )
    return env


def run_size(n: int, data: Path, logs: Path) -> dict:
    home = data / f"home_{n}"
    shutil.rmtree(home, ignore_errors=True)
    (home / "dagster_home").mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster_home" / "dagster.yaml")
    env = environment(home, slices_for(data, n), data)
    steps = {}
    for step in STEPS:
        cmd = [str(VENV_BIN / "dagster"), "asset", "materialize", "-m", MODULE, "--select", step]
        name = "song_index" if step == CATALOGUE_CHAIN else step
        log = logs / f"{n}_{name}.log"
        steps[step] = measured(cmd, env, log)
        steps[step]["folder_mib"] = size_of(home) / 2**20
        print(f"  {n:>9,} {name:<20} {steps[step]}", flush=True)
    sizes = {
        "warehouse_mib": size_of(home / "warehouse.duckdb") / 2**20,
        "slices_mib": size_of(home / "playlist_slices") / 2**20,
        "cooccurrence_mib": size_of(home / "models" / "track_cooccurrence") / 2**20,
    }
    return {"steps": steps, "sizes": sizes, "serving": serving(home, env, logs / f"{n}_serve")}


_SERVE = """
import json, statistics, sys, time
import duckdb
from playlist_assets.lib.recommend.load import load_recommender
t = time.perf_counter()
rec = load_recommender()
load_s = time.perf_counter() - t
with duckdb.connect(sys.argv[1], read_only=True) as con:
    pids = [r[0] for r in con.execute(
        "SELECT pid FROM main.playlist_info ORDER BY hash(pid) LIMIT 20").fetchall()]
    lists = [[r[0] for r in con.execute(
        "SELECT track_id FROM main.playlists WHERE pid = ? ORDER BY pos", [p]).fetchall()]
        for p in pids]
times = []
for tracks in lists:
    t = time.perf_counter()
    rec.recommend(tracks[: max(1, len(tracks) // 2)], k=20)
    times.append(time.perf_counter() - t)
print(json.dumps({"load_s": load_s, "request_median_s": statistics.median(times),
                  "request_max_s": max(times), "pid": pids[0]}))
"""


def serving(home: Path, env: dict[str, str], log: Path) -> dict:
    script = log.with_suffix(".py")
    script.write_text(_SERVE)
    out = log.with_suffix(".json")
    cmd = [sys.executable, str(script), str(home / "warehouse.duckdb")]
    with out.open("w") as fh:
        stats = measured_to(cmd, env, fh)
    figures = json.loads(out.read_text().strip().splitlines()[-1])
    figures.update(process_wall_s=stats["wall_s"], peak_mib=stats["peak_mib"])
    cli = [str(VENV_BIN / "playlist-assets"), "recommend", "--playlist", f"mpd:{figures['pid']}"]
    cli_stats = measured(cli + ["--k", "20"], env, log.with_suffix(".cli.log"))
    figures.update(cli_wall_s=cli_stats["wall_s"], cli_peak_mib=cli_stats["peak_mib"])
    print(f"  serving {figures}", flush=True)
    return figures


def measured_to(cmd: list[str], env: dict[str, str], fh) -> dict[str, float]:
    """``measured`` with stdout kept (the script prints its figures)."""
    tmp = Path(fh.name).with_suffix(".log")
    stats = measured(cmd, env, tmp)
    fh.write(tmp.read_text())
    fh.flush()
    return stats


def slice_runs(k: int, data: Path, logs: Path) -> dict:
    """mpd_slices_job over the first k slices through a real daemon, then the combine."""
    home = data / f"home_runs_{k}"
    shutil.rmtree(home, ignore_errors=True)
    (home / "dagster_home").mkdir(parents=True)
    # The project's instance, launching queued runs from 4 threads: one run's process start
    # (several seconds) does not hold back the next launch.
    (home / "dagster_home" / "dagster.yaml").write_text(
        (REPO / "dagster.yaml").read_text()
        + "\nrun_coordinator:\n  module: dagster.core.run_coordinator\n"
        "  class: QueuedRunCoordinator\n  config:\n    dequeue_use_threads: true\n"
        "    dequeue_num_workers: 4\n"
    )
    env = environment(home, slices_for(data, k * 1000), data)
    dagster = str(VENV_BIN / "dagster")
    subprocess.run(
        [dagster, "instance", "concurrency", "set", "mpd_slices", "2"],
        env=env,
        check=True,
        capture_output=True,
    )
    daemon = subprocess.Popen(
        [str(VENV_BIN / "dagster-daemon"), "run", "-m", MODULE],
        env=env,
        cwd=REPO,
        stdout=(logs / "daemon.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        started = time.perf_counter()
        subprocess.run(
            [dagster, "job", "backfill", "-m", MODULE, "-j", "mpd_slices_job", "--noprompt"],
            env=env,
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        concurrency = wait_for_runs(env, k, timeout_s=3600)
        wall = time.perf_counter() - started
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    cmd = [dagster, "asset", "materialize", "-m", MODULE, "--select", "playlists"]
    combine = measured(cmd, env, logs / "runs_combine.log")
    result = {"slices": k, "backfill_wall_s": wall, **concurrency, "combine": combine}
    print(f"  slice runs {result}", flush=True)
    return result


def wait_for_runs(env: dict[str, str], k: int, timeout_s: float) -> dict:
    """Until k mpd_slices_job runs succeeded; the most runs and slice steps seen at once."""
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    import dagster as dg

    instance = dg.DagsterInstance.get()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs = instance.get_runs(dg.RunsFilter(job_name="mpd_slices_job"))
        done = [r for r in runs if r.status == dg.DagsterRunStatus.SUCCESS]
        failed = [r for r in runs if r.status == dg.DagsterRunStatus.FAILURE]
        if failed:
            raise SystemExit(f"{len(failed)} slice runs failed")
        if len(done) >= k:
            break
        time.sleep(2)
    else:
        raise SystemExit("slice runs did not finish")
    spans, steps = [], []
    for run in runs:
        stats = instance.get_run_stats(run.run_id)
        spans.append((stats.start_time, stats.end_time))
        for s in instance.get_run_step_stats(run.run_id):
            steps.append((s.start_time, s.end_time))
    return {
        "max_runs_at_once": _most_at_once(spans),
        "max_slice_steps_at_once": _most_at_once(steps),
        "per_slice_step_s": sum(e - s for s, e in steps) / max(len(steps), 1),
        "per_run_s": sum(e - s for s, e in spans) / max(len(spans), 1),
    }


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    most = now = 0
    for _, delta in events:
        now += delta
        most = max(most, now)
    return most


def label(step: str) -> str:
    return "song_index (and its upstream)" if step == CATALOGUE_CHAIN else step


def growth(results: dict[int, dict], step: str) -> list[str]:
    sizes = sorted(results)
    out = []
    for a, b in zip(sizes, sizes[1:], strict=False):
        ta, tb = results[a]["steps"][step]["cpu_s"], results[b]["steps"][step]["cpu_s"]
        out.append(f"{math.log(tb / ta) / math.log(b / a):.2f}")
    return out


def report(results: dict[int, dict], generated: dict | None, runs: dict | None) -> str:
    sizes = sorted(results)
    lines = [
        "## Per step",
        "",
        "| playlists | step | wall s | CPU s | peak MiB | data folder MiB |",
    ]
    lines.append("| ---: | --- | ---: | ---: | ---: | ---: |")
    for n in sizes:
        for step, s in results[n]["steps"].items():
            lines.append(
                f"| {n:,} | {label(step)} | {s['wall_s']:.1f} | {s['cpu_s']:.1f} | {s['peak_mib']:,.0f} "
                f"| {s['folder_mib']:,.0f} |"
            )
        total = sum(s["wall_s"] for s in results[n]["steps"].values())
        peak = max(s["peak_mib"] for s in results[n]["steps"].values())
        lines.append(f"| {n:,} | **graph** | **{total:.1f}** | | **{peak:,.0f}** | |")
    lines += ["", "## Growth exponent b (CPU s ~ playlists^b)", ""]
    header = " | ".join(f"{a:,} -> {b:,}" for a, b in zip(sizes, sizes[1:], strict=False))
    lines += [f"| step | {header} |", "| --- |" + " ---: |" * (len(sizes) - 1)]
    for step in STEPS:
        lines.append(f"| {label(step)} | {' | '.join(growth(results, step))} |")
    lines += ["", "## Sizes and serving", ""]
    lines.append(
        "| playlists | warehouse MiB | slices MiB | co-occurrence MiB | load s | request median s "
        "| request max s | load peak MiB | CLI request wall s |"
    )
    lines.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in sizes:
        z, v = results[n]["sizes"], results[n]["serving"]
        lines.append(
            f"| {n:,} | {z['warehouse_mib']:,.0f} | {z['slices_mib']:,.0f} | "
            f"{z['cooccurrence_mib']:,.0f} | {v['load_s']:.1f} | {v['request_median_s']:.2f} | "
            f"{v['request_max_s']:.2f} | {v['peak_mib']:,.0f} | {v['cli_wall_s']:.1f} |"
        )
    if generated:
        per = 100_000 / max(sizes)
        lines += [
            "",
            f"Generation of {max(sizes):,} playlists: {generated['wall_s']:.0f} s wall, "
            f"{generated['cpu_s']:.0f} CPU-s, peak {generated['peak_mib']:,.0f} MiB, "
            f"{generated['gib']:.2f} GiB of slices; per 100,000 playlists "
            f"{generated['wall_s'] * per:.0f} s wall, {generated['cpu_s'] * per:.0f} CPU-s.",
        ]
    if runs:
        lines += ["", f"Slice runs through the daemon: {runs}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stop at 100,000 playlists")
    parser.add_argument("--data", help="folder for the slices and data folders (kept)")
    parser.add_argument("--sizes", help="comma-separated sizes (multiples of 1,000)")
    parser.add_argument("--slice-runs", type=int, default=0, help="slices run through a daemon")
    parser.add_argument(
        "--no-generate", action="store_true", help="use <data>/generated as it is (no check)"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="report the sizes measured in --data"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(SIZES)
    if args.quick:
        sizes = [s for s in sizes if s <= 100_000]
    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="mpd_scale_"))
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    print(f"data: {data}; load average {os.getloadavg()}", flush=True)
    skip = args.no_generate or args.report_only
    generated = None if skip else generate(data, max(sizes), logs)
    if generated:
        print(f"  generated {generated}", flush=True)
    for n in sizes:
        if not args.report_only:
            (data / f"results_{n}.json").write_text(json.dumps(run_size(n, data, logs)))
    # Every size measured in this data folder (a run per size is fine: sizes nest).
    results = {
        int(p.stem.split("_")[1]): json.loads(p.read_text()) for p in data.glob("results_*.json")
    }
    runs = slice_runs(args.slice_runs, data, logs) if args.slice_runs else None
    print(report(results, generated, runs))
    print(f"\nload average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
