"""CPU of an hour's feedback assets with the step's DuckDB opened two ways, in one process.

``connect``: a database of its own per step (``DuckDBResource.get_connection``, main before
fbcpu8); ``attach``: the file attached to the process's in-memory DuckDB
(``lib.duckdb_host.attached``, the assets' default since). Hours 02-04 of a
``bench_feedback.py`` folder whose day is stored are re-materialized on the project's instance,
the two ways alternating (ABBA), and the paired difference per hour printed.

    (cd <tree> && PYTHONPATH=<tree> /work/main/.venv/bin/python \
        benchmarks/feedback_connect.py --home <copy> --rounds 6)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    os.environ["PLAYLIST_ASSETS_HOME"] = str(args.home)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_feedback
    import dagster as dg
    from dagster_duckdb import DuckDBResource

    from playlist_assets import settings
    from playlist_assets.defs import feedback as fdefs
    from playlist_assets.lib.duckdb_host import attached

    graph = [fdefs.recommendation_impressions, fdefs.recommendation_feedback, fdefs.online_metrics]
    resources = {"warehouse": DuckDBResource(database=str(settings.warehouse_path()))}
    ways = {"connect": lambda w: w.get_connection(), "attach": lambda w: attached(w.database)}
    spent: dict[str, list[float]] = {way: [] for way in ways}
    keys = [datetime(2026, 11, 1, h).strftime("%Y-%m-%d-%H:%M") for h in (2, 3, 4)]
    with bench_feedback.bench_instance("project") as instance:
        dg.materialize(graph, partition_key=keys[0], resources=resources, instance=instance)
        for r in range(args.rounds):
            for way in list(ways) if r % 2 == 0 else list(ways)[::-1]:
                fdefs._connect = ways[way]
                for key in keys:
                    began = time.process_time()
                    result = dg.materialize(
                        graph, partition_key=key, resources=resources, instance=instance
                    )
                    spent[way].append(time.process_time() - began)
                    assert result.success, key
    for way, runs in spent.items():
        print(f"{way}: {len(runs)} hours, median {statistics.median(runs):.3f} CPU-s")
    paired = [a - c for a, c in zip(spent["attach"], spent["connect"], strict=True)]
    print(
        f"attach - connect, paired by hour: median {statistics.median(paired):+.3f}, "
        f"mean {statistics.mean(paired):+.3f} CPU-s"
    )


if __name__ == "__main__":
    main()
