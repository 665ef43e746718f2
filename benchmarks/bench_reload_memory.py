"""Memory of a full reload beside the serving state, in one process (the API's forced reload).

The service's memory peak when a full load runs (a forced ``/v1/admin/reload``, a promotion of
the genre classifier, a new ``song_index``) is the serving state plus what the load builds beside
it. ``bench_api.py`` measures it as the service sees it, sampled once a second over ~4.5 minutes;
this one measures the load alone, in about a minute, as ``bench_extend_memory.py`` measures an
hour's extension:

1. loads the recommender as the service does (``load_recommender(extendable=True)``, every
   posterior computed, one warming request, the answers' encoded columns) and forks ``--fork``
   idle children after ``gc.freeze()``, as the service forks its ranking processes;
2. optionally changes what a retrain changes: ``--change songs``, ``song_index``'s cluster
   confidences rewritten (no song storage can be kept; put back after the run), or
   ``--change classifier``, the genre classifier's file written again (a promotion of the
   classifier alone: the songs kept, every posterior computed again);
3. loads again beside it, as the watcher does (``loading.default_loader``, given the serving
   recommender when it takes one), warms every posterior, answers one request and encodes the
   answers' columns (``SongColumns.of``, or the serving state's when the songs are the same):
   the PSS of the process and its children at its peak and after, above the serving state's.

It may WRITE the folder's warehouse (``--change``): run it on a copy.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_reload_memory.py --home /tmp/mine/year
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHANGE = "UPDATE main.song_index SET cluster_confidence = cluster_confidence * {factor}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a data folder (a copy)")
    parser.add_argument("--fork", type=int, default=2, help="idle children sharing the state")
    parser.add_argument("--change", choices=["songs", "classifier"], help="changed first")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import duckdb
    from bench_extend_memory import pss_mib, report, serving, status_mib, step

    from playlist_assets.api import loading
    from playlist_assets.api.loading import warm
    from playlist_assets.api.state import SongColumns
    from playlist_assets.lib.classifier.artifacts import (
        classifier_path,
        load_classifier,
        write_pickle_atomic,
    )

    loader = loading.default_loader
    takes_current = len(inspect.signature(loader).parameters) > 1
    current, columns, load_s, pids = serving(lambda: loader(args.home), args.fork)
    base = {"rss": status_mib("VmRSS"), "pss": pss_mib(pids)}
    warehouse = str(args.home / "warehouse.duckdb")
    if args.change == "songs":
        with duckdb.connect(warehouse) as con:
            con.execute(CHANGE.format(factor=0.5))
    elif args.change == "classifier":
        models = args.home / "models"
        write_pickle_atomic(classifier_path(models), load_classifier(models))
    rows = []
    try:
        load = (lambda: loader(args.home, current)) if takes_current else lambda: loader(args.home)
        new, row = step("full load", load, base, pids)
        rows.append(row)
        _, row = step("warm_up + warm", lambda: (new.table.warm_up(), warm(new)), base, pids)
        rows.append(row)
        same = getattr(new.table.store, "columns", None) is current.table.store.columns
        encode = (lambda: columns) if same else lambda: SongColumns.of(new)
        _, row = step("answers' columns" + (" (kept)" if same else ""), encode, base, pids)
        rows.append(row)
    finally:
        if args.change == "songs":
            with duckdb.connect(warehouse) as con:
                con.execute(CHANGE.format(factor=2.0))
    report(current, new, load_s, base, rows)


if __name__ == "__main__":
    main()
