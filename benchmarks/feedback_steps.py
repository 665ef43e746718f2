"""CPU of each statement of one hour's feedback steps, in process (Dagster and GE left out).

The three hourly steps' own work as they do it (one connection per step: ``load_hour`` and the
check's ``hour_summary`` for impressions and feedback, ``hour_counts`` + ``replace_metrics`` for
the metrics), re-materializing ``--hour`` of a copy of a ``bench_feedback.py`` folder whose
earlier hours are stored (the hour itself stored or not). ``time.process_time`` around each
statement; per statement and per step the minimum and median of ``--runs``. Two builds: the
other build's package first on PYTHONPATH, alternately, on the same copy.

    (cd <tree> && PYTHONPATH=<tree> nice -n 5 /work/main/.venv/bin/python \
        benchmarks/feedback_steps.py --home <copy> --hour 3 --runs 5)

``--open attach`` opens each step's warehouse as the assets do since fbcpu8 (attached to the
process's in-memory DuckDB, ``lib.duckdb_host``); ``connect`` (the default) a database of its
own per step, as before.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import time
import traceback
from datetime import datetime, timedelta
from pathlib import Path


class _Timed:
    """A connection whose ``execute`` adds its CPU to ``spent`` under the calling line."""

    def __init__(self, conn, spent: collections.Counter) -> None:  # noqa: ANN001 - duckdb's
        self._conn, self._spent = conn, spent

    def execute(self, sql: str, *args):  # noqa: ANN002, ANN201 - duckdb's signature
        caller = traceback.extract_stack(limit=2)[0]
        began = time.process_time()
        result = self._conn.execute(sql, *args)
        key = f"{Path(caller.filename).stem}:{caller.lineno} {' '.join(sql.split())[:60]}"
        self._spent[key] += time.process_time() - began
        return result

    def __getattr__(self, name: str):  # noqa: ANN204 - everything else as it is
        return getattr(self._conn, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--hour", type=int, default=3, help="hour of 2026-11-01")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--open", choices=("connect", "attach"), default="connect")
    args = parser.parse_args()
    os.environ["PLAYLIST_ASSETS_HOME"] = str(args.home)
    import duckdb

    from playlist_assets.lib.feedback import lines, store, suites
    from playlist_assets.lib.feedback.metrics import arm_difference, rates
    from playlist_assets.lib.recommend.names import NEW_SONG_HOURS

    start = datetime(2026, 11, 1) + timedelta(hours=args.hour)
    end = start + timedelta(hours=1)
    statements, steps = collections.defaultdict(list), collections.defaultdict(list)
    for _ in range(args.runs):
        spent: collections.Counter = collections.Counter()
        total = 0.0
        for step in ("impressions", "feedback", "metrics"):
            began = time.process_time()
            if args.open == "attach":
                from playlist_assets.lib.duckdb_host import attached

                opened = attached(str(args.home / "warehouse.duckdb"))
                raw = opened.__enter__()
            else:
                raw = duckdb.connect(
                    str(args.home / "warehouse.duckdb"), config={"custom_user_agent": "dagster"}
                )
            conn = _Timed(raw, spent)
            store.for_an_hour(conn)
            if step != "metrics":
                lines.load_hour(conn, args.home / "landing", step, start, end)
                suites.hour_summary(conn, step == "feedback", start, end)
            else:
                counts, users = store.hour_counts(conn, start, end, NEW_SONG_HOURS)
                tables = {
                    store.METRICS_TABLE: rates(counts).assign(partition_hour=start),
                    store.ARM_DIFFERENCE_TABLE: arm_difference(counts, start, users),
                    store.USER_COUNTS_TABLE: users.assign(partition_hour=start),
                }
                store.replace_metrics(conn, tables, start, end)
            closing = time.process_time()
            if args.open == "attach":
                opened.__exit__(None, None, None)
            else:
                raw.close()
            spent[f"close {step}"] += time.process_time() - closing
            steps[step].append(time.process_time() - began)
            total += steps[step][-1]
        steps["all three"].append(total)
        for key, seconds in spent.items():
            statements[key].append(seconds)
    for key, runs in sorted(statements.items(), key=lambda kv: -min(kv[1])):
        if min(runs) > 0.004:
            print(f"min {min(runs):.3f} median {statistics.median(runs):.3f}  {key}")
    for step, runs in steps.items():
        print(f"step {step}: min {min(runs):.3f} median {statistics.median(runs):.3f} CPU-s")


if __name__ == "__main__":
    main()
