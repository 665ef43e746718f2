"""Wall time and peak memory of the whole unpartitioned graph, headless, on a tracks file.

    .venv/bin/python benchmarks/bench_graph.py [TRACKS_CSV] [--mpd MPD_PATH]

Runs exactly what CI runs (``dagster asset materialize -m playlist_assets.definitions``) in a
throw-away data folder and DAGSTER_HOME, then prints the per-step times Dagster logged.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playlist_assets.settings import UNPARTITIONED_SELECTION

ROOT = Path(__file__).resolve().parents[1]
REAL_TRACKS = ROOT.parent / "shared" / "data" / "spotify_tracks" / "dataset.csv.gz"
STEP = re.compile(
    r" - (\S+) - STEP_SUCCESS - Finished execution of step \"\S+\" in ([\d.]+)(ms|s|m)"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tracks", nargs="?", default=str(REAL_TRACKS))
    parser.add_argument("--mpd", default=None, help="MPD file or folder (default: the sample)")
    args = parser.parse_args()
    if not Path(args.tracks).exists():
        print(f"skipped: {args.tracks} not found")
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="bench_graph_"))
    env = {
        **os.environ,
        "PLAYLIST_TRACKS_CSV": args.tracks,
        "PLAYLIST_ASSETS_HOME": str(scratch / "data"),
        "DAGSTER_HOME": str(scratch / "dagster_home"),
    }
    if args.mpd:
        env["PLAYLIST_MPD_PATH"] = args.mpd
    (scratch / "dagster_home").mkdir(parents=True)
    shutil.copy(ROOT / "dagster.yaml", scratch / "dagster_home" / "dagster.yaml")
    command = [
        str(ROOT / ".venv" / "bin" / "dagster"),
        "asset",
        "materialize",
        "-m",
        "playlist_assets.definitions",
        "--select",
        UNPARTITIONED_SELECTION,
    ]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    shutil.rmtree(scratch, ignore_errors=True)
    if done.returncode != 0:
        print(done.stderr[-3000:])
        return done.returncode
    print(f"tracks: {args.tracks}\n")
    print("| step | seconds |\n| --- | ---: |")
    for name, value, unit in STEP.findall(done.stderr):
        seconds = float(value) / 1000 if unit == "ms" else float(value) * (60 if unit == "m" else 1)
        print(f"| {name} | {seconds:.2f} |")
    print(
        f"\nwhole graph, one run: {wall:.1f} s wall (incl. process start and a new MLflow DB), peak RSS {peak_mib:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
