"""One hour of each feed, without Dagster's start-up: what it costs, what it adds, how it fails.

1. Replay, pool vs fresh (``PLAYLIST_REPLAY_MODE``): CPU and wall milliseconds per hour over
   ``--hours`` consecutive hours (lib functions, the step's own work), and how many of the rows
   fed are songs the base did not have yet (the sample catalogue plus every earlier hour).
2. The Spotify feed against an unreachable server (an unused loopback port): ``new_tracks``
   materialized with the asset's RetryPolicy, today's build against the old build (the commit
   given by ``--old``, extracted with ``git archive`` into a temporary folder, never checked out):
   wall time to the final failure, step retries, and the failure's first line.

    .venv/bin/python benchmarks/bench_feed_hour.py [--hours 168] [--old f1401b6] [--no-old]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START = datetime(2026, 11, 18)

# Runs in a child process with the build under test first on sys.path; prints one result line.
UNREACHABLE = """
import os, sys, time, warnings
warnings.simplefilter("ignore")
import dagster as dg
from dagster_duckdb import DuckDBResource
from dagster_duckdb_pandas import DuckDBPandasIOManager
from playlist_assets.defs import feed as feed_module
port, home = sys.argv[1], sys.argv[2]
api, token = f"http://127.0.0.1:{port}/v1/", f"http://127.0.0.1:{port}/api/token"
if hasattr(feed_module, "build_feed_resource"):  # the old build: URLs were resource fields
    feed = feed_module.FeedResource(kind="spotify", spotify_client_id="id",
        spotify_client_secret="secret", spotify_api_url=api, spotify_token_url=token)
else:
    from playlist_assets.defs.feed_resources import SpotifyFeed
    os.environ["SPOTIFY_API_URL"], os.environ["SPOTIFY_TOKEN_URL"] = api, token
    feed = SpotifyFeed(client_id="id", client_secret="secret")
db = os.path.join(home, "warehouse.duckdb")
started = time.monotonic()
result = dg.materialize([feed_module.new_tracks], partition_key="2026-11-25-13:00",
    raise_on_error=False, resources={"feed": feed, "warehouse": DuckDBResource(database=db),
    "io_manager": DuckDBPandasIOManager(database=db, schema="main")})
elapsed = time.monotonic() - started
retries = sum(e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY for e in result.all_events)
failure = result.failure_data_for_node("new_tracks")
text = failure.user_failure_data.description if failure and failure.user_failure_data else str(
    failure and failure.error)
print(f"{elapsed:.1f}\\t{retries}\\t{' '.join(text.split())[:300]}")
"""


def replay_costs(hours: int) -> list[tuple[str, str, str]]:
    from playlist_assets.lib.feeds.fresh import fresh_hour
    from playlist_assets.lib.feeds.replay import load_pool, replay_hour
    from playlist_assets.lib.sample_data.generate import write_sample
    from playlist_assets.settings import DEFAULT_GENRES

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_sample(Path(tmp))
        import pandas as pd

        base = set(pd.read_csv(paths.tracks_csv, usecols=["track_id"])["track_id"])
        pool = load_pool(paths.replay_csv, DEFAULT_GENRES)
        modes = {
            "pool": lambda key, hour: replay_hour(pool, key, hour, 40),
            "fresh": lambda key, hour: fresh_hour(DEFAULT_GENRES, key, hour, 40),
        }
        for mode, fetch in modes.items():
            fetch("2026-01-01-00:00", START)  # warm: the pool's cache, the genres' artists
            seen, new, fed = set(base), 0, 0
            wall, cpu = time.perf_counter(), time.process_time()
            for h in range(hours):
                hour = START + timedelta(hours=h)
                ids = fetch(hour.strftime("%Y-%m-%d-%H:%M"), hour).tracks["track_id"]
                fed += len(ids)
                new += len(set(ids) - seen)
                seen.update(ids)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            rows.append(
                (
                    f"replay {mode}: one hour of 40 tracks",
                    f"{1000 * cpu / hours:.1f} ms CPU",
                    f"{1000 * wall / hours:.1f} ms wall, mean of {hours} hours",
                )
            )
            growth = (
                f"never more than the pool's {len(pool):,} songs in all"
                if mode == "pool"
                else f"a year at this rate: {new * 8760 // hours:,} new songs"
            )
            rows.append(
                (f"replay {mode}: new songs in {hours} hours", f"{new:,} of {fed:,}", growth)
            )
    return rows


def unreachable(build: Path, label: str) -> tuple[str, str, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "PYTHONPATH": str(build), "PLAYLIST_ASSETS_HOME": home}
        env.pop("DAGSTER_HOME", None)  # an ephemeral instance
        done = subprocess.run(
            [sys.executable, "-c", UNREACHABLE, str(port), home],
            cwd=build,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    if done.returncode:
        raise RuntimeError(f"{label} failed:\n{done.stderr[-3000:]}")
    elapsed, retries, message = done.stdout.strip().splitlines()[-1].split("\t", 2)
    return (f"unreachable Spotify, {label}", f"{elapsed} s", f"{retries} step retries: {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=168)
    parser.add_argument("--old", default="f1401b6", help="the commit of the old build")
    parser.add_argument("--no-old", action="store_true", help="skip the old build (~5 min)")
    args = parser.parse_args()

    rows = replay_costs(args.hours)
    rows.append(unreachable(ROOT, "today (default 45 s budget)"))
    if not args.no_old:
        with tempfile.TemporaryDirectory() as old:
            archive = subprocess.run(
                ["git", "archive", args.old], cwd=ROOT, capture_output=True, check=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
            rows.append(unreachable(Path(old), f"old build {args.old}"))
    print("| measure | value | notes |\n| --- | --- | --- |")
    for name, value, notes in rows:
        print(f"| {name} | {value} | {textwrap.shorten(notes, 400)} |")
    print(
        f"\nload average {', '.join(f'{v:.1f}' for v in os.getloadavg())}, {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
