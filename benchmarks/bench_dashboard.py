"""Dashboard speed: the ``dashboard`` asset (papermill + nbconvert) and the live Voila page.

Builds a data folder by materializing the real asset graph on the generated sample (all ten
genres) plus a few hourly partitions, in a throw-away DAGSTER_HOME, unless ``--home`` already
holds one. Then measures, each from one run:

- the ``dashboard`` asset under ``dagster.materialize`` (budget 30 s), its notebook execution and
  HTML rendering, and the kernel's peak RSS;
- the live page served by ``playlist-assets dashboard`` in headless Chromium: start-up until the
  command announces the URL (its pre-heated kernel is ready), the first page load (navigation to
  every figure drawn; budget 10 s), a later load, and one "try it" submit;
- the "try it" answer in Python: warm (the recommender loaded once per kernel) against the old
  Flask way (models and tables reloaded on every request).

    .venv/bin/python benchmarks/bench_dashboard.py [--home DIR] [--partitions N] [--skip-browser]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

BUILD = textwrap.dedent(
    """
    import sys
    import dagster as dg
    from playlist_assets.definitions import defs

    if dg.AssetKey("track_cooccurrence") not in defs.resolve_asset_graph().get_all_asset_keys():
        from playlist_assets.defs import playlists  # until the code location merges it

        defs = dg.Definitions.merge(defs, playlists.defs)

    n_partitions = int(sys.argv[1])
    graph = defs.resolve_asset_graph()
    keys = [k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
    partitioned = [k for k in keys if graph.get(k).is_partitioned]
    rest = [k for k in keys if not graph.get(k).is_partitioned and k != dg.AssetKey("dashboard")]
    instance = dg.DagsterInstance.get()
    assets = [*defs.assets, *(defs.asset_checks or [])]
    resources = dict(defs.resources)
    assert dg.materialize(assets, selection=rest, instance=instance, resources=resources).success
    for hour in range(n_partitions if partitioned else 0):
        key = f"2026-11-01-{hour:02d}:00"
        assert dg.materialize(
            assets, selection=partitioned, partition_key=key, instance=instance, resources=resources
        ).success
    """
)

ASSET = textwrap.dedent(
    """
    import resource, time
    import dagster as dg
    from playlist_assets.defs.dashboard import dashboard

    started = time.perf_counter()
    result = dg.materialize([dashboard])
    wall = time.perf_counter() - started
    meta = result.asset_materializations_for_node("dashboard")[0].metadata
    kids, me = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    cpu = kids.ru_utime + kids.ru_stime + me.ru_utime + me.ru_stime
    print(wall, cpu, meta["execute_seconds"].value, meta["render_seconds"].value,
          meta["figures"].value, kids.ru_maxrss / 1024, meta["html_path"].value)
    """
)


def build(home: Path, partitions: int) -> dict[str, str]:
    env = {
        **os.environ,
        "PLAYLIST_ASSETS_HOME": str(home / "data"),
        "DAGSTER_HOME": str(home / "dagster_home"),
        "GX_ANALYTICS_ENABLED": "false",
    }
    for name in (
        "MLFLOW_TRACKING_URI",
        "PLAYLIST_TRACKS_CSV",
        "PLAYLIST_MPD_PATH",
        "PLAYLIST_GENRES",
    ):
        env.pop(name, None)
    if (home / "data" / "warehouse.duckdb").exists():
        return env
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "dagster.yaml", Path(env["DAGSTER_HOME"]) / "dagster.yaml")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", BUILD, str(partitions)], env=env, check=True, cwd=home)
    print(f"built the data folder in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return env


def measure_asset(env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", ASSET], env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    wall, cpu, execute, render, figures, kernel_mb, html = out[-7:]
    return {
        "asset_wall": float(wall),
        "asset_cpu": float(cpu),
        "execute": float(execute),
        "render": float(render),
        "figures": int(figures),
        "kernel_mb": float(kernel_mb),
        "html_mb": Path(html).stat().st_size / 1e6,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tree_rss_mb(pid: int) -> float:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs) / 1e6
    except psutil.Error:
        return 0.0


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by the server and its kernels (exited kernels not counted)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def _reference(env: dict[str, str]) -> str:
    import duckdb

    with duckdb.connect(
        str(Path(env["PLAYLIST_ASSETS_HOME"]) / "warehouse.duckdb"), read_only=True
    ) as con:
        ids = con.execute(
            "SELECT track_id FROM song_index ORDER BY popularity DESC, track_id LIMIT 5"
        ).fetchall()
    return " ".join(r[0] for r in ids)


def measure_live(env: dict[str, str], figures: int) -> dict[str, float]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    port = _free_port()
    command = [
        str(Path(sys.executable).with_name("playlist-assets")),
        "dashboard",
        "--port",
        str(port),
        "--no-browser",
    ]
    log = Path(tempfile.mkdtemp(prefix="bench_dashboard_log_")) / "dashboard.log"
    started = time.perf_counter()
    with log.open("w") as out:
        server = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}/"
    results: dict[str, float] = {}
    try:
        # The command announces the URL once its pre-heated kernel is ready.
        while "Serving the dashboard at" not in log.read_text():
            assert server.poll() is None, log.read_text()
            time.sleep(0.1)
        results["ready"] = time.perf_counter() - started
        drawn = f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {2 * figures}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            # Right when the command announces the URL, then once the next ready kernel is up
            # (started 10 s after a page load, it needs its imports).
            for label, pause in (("first_render", 0), ("steady_render", 40)):
                time.sleep(pause)
                cpu_before = _tree_cpu(server.pid)
                started = time.perf_counter()
                page.goto(url, wait_until="domcontentloaded", timeout=120_000)
                page.wait_for_function(drawn, timeout=120_000)
                results[label] = time.perf_counter() - started
                results[label + "_cpu"] = _tree_cpu(server.pid) - cpu_before
                results["live_mb"] = max(results.get("live_mb", 0.0), _tree_rss_mb(server.pid))
            try:
                page.locator(".tryit-form textarea").wait_for(timeout=30_000)
            except PlaywrightTimeout:  # no recommender materialized: no form
                pass
            else:
                page.locator(".tryit-form textarea").fill(_reference(env))
                started = time.perf_counter()
                page.get_by_role("button", name="Recommend").click()
                page.locator(".tryit-output table.tryit-table tbody tr").first.wait_for(
                    timeout=60_000
                )
                results["submit"] = time.perf_counter() - started
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return results


def measure_tryit(env: dict[str, str], repeat: int = 15) -> dict[str, float]:
    os.environ.update({k: env[k] for k in ("PLAYLIST_ASSETS_HOME", "DAGSTER_HOME")})
    from playlist_assets.dashboard import tryit

    reference = _reference(env)
    tryit.recommend_table(reference)  # load once, as the kernel does on the first submit
    warm = []
    for _ in range(repeat):
        started = time.perf_counter()
        tryit.recommend_table(reference)
        warm.append(time.perf_counter() - started)
    cold = []
    for _ in range(max(3, repeat // 5)):
        tryit._recommender.cache_clear()  # the old way: reload everything per request
        started = time.perf_counter()
        tryit.recommend_table(reference)
        cold.append(time.perf_counter() - started)
    return {"warm_ms": 1000 * statistics.median(warm), "cold_ms": 1000 * statistics.median(cold)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="reuse (or build into) this folder")
    parser.add_argument(
        "--partitions", type=int, default=4, help="hourly partitions to materialize"
    )
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="bench_dashboard_"))
    home.mkdir(parents=True, exist_ok=True)
    env = build(home, args.partitions)

    asset = measure_asset(env)
    rows = [
        ("`dashboard` asset (materialize, wall)", f"{asset['asset_wall']:.1f} s", "budget 30 s"),
        ("  CPU time, process + kernel", f"{asset['asset_cpu']:.1f} s", ""),
        ("  notebook execution (papermill)", f"{asset['execute']:.1f} s", ""),
        ("  HTML rendering (nbconvert)", f"{asset['render']:.1f} s", ""),
        ("  figures / HTML size", f"{asset['figures']} / {asset['html_mb']:.1f} MB", ""),
        ("  kernel peak RSS", f"{asset['kernel_mb']:.0f} MB", ""),
    ]
    if not args.skip_browser and Path(CHROMIUM).exists():
        live = measure_live(env, asset["figures"])
        rows += [
            ("`playlist-assets dashboard`: start to URL announced", f"{live['ready']:.1f} s", ""),
            (
                "live page: first load (all figures drawn)",
                f"{live['first_render']:.1f} s",
                "budget 10 s",
            ),
            ("  server + kernel CPU during it", f"{live['first_render_cpu']:.1f} s", ""),
            ("live page: a later load", f"{live['steady_render']:.1f} s", "budget 10 s"),
            ("  server + kernel CPU during it", f"{live['steady_render_cpu']:.1f} s", ""),
            ("live page: server + kernels peak RSS", f"{live['live_mb']:.0f} MB", ""),
        ]
        if "submit" in live:
            rows.append(
                ("live page: try-it submit to table", f"{live['submit'] * 1000:.0f} ms", "")
            )
    try:
        tryit = measure_tryit(env)
        rows.append(
            (
                "try-it answer, warm (median)",
                f"{tryit['warm_ms']:.1f} ms",
                f"old way (reload per request) {tryit['cold_ms']:.0f} ms = "
                f"{tryit['cold_ms'] / tryit['warm_ms']:.0f}x slower",
            )
        )
    except ImportError as exc:
        rows.append(("try-it answer", "n/a", f"recommender missing: {exc}"))
    print(f"data folder: {home} ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
    print("| measure | ours | budget / old way |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(
        f"(benchmark process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )


if __name__ == "__main__":
    main()
