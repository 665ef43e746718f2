"""The recommendation API under load: requests/s, latency, errors across a promotion, memory.

For each data folder — the sample (the unpartitioned graph materialized by Dagster, as
``scripts/run.sh`` leaves it) and a year of fresh songs (that folder plus 8,760 hours of the
fresh replay, ~350,000 songs, scored as ``fresh_songs`` scores them and stored in its table) —
the script:

1. measures one loaded recommender alone (``load_recommender`` in a fresh process: load time,
   resident memory) and what ``Recommender.recommend`` itself costs per request (k=100, the
   same playlists as the load test, in process);
2. times the command line on one playlist (``playlist-assets recommend --k 100``, a process per
   request: start-up and loading included, as a script calling the CLI pays);
3. starts ``playlist-assets api`` (one client key; the per-key rate limit raised so it does not
   cap the measurement), and runs ``--clients`` keep-alive connections for ``--seconds`` on
   loopback, each sending k=100 hybrid requests for real playlists back to back. A quarter of
   the way in, a promotion as serving sees it: ``models/genre_classifier`` replaced (one
   rename) by the same model under the next version (put back after the run). Reported:
   requests/s, p50/p95/p99 latency, errors (anything but 200, connection errors), when answers
   switched version, the service's CPU per request, its resident memory before the window, at
   its end and at its peak (VmHWM, the swap included).

The load generator (``http_load.py``) is a minimal asyncio HTTP/1.1 client with pre-encoded
requests, so the machine's two cores go to the server rather than to the client. The data
folders come from ``year_base.py``.

    nice -n 10 .venv/bin/python benchmarks/bench_api.py [--quick] [--work DIR] [--write]

``--quick``: 10-second windows on the sample only. ``--work DIR`` keeps the built data folders
between runs (on a quiet machine the sample takes ~2 min to build, the year ~5 min more).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from http_load import K, cpu_seconds, load, percentile, request_bytes, vm_kib
from year_base import build_sample, build_year, env_for

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results" / "api.md"


# -- measurements --------------------------------------------------------------------------------

SINGLE = """
import json, resource, sys, time
t = time.perf_counter()
from playlist_assets.lib.recommend.load import load_recommender
r = load_recommender(sys.argv[1])
r.recommend([str(i) for i in r.ids[:5]], 10, allow_unknown=True)
load_s = time.perf_counter() - t
rss = int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1])
print(json.dumps({"songs": int(r.n), "load_s": load_s, "rss_mib": rss / 1024,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def one_recommender(home: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SINGLE, str(home)],
        env=env_for(home),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def playlists(home: Path, n: int = 400) -> list[list[str]]:
    """Seeds of real playlists of the warehouse: the first 10 tracks of up to ``n`` playlists."""
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select pid, list(track_id order by pos) from main.playlists group by pid "
            "order by pid limit ?",
            [n],
        ).fetchall()
    return [tracks[:10] for _, tracks in rows if len(tracks) >= 3]


def recommender_cost(home: Path, seeds: list[list[str]], n: int) -> dict:
    """``Recommender.recommend`` per request, in process, after loading (ms)."""
    from playlist_assets.lib.recommend.load import load_recommender

    recommender = load_recommender(home)
    times = []
    for tracks in seeds[:n]:
        started = time.perf_counter()
        recommender.recommend(tracks, K, allow_unknown=True)
        times.append((time.perf_counter() - started) * 1000)
    del recommender
    return {"p50_ms": statistics.median(times), "p95_ms": percentile(times, 95)}


def cli_per_request(home: Path, seeds: list[str], repeats: int) -> float:
    """Median wall seconds of ``playlist-assets recommend`` on one playlist (a process each)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(
            [
                str(VENV_BIN / "playlist-assets"),
                "recommend",
                "--playlist",
                ",".join(seeds),
                "--k",
                str(K),
                "--format",
                "json",
            ],
            env=env_for(home),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# -- the load test -------------------------------------------------------------------------------


def promote(home: Path) -> None:
    """What a promotion does to serving's files: the champion bundle, under the next version
    (the original file is kept beside it and put back after the run)."""
    from playlist_assets.lib.classifier.artifacts import load_classifier, write_pickle_atomic

    path = home / "models" / "genre_classifier"
    shutil.copy2(path, home / "genre_classifier.before_bench")
    bundle = load_classifier(home / "models")
    version = str(int(bundle.version) + 1) if str(bundle.version).isdigit() else "2"
    write_pickle_atomic(path, dataclasses.replace(bundle, version=version))


def unpromote(home: Path) -> None:
    kept = home / "genre_classifier.before_bench"
    if kept.exists():
        os.replace(kept, home / "models" / "genre_classifier")


def serve_and_load(
    home: Path, seeds: list[list[str]], clients: int, seconds: float, flags: list[str]
) -> dict:
    from playlist_assets.api.config import keys_path
    from playlist_assets.api.keys import KeyStore

    shutil.rmtree(home / "api", ignore_errors=True)
    _, key = KeyStore(keys_path(home)).create("client", "bench")
    _, admin = KeyStore(keys_path(home)).create("admin", "bench metrics")
    log = home / "bench_api.log"
    with log.open("w") as fh:
        server = subprocess.Popen(
            [
                str(VENV_BIN / "playlist-assets"),
                "api",
                "--port",
                "0",
                "--rate",
                "1000000",
                "--burst",
                "1000000",
                "--poll-seconds",
                "1",
                *flags,
            ],
            env=env_for(home),
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    try:
        port = wait_listening(log, server)
        wait_ready(port, key)
        requests = [request_bytes(port, key, s, f"user-{i}") for i, s in enumerate(seeds)]
        cpu_warm = cpu_seconds(server.pid)
        warm = asyncio.run(load(port, requests, clients, 5.0, 1.0, lambda: None))[:-1]
        cpu_warm = cpu_seconds(server.pid) - cpu_warm
        rss_before = vm_kib(server.pid, "VmRSS") / 1024
        cpu_before = cpu_seconds(server.pid)
        started = time.perf_counter()
        results = asyncio.run(
            load(port, requests, clients, seconds, seconds / 4, lambda: promote(home))
        )
        cpu = cpu_seconds(server.pid) - cpu_before
        rss_after = vm_kib(server.pid, "VmRSS") / 1024
        time.sleep(5)  # the last answers out: what stays when idle
        rss_idle = vm_kib(server.pid, "VmRSS") / 1024
        peak = vm_kib(server.pid, "VmHWM") / 1024
        recommender_s = server_recommender_seconds(port, admin)
    finally:
        server.terminate()
        server.wait(timeout=60)
        unpromote(home)
    swap_time = results.pop()[1]
    done = [r for r in results if r[0] >= started]
    ok = [r for r in done if r[2] == 200]
    latencies = [r[1] * 1000 for r in ok]
    versions = sorted({r[3] for r in ok if r[3]}, key=lambda v: min(r[0] for r in ok if r[3] == v))
    new = [r[0] for r in ok if len(versions) > 1 and r[3] == versions[-1]]
    return {
        "requests": len(done),
        "rps": len(ok) / seconds,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "errors": len(done) - len(ok),
        "server_cpu_ms": 1000 * cpu / max(len(done), 1),
        "server_cpu_ms_no_swap": 1000 * cpu_warm / max(len(warm), 1),
        "versions": versions,
        "swap_visible_s": (min(new) - swap_time) if new else None,
        "rss_before_mib": rss_before,
        "rss_after_mib": rss_after,
        "rss_idle_mib": rss_idle,
        "peak_mib": peak,
        "server_recommender_ms": recommender_s,
    }


def wait_listening(log: Path, server: subprocess.Popen, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the API exited: {log.read_text()[-2000:]}")
        for line in log.read_text().splitlines():
            if "listening on http://" in line:
                return int(line.split("listening on http://")[1].split()[0].rsplit(":", 1)[1])
        time.sleep(0.2)
    raise SystemExit("the API did not start")


def wait_ready(port: int, key: str, timeout: float = 600) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30).status_code == 200:
            return
        time.sleep(0.5)
    raise SystemExit("the API did not become ready")


def server_recommender_seconds(port: int, key: str) -> float | None:
    """Mean time inside Recommender.recommend per request, from the service's own histogram."""
    import httpx

    page = httpx.get(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {key}"})
    if page.status_code != 200:
        return None
    values = {}
    for line in page.text.splitlines():
        if line.startswith(
            ("playlist_api_recommender_seconds_sum", "playlist_api_recommender_seconds_count")
        ):
            name, value = line.split()
            values[name.rsplit("_", 1)[1]] = float(value)
    return 1000 * values["sum"] / values["count"] if values.get("count") else None


# -- the report ----------------------------------------------------------------------------------


def scenario(
    name: str, home: Path, clients: int, seconds: float, cli_repeats: int, flags: list[str]
) -> dict:
    print(f"== {name}: {home}", flush=True)
    seeds = playlists(home)
    single = one_recommender(home)
    print(f"   one recommender: {single}", flush=True)
    cost = recommender_cost(home, seeds, 200)
    print(f"   Recommender.recommend k={K}: {cost}", flush=True)
    cli_s = cli_per_request(home, seeds[0], cli_repeats)
    print(f"   CLI per request: {cli_s:.2f} s", flush=True)
    load_avg = Path("/proc/loadavg").read_text().split()[:3]
    served = serve_and_load(home, seeds, clients, seconds, flags)
    print(f"   API: {served}", flush=True)
    return {
        "name": name,
        "single": single,
        "cost": cost,
        "cli_s": cli_s,
        "api": served,
        "loadavg_before": load_avg,
        "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
    }


def table(rows: list[dict], clients: int, seconds: float) -> str:
    out = [
        f"{clients} clients, {seconds:g} s, k={K} hybrid, one promotion swap a quarter of the way in.",
        "",
        "| | " + " | ".join(r["name"] for r in rows) + " |",
        "|---|" + "---:|" * len(rows),
    ]

    def line(label: str, cell) -> None:
        out.append(f"| {label} | " + " | ".join(cell(r) for r in rows) + " |")

    line("songs served", lambda r: f"{r['single']['songs']:,}")
    line("requests/s", lambda r: f"{r['api']['rps']:.1f}")
    line(
        "latency p50 / p95 / p99 (ms)",
        lambda r: f"{r['api']['p50_ms']:.1f} / {r['api']['p95_ms']:.1f} / {r['api']['p99_ms']:.1f}",
    )
    line("errors (of requests)", lambda r: f"{r['api']['errors']} of {r['api']['requests']:,}")
    line("versions answered", lambda r: " → ".join(v.split("+")[0] for v in r["api"]["versions"]))
    line(
        "new version answered after (s)",
        lambda r: (
            "n/a" if r["api"]["swap_visible_s"] is None else f"{r['api']['swap_visible_s']:.1f}"
        ),
    )
    line(
        "service CPU per request: without a swap; the window, its swap's load included (ms)",
        lambda r: f"{r['api']['server_cpu_ms_no_swap']:.1f}; {r['api']['server_cpu_ms']:.1f}",
    )
    line(
        "Recommender.recommend in the service, mean (ms)",
        lambda r: (
            "n/a"
            if r["api"]["server_recommender_ms"] is None
            else f"{r['api']['server_recommender_ms']:.1f}"
        ),
    )
    line(
        "Recommender.recommend alone, p50 / p95 (ms)",
        lambda r: f"{r['cost']['p50_ms']:.1f} / {r['cost']['p95_ms']:.1f}",
    )
    line("CLI, one playlist per process (s)", lambda r: f"{r['cli_s']:.2f}")
    line(
        "one loaded recommender: load (s) / memory (MiB)",
        lambda r: f"{r['single']['load_s']:.1f} / {r['single']['rss_mib']:.0f}",
    )
    line(
        "API memory: before the window / at its end / idle 5 s later (MiB)",
        lambda r: (
            f"{r['api']['rss_before_mib']:.0f} / {r['api']['rss_after_mib']:.0f} / "
            f"{r['api']['rss_idle_mib']:.0f}"
        ),
    )
    line("API peak memory, the swap included (MiB)", lambda r: f"{r['api']['peak_mib']:.0f}")
    line(
        "API memory / one recommender (idle; under load; peak)",
        lambda r: (
            f"{r['api']['rss_idle_mib'] / r['single']['rss_mib']:.2f}x; "
            f"{r['api']['rss_after_mib'] / r['single']['rss_mib']:.2f}x; "
            f"{r['api']['peak_mib'] / r['single']['rss_mib']:.2f}x"
        ),
    )
    line(
        "load average before → after",
        lambda r: f"{' '.join(r['loadavg_before'])} → {' '.join(r['loadavg_after'])}",
    )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10-s windows, the sample only")
    parser.add_argument("--work", type=Path, help="keep the data folders here between runs")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--no-year", action="store_true", help="the sample only")
    parser.add_argument("--threads", type=int, help="the API's ranking threads (its default)")
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_api_"))
    work.mkdir(parents=True, exist_ok=True)
    sample = work / "sample"
    build_sample(sample)
    flags = ["--threads", str(args.threads)] if args.threads else []
    rows = [scenario("sample", sample, args.clients, seconds, 3, flags)]
    if not (args.quick or args.no_year):
        year = work / "year"
        build_year(sample, year)
        rows.append(scenario("a year of fresh songs", year, args.clients, seconds, 1, flags))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = table(rows, args.clients, seconds)
    print("\n" + text)
    if args.write:
        command = "nice -n 10 .venv/bin/python benchmarks/bench_api.py" + (
            " --quick" if args.quick else ""
        )
        RESULTS.write_text(
            f"# Recommendation API under load\n\n`{command}`, {stamp}, "
            f"{os.cpu_count()} cores.\n\n{text}\n"
        )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
