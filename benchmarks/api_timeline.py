"""Second by second, one API service under a paced load with one promotion: latency (p50, max
of the requests due in each second) beside the CPU its processes and the whole machine used.

Where ``bench_api.py`` says how long the tail is, this says when it happens: around the swap,
or when other work took the machine's cores. Uses ``bench_api.py``'s data folders.

    .venv/bin/python benchmarks/api_timeline.py /tmp/apiwork/year [--rate 200] [--seconds 40]
        [-- <playlist-assets api flags, e.g. --processes 2 --prefork-max-mib 0>]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import threading
import time
from pathlib import Path

from bench_api import VENV_BIN, playlists, promote_elsewhere, unpromote, wait_listening, wait_ready
from http_load import cpu_seconds, descendants, load, machine_cpu_seconds, request_bytes
from year_base import env_for


def sample_cpu(pid: int, stop: threading.Event, out: list) -> None:
    """Every second: (time, the service's CPU seconds: serving process, each ranking process;
    the machine's)."""
    while not stop.wait(1.0):
        kids = {}
        for child in descendants(pid):
            try:
                kids[child] = cpu_seconds(child)
            except OSError:
                continue
        out.append((time.perf_counter(), cpu_seconds(pid), kids, machine_cpu_seconds()))


def main() -> None:
    """One service, one paced load and one promotion, reported second by second: a script's
    steps in order (one function: each step reads the previous one's processes and clock)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("flags", nargs="*", help="flags for playlist-assets api")
    args = parser.parse_args()
    from playlist_assets.api.config import keys_path
    from playlist_assets.api.keys import KeyStore

    home = args.home
    shutil.rmtree(home / "api", ignore_errors=True)
    _, key = KeyStore(keys_path(home)).create("client", "timeline")
    log = home / "api_timeline.log"
    command = [str(VENV_BIN / "playlist-assets"), "api", "--port", "0", "--poll-seconds", "1"]
    with log.open("w") as fh:
        server = subprocess.Popen(
            [*command, "--rate", "1000000", "--burst", "1000000", *args.flags],
            env=env_for(home),
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    try:
        port = wait_listening(log, server)
        wait_ready(port)
        requests = [request_bytes(port, key, s, f"u{i}") for i, s in enumerate(playlists(home))]
        asyncio.run(load(port, requests, args.clients, 5.0, 1.0, lambda: None, args.rate))
        samples: list = []
        stop = threading.Event()
        sampler = threading.Thread(target=sample_cpu, args=(server.pid, stop, samples))
        sampler.start()
        swap_at = args.seconds / 4
        results = asyncio.run(
            load(
                port,
                requests,
                args.clients,
                args.seconds,
                swap_at,
                lambda: promote_elsewhere(home),
                args.rate,
            )
        )
        stop.set()
        sampler.join()
    finally:
        server.terminate()
        server.wait(timeout=60)
        unpromote(home)
    swap, done = results[-1][1], results[:-1]
    start = min(r[0] for r in done)
    per_second: dict[int, list[float]] = {}
    for due, seconds, _, _ in done:
        per_second.setdefault(int(due - start), []).append(seconds * 1000)
    cores = {}
    for a, b in zip(samples, samples[1:], strict=False):
        wall = b[0] - a[0]
        ranking = sum(v - a[2].get(pid, v) for pid, v in b[2].items())
        cores[int(b[0] - start - 0.5)] = ((b[1] - a[1] + ranking) / wall, (b[3] - a[3]) / wall)
    errors = sum(r[2] != 200 for r in done)
    print(f"{len(done)} requests, {errors} errors; the promotion began at {swap - start:.1f} s")
    print("second  requests  p50 ms  max ms  service cores  machine busy cores")
    for second, values in sorted(per_second.items()):
        values.sort()
        service, machine = cores.get(second, (float("nan"), float("nan")))
        print(
            f"{second:6d}  {len(values):8d}  {values[len(values) // 2]:6.0f}  {values[-1]:6.0f}"
            f"  {service:13.2f}  {machine:18.2f}"
        )


if __name__ == "__main__":
    main()
