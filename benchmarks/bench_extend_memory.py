"""Memory of appending a ``fresh_songs`` hour to a loaded recommender, in one process.

The service's memory peak after an hour lands is the serving state plus what the extension
builds beside it (``lib/recommend/extend.py``). The whole API benchmark (``bench_api.py``)
measures it as the service sees it, sampled once a second over ~4.5 minutes; this one measures
the extension alone, in about a minute:

1. loads the recommender as the service does (``load_recommender(extendable=True)``, every
   posterior computed, one warming request, the answers' encoded columns) and, with
   ``--fork N``, forks ``N`` idle children after ``gc.freeze()``, as the service forks its
   ranking processes: a page the extension writes that they share is then held twice;
2. lands the next hour of fresh songs in the folder's warehouse (``year_base.land_next_hour``,
   in its own process, as a ``fresh_songs`` run would);
3. extends the recommender (``extend_recommender``), warms the new songs' posteriors, answers one
   request and encodes the new songs' columns (``SongColumns.extended``): each step's peak and
   final memory above the serving state's: the process's resident memory (the kernel's exact
   high-water mark, reset before each step: ``/proc/self/clear_refs``) and, with ``--fork``,
   the proportional memory (PSS) of the process and its children, sampled every 10 ms;
4. removes the hour again (the folder as it was).

It WRITES the folder's warehouse: run it on a copy (``cp -a /tmp/apiwork /tmp/mine``).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_extend_memory.py --home /tmp/mine/year
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import threading
import time
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


def pss_mib(pids: list[int]) -> float:
    """Proportional memory summed over ``pids`` (a page shared by k of them counts 1/k)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            total += next(int(ln.split()[1]) for ln in f if ln.startswith("Pss:"))
    return total / 1024


class PssPeak:
    """The largest PSS of ``pids`` while it runs, sampled every 10 ms by a thread."""

    def __init__(self, pids: list[int]) -> None:
        self.pids, self.peak = pids, pss_mib(pids)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, pss_mib(self.pids))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return max(self.peak, pss_mib(self.pids))


def fork_idle(n: int) -> list[int]:
    """``n`` children that wait for their pipe to close, sharing the parent's pages (frozen
    first, as the service freezes before forking its ranking processes)."""
    gc.collect()
    gc.freeze()
    children = []
    for _ in range(n):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(write)
            os.read(read, 1)  # until the parent exits
            os._exit(0)
        os.close(read)
        children.append(pid)
    return children


def serving(load: Callable[[], Any], fork: int) -> tuple[Any, Any, float, list[int]]:
    """A recommender as the service holds it (every posterior, one warming request, the answers'
    columns), collected and trimmed, beside ``fork`` idle children: (it, its columns, the load's
    seconds, the pids)."""
    from playlist_assets.api.loading import trim_freed, warm
    from playlist_assets.api.state import SongColumns

    started = time.perf_counter()
    current = load()
    current.table.warm_up()
    warm(current)
    columns = SongColumns.of(current)
    load_s = time.perf_counter() - started
    gc.collect()
    trim_freed()
    pids = [os.getpid(), *fork_idle(fork)]
    time.sleep(0.5)
    return current, columns, load_s, pids


def step(name: str, run: Callable[[], Any], base: dict, pids: list[int]) -> tuple[Any, dict]:
    """``run()``, with its peak and final memory above ``base`` (RSS; PSS of ``pids``)."""
    from playlist_assets.api.loading import trim_freed

    gc.collect()
    trim_freed()
    reset_peak()
    sampler = PssPeak(pids) if len(pids) > 1 else None
    started = time.perf_counter()
    out = run()
    seconds = time.perf_counter() - started
    row = {"step": name, "seconds": round(seconds, 2)}
    row["rss_peak_above_mib"] = status_mib("VmHWM") - base["rss"]
    if sampler is not None:
        row["pss_peak_above_mib"] = sampler.stop() - base["pss"]
    gc.collect()
    trim_freed()
    row["rss_after_above_mib"] = status_mib("VmRSS") - base["rss"]
    if sampler is not None:
        row["pss_after_above_mib"] = pss_mib(pids) - base["pss"]
    return out, row


def land(home: Path) -> None:
    """The next hour in its own process (its imports and models not counted here)."""
    code = "import sys; from pathlib import Path; import year_base; "
    code += "year_base.land_next_hour(Path(sys.argv[1]))"
    path = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "DAGSTER_HOME": str(home / "dagster_home")}
    subprocess.run([sys.executable, "-c", code, str(home)], cwd=HERE, env=env, check=True)


def report(current: Any, grown: Any, load_s: float, base: dict, rows: list[dict]) -> None:
    summary = {"songs": [current.n, grown.n], "load_s": round(load_s, 1), "base": base}
    print(json.dumps({**summary, "steps": rows}))
    print(
        f"serving state (loaded, warmed, columns): {base['rss']:.0f} MiB RSS"
        + (f", {base['pss']:.0f} MiB PSS with its children" if "pss" in base else "")
        + f"; {current.n} -> {grown.n} songs"
    )
    width = max(len(r["step"]) for r in rows)
    for r in rows:
        pss = ""
        if "pss_peak_above_mib" in r:
            pss = (
                f"  PSS peak +{r['pss_peak_above_mib']:5.1f} after +{r['pss_after_above_mib']:5.1f}"
            )
        print(
            f"  {r['step']:<{width}}  {r['seconds']:5.2f} s  RSS peak +{r['rss_peak_above_mib']:5.1f}"
            f" after +{r['rss_after_above_mib']:5.1f}{pss}  (MiB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a data folder (a copy)")
    parser.add_argument("--fork", type=int, default=0, help="idle children sharing the state")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import year_base

    from playlist_assets.api.loading import system_allocator, warm
    from playlist_assets.api.state import SongColumns
    from playlist_assets.lib.recommend.extend import extend_recommender
    from playlist_assets.lib.recommend.load import load_recommender

    system_allocator()
    current, columns, load_s, pids = serving(
        lambda: load_recommender(args.home, extendable=True), args.fork
    )
    base = {"rss": status_mib("VmRSS")}
    if args.fork:
        base["pss"] = pss_mib(pids)
    newest = year_base.newest_hour(args.home)
    land(args.home)
    rows = []
    try:
        warehouse = args.home / "warehouse.duckdb"
        grown, row = step(
            "extend_recommender", lambda: extend_recommender(current, warehouse), base, pids
        )
        rows.append(row)
        if grown is None:
            raise SystemExit("the hour was not appended (a full load would be needed)")
        _, row = step("warm_up + warm", lambda: (grown.table.warm_up(), warm(grown)), base, pids)
        rows.append(row)
        _, row = step(
            "SongColumns.extended", lambda: SongColumns.extended(columns, grown), base, pids
        )
        rows.append(row)
    finally:
        year_base.drop_hours_after(args.home, newest)
    report(current, grown, load_s, base, rows)


if __name__ == "__main__":
    main()
