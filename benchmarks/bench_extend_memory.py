"""Memory of appending a ``fresh_songs`` hour to a loaded recommender, in one process.

The service's memory peak after an hour lands is the serving state plus what the extension
builds beside it (``lib/recommend/extend.py``). The whole API benchmark (``bench_api.py``)
measures it as the service sees it, sampled once a second over ~4.5 minutes; this one measures
the extension alone, exactly (the kernel's high-water mark of the process, reset before each
step: ``/proc/self/clear_refs``), in under a minute:

1. loads the recommender as the service does (``load_recommender(extendable=True)``, every
   posterior computed, one warming request, the answers' encoded columns);
2. lands the next hour of fresh songs in the folder's warehouse (``year_base.land_next_hour``,
   in its own process, as a ``fresh_songs`` run would);
3. extends the recommender (``extend_recommender``), warms the new songs' posteriors, answers one
   request and encodes the new songs' columns (``SongColumns.extended``), each step's peak
   resident memory above the serving state's;
4. removes the hour again (the folder as it was).

It WRITES the folder's warehouse: run it on a copy (``cp -a /tmp/apiwork /tmp/mine``).
``--trace`` adds each step's peak of Python and numpy allocations (``tracemalloc``: slower).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_extend_memory.py --home /tmp/mine/year
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def status_mib(field: str) -> float:
    """A ``/proc/self/status`` figure (``VmRSS``, ``VmHWM``) in MiB."""
    with open("/proc/self/status") as f:
        line = next(ln for ln in f if ln.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def reset_peak() -> None:
    """The kernel's high-water mark of resident memory back to the current resident size."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def step(name: str, run: Callable[[], Any], base: float, trace: bool) -> tuple[Any, dict]:
    """``run()``, with its peak resident memory above ``base`` (and its traced peak)."""
    from playlist_assets.api.loading import trim_freed

    gc.collect()
    trim_freed()
    if trace:
        tracemalloc.reset_peak()
        traced = tracemalloc.get_traced_memory()[0]
    reset_peak()
    started = time.perf_counter()
    out = run()
    seconds = time.perf_counter() - started
    row = {"step": name, "seconds": round(seconds, 2), "peak_above_mib": status_mib("VmHWM") - base}
    gc.collect()
    trim_freed()
    row["after_above_mib"] = status_mib("VmRSS") - base
    if trace:
        row["traced_peak_mib"] = (tracemalloc.get_traced_memory()[1] - traced) / 2**20
    return out, row


def land(home: Path) -> None:
    """The next hour in its own process (its imports and models not counted here)."""
    code = "import sys; from pathlib import Path; import year_base; "
    code += "year_base.land_next_hour(Path(sys.argv[1]))"
    path = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "DAGSTER_HOME": str(home / "dagster_home")}
    subprocess.run([sys.executable, "-c", code, str(home)], cwd=HERE, env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a data folder (a copy)")
    parser.add_argument("--trace", action="store_true", help="also tracemalloc's peaks")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import year_base

    from playlist_assets.api.loading import system_allocator, trim_freed, warm
    from playlist_assets.api.state import SongColumns
    from playlist_assets.lib.recommend.extend import extend_recommender
    from playlist_assets.lib.recommend.load import load_recommender

    system_allocator()
    started = time.perf_counter()
    current = load_recommender(args.home, extendable=True)
    current.table.warm_up()
    warm(current)
    columns = SongColumns.of(current)
    load_s = time.perf_counter() - started
    if args.trace:
        tracemalloc.start()
    gc.collect()
    trim_freed()
    base = status_mib("VmRSS")
    newest = year_base.newest_hour(args.home)
    land(args.home)
    rows = []
    try:
        warehouse = args.home / "warehouse.duckdb"
        grown, row = step(
            "extend_recommender", lambda: extend_recommender(current, warehouse), base, args.trace
        )
        rows.append(row)
        if grown is None:
            raise SystemExit("the hour was not appended (a full load would be needed)")
        _, row = step(
            "warm_up + warm", lambda: (grown.table.warm_up(), warm(grown)), base, args.trace
        )
        rows.append(row)
        _, row = step(
            "SongColumns.extended", lambda: SongColumns.extended(columns, grown), base, args.trace
        )
        rows.append(row)
    finally:
        year_base.drop_hours_after(args.home, newest)
    print(
        json.dumps(
            {
                "songs": [current.n, grown.n],
                "load_s": round(load_s, 1),
                "serving_rss_mib": round(base, 1),
                "steps": rows,
            }
        )
    )
    width = max(len(r["step"]) for r in rows)
    print(f"serving state (loaded, warmed, columns): {base:.0f} MiB RSS; {current.n} -> {grown.n}")
    for r in rows:
        traced = f"  traced peak {r['traced_peak_mib']:6.1f}" if "traced_peak_mib" in r else ""
        print(
            f"  {r['step']:<{width}}  {r['seconds']:6.2f} s  peak +{r['peak_above_mib']:6.1f} "
            f"MiB  after +{r['after_above_mib']:6.1f} MiB{traced}"
        )


if __name__ == "__main__":
    main()
