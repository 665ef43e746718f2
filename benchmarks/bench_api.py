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
3. starts ``playlist-assets api`` (a client key; the per-key rate limit raised so it does not
   cap the measurement) and drives it from ``--clients`` keep-alive connections on loopback
   with k=100 hybrid requests for real playlists, in two windows of ``--seconds``: back to back
   (the most it answers; latency is then mostly queueing: clients / throughput), and paced at
   ``--rate`` requests/s offered in all (the latency an app sees at that load, counted from when
   each request was due). In each window, a quarter of the way through, a promotion as serving
   sees it: the serving co-occurrence installed as ``models/recommender/champion`` under the next
   card version, as ``recommendation_eval`` promotes (the original folder is put back after the
   run). Reported per window: requests/s, p50/p95/
   p99 latency, errors (anything but 200, connection errors), the versions answered and when
   the new one was first answered; and the service's CPU per request (its ranking processes
   included) and its memory before, after, idle and at its peak (sampled every second, the swaps
   included) as PSS summed over its processes (a page shared by n processes counts 1/n in
   each: what the service costs the machine), beside USS (private pages) and summed RSS.

After the windows: a full reload forced through the admin endpoint (nothing changed in the
warehouse, so it keeps the serving songs, models and co-occurrence, ``reuse``; a retrain's changed
``song_index`` is read in full: ``bench_reload_memory.py --change songs``), then the next ``fresh_songs`` hour landed in the year's warehouse (its
materialization recorded in the folder's Dagster instance, as the hourly run does; removed again
after the run), each under 100 requests/s: errors, p99, when it swapped, the memory at its peak
and after.

Before the windows, the service's answers for 200 playlists are checked equal (ids, order) to
``Recommender.recommend`` in this process. The service runs once per ``--processes`` value
(default ``2:late,2``: 2 ranking processes forked after a promotion's swap, as the service was,
then forked before it, as it is now; ``0``: ranking in threads), same data, same run.

The load generator (``http_load.py``) is a minimal asyncio HTTP/1.1 client with pre-encoded
requests, so the machine's two cores go to the server rather than to the client; its own CPU
per request is reported beside the service's (it shares the cores). The data
folders come from ``year_base.py``. One file over 400 lines on purpose: a benchmark a reader
checks from its data to its table in one place (the load generator is its own module).

    nice -n 10 .venv/bin/python benchmarks/bench_api.py [--quick] [--work DIR] [--write]

``--quick``: 10-second windows on the sample only. ``--work DIR`` keeps the built data folders
between runs (on a quiet machine the sample takes ~2 min to build, the year ~5 min more).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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

from http_load import (
    SWAP_SPAN_S,
    K,
    load,
    machine_cpu_seconds,
    percentile,
    request_bytes,
    tree_cpu_seconds,
    tree_memory_mib,
    vm_kib,
    window,
)
from year_base import build_sample, build_year, drop_hours_after, env_for, newest_hour

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


def recommender_cost(home: Path, seeds: list[list[str]], n: int) -> tuple[dict, list[list[str]]]:
    """``Recommender.recommend`` per request, in process, after loading (ms): cold (the first
    time each playlist's seeds are seen: their posteriors are computed then) and warm (every
    song's posteriors computed, as the service does before serving: CPU ms per request); and
    the ids it ranks for each playlist (the service must answer the same)."""
    from threadpoolctl import threadpool_limits

    from playlist_assets.lib.recommend.load import load_recommender

    threadpool_limits(1)  # as the service
    recommender = load_recommender(home)
    times, ranked = [], []
    for tracks in seeds[:n]:
        started = time.perf_counter()
        ranked.append(recommender.recommend(tracks, K, allow_unknown=True).track_ids)
        times.append((time.perf_counter() - started) * 1000)
    recommender.table.warm_up()
    cpu = time.process_time()
    for tracks in seeds[:n]:
        recommender.rank(tracks, K, allow_unknown=True)
    warm_cpu = 1000 * (time.process_time() - cpu) / len(seeds[:n])
    del recommender
    cost = {"p50_ms": statistics.median(times), "p95_ms": percentile(times, 95)}
    return {**cost, "warm_cpu_ms": warm_cpu}, ranked


def same_answers(port: int, key: str, seeds: list[list[str]], ranked: list[list[str]]) -> int:
    """How many of the service's answers differ from ``Recommender.recommend`` in process (the
    ranking processes must answer the same ids in the same order); raises when any does."""
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    differ = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as c:
        for tracks, want in zip(seeds, ranked, strict=False):
            answer = c.post("/v1/recommendations", json={"seeds": tracks, "k": K})
            got = [s["id"] for s in answer.json()["songs"]] if answer.status_code == 200 else None
            differ += got != want
    if differ:
        raise SystemExit(f"{differ} of {len(ranked)} answers differ from Recommender.recommend")
    return len(ranked)


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
    """What ``recommendation_eval``'s promotion does to serving's files: the serving
    co-occurrence installed as the recommender champion under the next card version (the
    ``models/recommender`` folder is kept beside it and put back after the run)."""
    from playlist_assets.lib.recommend import champion

    models = home / "models"
    folder, kept = champion.folder(models), home / "recommender.before_bench"
    if not kept.exists() and folder.exists():
        shutil.copytree(folder, kept)
    kept.mkdir(exist_ok=True)  # empty: no recommender folder before the run
    cooccurrence, card = champion.serving(models)
    n = int(card.version.split("-")[-1]) + 1 if card and card.version.startswith("bench-") else 1
    now = datetime.now(timezone.utc).isoformat()
    info = champion.Card(f"bench-{n}", "bench", champion.CHAMPION, now, "bench_api promotion")
    champion.install(models, champion.CHAMPION, cooccurrence, info)


def promote_elsewhere(home: Path) -> None:
    """``promote`` in its own process, as a Dagster run would (at the code server's priority:
    ``at_run_priority``, as serve.sh starts it): in this one it would hold the GIL the
    load generator needs (reading and writing the co-occurrence), and its clients' delays would
    count as the service's latency."""
    from playlist_assets.lib.service.profile import at_run_priority

    code = "import sys; from pathlib import Path; from bench_api import promote; promote(Path(sys.argv[1]))"
    subprocess.run(
        [sys.executable, "-c", code, str(home)],
        preexec_fn=at_run_priority,
        cwd=Path(__file__).parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
        check=True,
    )


def unpromote(home: Path) -> None:
    from playlist_assets.lib.recommend import champion

    folder, kept = champion.folder(home / "models"), home / "recommender.before_bench"
    if kept.exists():
        shutil.rmtree(folder, ignore_errors=True)
        if any(kept.iterdir()):
            os.replace(kept, folder)
        else:
            kept.rmdir()


class MemoryPeak:
    """The service's memory (its process and its ranking processes), sampled every second in
    the background: the largest PSS summed over the processes, and the parent's VmHWM."""

    def __init__(self, pid: int) -> None:
        import threading

        self.pid, self.peak = pid, {"pss": 0.0, "uss": 0.0, "rss": 0.0, "processes": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            with contextlib.suppress(OSError, KeyError):
                now = tree_memory_mib(self.pid)
                if now["pss"] > self.peak["pss"]:
                    self.peak = now

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return self.peak


def serve_and_load(
    home: Path,
    seeds: list[list[str]],
    ranked: list[list[str]],
    clients: int,
    seconds: float,
    rate: float,
    flags: list,
) -> dict:
    """Two windows on one service, a promotion swapped in during each: back to back (the most
    it answers), then ``rate`` requests/s offered (the latency an app sees at that load).
    First, its answers are checked against ``Recommender.recommend`` (``ranked``)."""
    from playlist_assets.api.config import keys_path
    from playlist_assets.api.keys import KeyStore

    shutil.rmtree(home / "api", ignore_errors=True)
    newest = newest_hour(home)
    _, key = KeyStore(keys_path(home)).create("client", "bench")
    _, admin = KeyStore(keys_path(home)).create("admin", "bench metrics")
    log = home / "bench_api.log"
    command = [str(VENV_BIN / "playlist-assets"), "api", "--port", "0", "--poll-seconds", "1"]
    limit = ["--rate", "1000000", "--burst", "1000000"]  # the limit is not what is measured
    with log.open("w") as fh:
        server = subprocess.Popen(
            [*command, *limit, *flags], env=env_for(home), stdout=fh, stderr=subprocess.STDOUT
        )
    try:
        port = wait_listening(log, server)
        wait_ready(port)
        checked = same_answers(port, key, seeds, ranked)
        requests = [request_bytes(port, key, s, f"user-{i}") for i, s in enumerate(seeds)]
        asyncio.run(load(port, requests, clients, 2.0, 1.0, lambda: None))  # first touches
        cpu = tree_cpu_seconds(server.pid)
        warm = asyncio.run(load(port, requests, clients, 5.0, 1.0, lambda: None))
        cpu_warm = 1000 * (tree_cpu_seconds(server.pid) - cpu) / max(len(warm) - 1, 1)
        before = tree_memory_mib(server.pid)
        peak = MemoryPeak(server.pid)
        swap_at = seconds / 4
        most = measured_window(port, requests, clients, seconds, swap_at, home, None, server.pid)
        paced = measured_window(port, requests, clients, seconds, swap_at, home, rate, server.pid)
        after = tree_memory_mib(server.pid)
        time.sleep(5)  # the last answers out, the replaced children gone: what stays when idle
        idle = tree_memory_mib(server.pid)
        peak_tree = peak.stop()
        hwm = vm_kib(server.pid, "VmHWM") / 1024
        recommender_ms = server_recommender_ms(port, admin)
        reload = full_reload(port, admin, server.pid, requests, clients)
        hour = fresh_hour(port, server.pid, requests, clients, home, log) if newest else None
    finally:
        server.terminate()
        server.wait(timeout=60)
        unpromote(home)
        if newest is not None:
            drop_hours_after(home, newest)  # the folder as it was
    return {
        "most": most,
        "paced": paced,
        "rate": rate,
        "server_cpu_ms": cpu_warm,
        "checked_answers": checked,
        "memory_before": before,
        "memory_after": after,
        "memory_idle": idle,
        "memory_peak": peak_tree,
        "parent_hwm_mib": hwm,
        "server_recommender_ms": recommender_ms,
        "reload": reload,
        "hour": hour,
    }


def measured_window(
    port: int,
    requests: list,
    clients: int,
    seconds: float,
    swap_at: float,
    home: Path,
    rate: float | None,
    pid: int,
) -> dict:
    """One ``load`` window with a promotion at ``swap_at``: its figures (``window``), this
    process's CPU per request (the load generator's own, on the same cores as the service),
    and the cores busy on average: the service's (its ranking processes included), this
    process's, and everything else's (other work on the machine, the promoting process)."""
    cpu, service, machine = time.process_time(), tree_cpu_seconds(pid), machine_cpu_seconds()
    started = time.perf_counter()
    results = asyncio.run(
        load(port, requests, clients, seconds, swap_at, lambda: promote_elsewhere(home), rate)
    )
    wall = time.perf_counter() - started
    spent, service = time.process_time() - cpu, tree_cpu_seconds(pid) - service
    machine = machine_cpu_seconds() - machine
    return {
        **window(results, seconds),
        "client_cpu_ms": 1000 * spent / max(len(results) - 1, 1),
        "cores": [service / wall, spent / wall, (machine - service - spent) / wall],
    }


def full_reload(port: int, admin: str, pid: int, requests: list, clients: int) -> dict:
    """A full load of the state, forced through the admin endpoint (nothing changed: it keeps
    what the warehouse and model files still hold, ``reuse``) under 100 requests/s: its errors, the memory at its peak and when
    the 60-s window ends, at least 10 s after it swapped (PSS summed over the service's
    processes)."""
    import httpx

    url, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {admin}"}
    first = httpx.get(f"{url}/readyz").json()["loaded_at"]
    peak = MemoryPeak(pid)
    done: list[float] = []

    def reload() -> None:
        httpx.post(f"{url}/v1/admin/reload", headers=headers).raise_for_status()
        while httpx.get(f"{url}/readyz").json()["loaded_at"] == first:
            time.sleep(0.5)
        done.append(time.perf_counter())

    started = time.perf_counter()
    served = window(asyncio.run(load(port, requests, clients, 60.0, 1.0, reload, 100.0)), 60.0)
    swapped_s = done[0] - started if done else None
    time.sleep(max(0.0, 10.0 - (time.perf_counter() - done[0])) if done else 0.0)
    return {
        "errors": served["errors"],
        "requests": served["requests"],
        "p99_ms": served["p99_ms"],
        "swapped_after_s": swapped_s,
        "peak_mib": peak.stop()["pss"],
        "after_mib": tree_memory_mib(pid)["pss"],
    }


def land_elsewhere(home: Path) -> None:
    """``year_base.land_next_hour`` in its own process, as a ``fresh_songs`` run would."""
    code = (
        "import sys; from pathlib import Path; from year_base import land_next_hour; "
        "land_next_hour(Path(sys.argv[1]))"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(home)],
        cwd=Path(__file__).parent,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(ROOT)])},
        check=True,
    )


def fresh_hour(port: int, pid: int, requests: list, clients: int, home: Path, log: Path) -> dict:
    """The next ``fresh_songs`` hour (40 songs, as ``year_base`` makes them) landed in the
    warehouse and recorded in the Dagster instance under 100 requests/s, as the hourly feed
    does: the service's watcher sees it and swaps in its songs (appended to the serving state,
    or loaded in full). Its errors, when it swapped (from the hour's materialization recorded:
    the watcher waits one poll for it to settle), the memory at its peak
    and when the 60-s window ends (at least 10 s after the swap), how the songs came in."""
    import httpx

    url = f"http://127.0.0.1:{port}"
    first = httpx.get(f"{url}/readyz").json()["loaded_at"]
    lines = len(log.read_text().splitlines())
    peak = MemoryPeak(pid)
    done: list[float] = []

    def land() -> None:
        land_elsewhere(home)
        landed = time.perf_counter()  # committed and its materialization recorded
        while httpx.get(f"{url}/readyz").json()["loaded_at"] == first:
            time.sleep(0.2)
        done.append(time.perf_counter() - landed)

    served = window(asyncio.run(load(port, requests, clients, 60.0, 1.0, land, 100.0)), 60.0)
    time.sleep(10.0)
    serving = [
        line for line in log.read_text().splitlines()[lines:] if '"message": "serving' in line
    ]
    return {
        "errors": served["errors"],
        "requests": served["requests"],
        "p99_ms": served["p99_ms"],
        "swapped_after_s": done[0] if done else None,
        "extended": bool(serving) and ", extended" in serving[-1],
        "peak_mib": peak.stop()["pss"],
        "after_mib": tree_memory_mib(pid)["pss"],
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


def wait_ready(port: int, timeout: float = 600) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30).status_code == 200:
            return
        time.sleep(0.5)
    raise SystemExit("the API did not become ready")


def server_recommender_ms(port: int, key: str) -> float | None:
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


def scenario(name: str, home: Path, args: argparse.Namespace, cli_repeats: int) -> list[dict]:
    """One data folder: the recommender alone, the CLI, then the service once per
    ``--processes`` value (one column each)."""
    print(f"== {name}: {home}", flush=True)
    seeds = playlists(home)
    single = one_recommender(home)
    print(f"   one recommender: {single}", flush=True)
    cost, ranked = recommender_cost(home, seeds, 200)
    print(f"   Recommender.recommend k={K}: {cost}", flush=True)
    cli_s = cli_per_request(home, seeds[0], cli_repeats)
    print(f"   CLI per request: {cli_s:.2f} s", flush=True)
    rows = []
    for mode in args.processes:
        load_avg = Path("/proc/loadavg").read_text().split()[:3]
        processes, _, when = mode.partition(":")
        flags = ["--processes", processes]
        flags += ["--prefork-max-mib", "0"] if when == "late" else []
        flags += ["--threads", str(args.threads)] if args.threads else []
        served = serve_and_load(home, seeds, ranked, args.clients, args.seconds, args.rate, flags)
        label = f"{processes} ranking processes" + (
            ", forked after the swap" if when == "late" else ""
        )
        print(f"   API, {label}: {served}", flush=True)
        rows.append(
            {
                "name": f"{name}, {label}",
                "single": single,
                "cost": cost,
                "cli_s": cli_s,
                "api": served,
                "loadavg_before": load_avg,
                "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
            }
        )
    return rows


def _ms(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _window_lines(line, key: str, label: str) -> None:
    w = lambda r: r["api"][key]  # noqa: E731
    line(f"{label}: requests/s answered", lambda r: f"{w(r)['rps']:.1f}")
    line(
        f"{label}: latency p50 / p95 / p99 (ms)",
        lambda r: f"{_ms(w(r)['p50_ms'])} / {_ms(w(r)['p95_ms'])} / {_ms(w(r)['p99_ms'])}",
    )
    line(
        f"{label}: p99 of requests due in the {SWAP_SPAN_S:g} s from the promotion / the rest (ms)",
        lambda r: f"{_ms(w(r)['p99_swap_ms'])} / {_ms(w(r)['p99_away_ms'])}",
    )
    line(f"{label}: errors", lambda r: f"{w(r)['errors']} of {w(r)['requests']:,}")
    line(
        f"{label}: the load generator's own CPU per request (ms)",
        lambda r: _ms(w(r)["client_cpu_ms"], 2),
    )
    line(
        f"{label}: cores busy, mean over the window: the service / the load generator / "
        "everything else (other work, the promotion)",
        lambda r: " / ".join(f"{c:.2f}" for c in w(r)["cores"]),
    )
    line(
        f"{label}: versions answered; the new one first answered after (s)",
        lambda r: (
            " → ".join(v.split("+")[0] for v in w(r)["versions"])
            + f"; {_ms(w(r)['swap_visible_s'])}"
        ),
    )


def table(rows: list[dict], args: argparse.Namespace) -> str:
    """The results as one Markdown table, a column per data folder and mode (one function: its
    rows are the table's rows, in the order a reader compares them)."""
    out = [
        f"{args.clients} clients on loopback, {args.seconds:g} s per window, k={K} hybrid; in "
        "each window a promotion is swapped in a quarter of the way through.",
        "",
        "| | " + " | ".join(r["name"] for r in rows) + " |",
        "|---|" + "---:|" * len(rows),
    ]

    def line(label: str, cell) -> None:
        out.append(f"| {label} | " + " | ".join(cell(r) for r in rows) + " |")

    line("songs served", lambda r: f"{r['single']['songs']:,}")
    _window_lines(line, "most", "back to back")
    _window_lines(line, "paced", f"{args.rate:g} requests/s offered")
    line("service CPU per request (ms)", lambda r: _ms(r["api"]["server_cpu_ms"]))
    line(
        "Recommender.rank inside the service, mean (ms)",
        lambda r: _ms(r["api"]["server_recommender_ms"]),
    )
    line(
        "Recommender.recommend alone, first sight of the seeds, p50 / p95 (ms)",
        lambda r: f"{_ms(r['cost']['p50_ms'])} / {_ms(r['cost']['p95_ms'])}",
    )
    line(
        "Recommender.rank alone, posteriors warmed as served: CPU per request (ms)",
        lambda r: _ms(r["cost"]["warm_cpu_ms"]),
    )
    line(
        "answers checked equal to Recommender.recommend (ids, order)",
        lambda r: f"{r['api']['checked_answers']} of {r['api']['checked_answers']}",
    )
    line("CLI, one playlist per process (s)", lambda r: f"{r['cli_s']:.2f}")
    line(
        "one loaded recommender: load (s) / memory (MiB)",
        lambda r: f"{r['single']['load_s']:.1f} / {r['single']['rss_mib']:.0f}",
    )
    mem = lambda r, when, kind: r["api"][f"memory_{when}"][kind]  # noqa: E731
    line("API processes (serving + ranking)", lambda r: str(mem(r, "idle", "processes")))
    line(
        "API memory, PSS summed over its processes: before / after the windows / idle 5 s "
        "later / peak (MiB)",
        lambda r: " / ".join(
            f"{mem(r, w, 'pss'):.0f}" for w in ("before", "after", "idle", "peak")
        ),
    )
    line(
        "API memory idle: USS summed (private pages) / RSS summed (shared counted per process)",
        lambda r: f"{mem(r, 'idle', 'uss'):.0f} / {mem(r, 'idle', 'rss'):.0f}",
    )
    line(
        "API memory (PSS) / one recommender (RSS): idle; peak (two states during a swap)",
        lambda r: (
            f"{mem(r, 'idle', 'pss') / r['single']['rss_mib']:.2f}x; "
            f"{mem(r, 'peak', 'pss') / r['single']['rss_mib']:.2f}x"
        ),
    )
    line(
        "a full reload (forced, nothing changed: unchanged parts kept) under 100 requests/s: "
        "errors; p99 (ms); swapped after (s)",
        lambda r: (
            f"{r['api']['reload']['errors']} of {r['api']['reload']['requests']:,}; "
            f"{_ms(r['api']['reload']['p99_ms'])}; {_ms(r['api']['reload']['swapped_after_s'])}"
        ),
    )
    line(
        "the same: memory (PSS) at its peak; when the window ends, 10 s or more after the swap (/ one recommender)",
        lambda r: (
            f"{r['api']['reload']['peak_mib']:.0f} ({r['api']['reload']['peak_mib'] / r['single']['rss_mib']:.2f}x); "
            f"{r['api']['reload']['after_mib']:.0f} ({r['api']['reload']['after_mib'] / r['single']['rss_mib']:.2f}x)"
        ),
    )
    hour = lambda r: r["api"]["hour"] or {}  # noqa: E731
    line(
        "a fresh_songs hour landing under 100 requests/s: errors; p99 (ms); swapped after "
        "landing (s); its songs",
        lambda r: (
            f"{hour(r)['errors']} of {hour(r)['requests']:,}; {_ms(hour(r)['p99_ms'])}; "
            f"{_ms(hour(r)['swapped_after_s'])}; "
            + ("appended" if hour(r)["extended"] else "loaded in full")
            if hour(r)
            else "n/a"
        ),
    )
    line(
        "the same: memory (PSS) at its peak; when the window ends, 10 s or more after the swap "
        "(/ one recommender)",
        lambda r: (
            f"{hour(r)['peak_mib']:.0f} ({hour(r)['peak_mib'] / r['single']['rss_mib']:.2f}x); "
            f"{hour(r)['after_mib']:.0f} ({hour(r)['after_mib'] / r['single']['rss_mib']:.2f}x)"
            if hour(r)
            else "n/a"
        ),
    )
    line(
        "load average before → after",
        lambda r: f"{' '.join(r['loadavg_before'])} → {' '.join(r['loadavg_after'])}",
    )
    return "\n".join(out)


def main() -> None:
    """Parse the options, run each data folder and mode, print (and with --write store) the
    table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10-s windows, the sample only")
    parser.add_argument("--work", type=Path, help="keep the data folders here between runs")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, help="per window (default 60; quick: 10)")
    parser.add_argument("--rate", type=float, default=200.0, help="offered requests/s, paced")
    parser.add_argument("--no-year", action="store_true", help="the sample only")
    parser.add_argument("--no-sample", action="store_true", help="the year only")
    parser.add_argument("--threads", type=int, help="the API's ranking threads (its default)")
    parser.add_argument(
        "--processes",
        type=lambda text: text.split(","),
        default=["2:late", "2"],
        help="the API's ranking processes, a service per value; N:late forks a promotion's "
        "processes after the swap (--prefork-max-mib 0, the service before), N before it when "
        "the songs are kept (the default) (default 2:late,2; 0: ranking in threads)",
    )
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    args.seconds = args.seconds or (10.0 if args.quick else 60.0)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_api_"))
    work.mkdir(parents=True, exist_ok=True)
    sample = work / "sample"
    build_sample(sample)
    rows = [] if args.no_sample else scenario("sample", sample, args, 3)
    if not (args.quick or args.no_year):
        year = work / "year"
        build_year(sample, year)
        rows.extend(scenario("a year of fresh songs", year, args, 1))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = table(rows, args)
    print("\n" + text)
    if args.write:
        niceness = os.nice(0)
        command = (f"nice -n {niceness} " if niceness else "") + " ".join(
            [".venv/bin/python benchmarks/bench_api.py", *sys.argv[1:]]
        )
        RESULTS.write_text(
            f"# Recommendation API under load\n\n`{command}`, {stamp}, "
            f"{os.cpu_count()} cores.\n\n{text}\n"
        )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
