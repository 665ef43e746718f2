"""Listeners' feedback loop: CPU of the hourly feedback assets, the A/B readout, training on feedback.

    nice -n 10 .venv/bin/python benchmarks/bench_feedback.py [--rate 20] [--hours 24] [--home DIR]

1. A data folder with the sample data's graph materialized (``scripts/materialize_all.sh``, or
   ``--home`` of an existing one), the serving co-occurrence installed as a challenger too.
2. Simulated listeners (``lib.feedback.simulate.run_offline``) at ``--rate`` requests per
   simulated second for ``--hours``, ``--share`` of the listeners on the challenger (10 %),
   on 20 % of whose lists listeners accept nothing (``challenger_penalty=0.2``: a challenger
   20 % worse on acceptance by construction).
3. Each hour: ``recommendation_impressions``, ``recommendation_feedback``, ``online_metrics``
   and both checks in one in-process run; CPU seconds of the process per hour (steady state:
   the code location's imports are paid once) and the cumulative A/B verdict after each hour.
4. ``track_cooccurrence`` retrained with the feedback in the warehouse; the same listeners
   (new seed) served by the co-occurrence learned with and without the feedback: acceptance of
   each with its Wilson interval.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup(home: Path) -> None:
    env = {**os.environ, "PLAYLIST_ASSETS_HOME": str(home)}
    subprocess.run(
        ["bash", "scripts/materialize_all.sh"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def ab_only(home: Path, rate: float, hours: int, share: float, penalty: float) -> None:
    """The A/B readout alone, on the same simulated traffic kept in memory (no landing files,
    no assets): per-listener counts per hour into ``arm_difference`` after each hour."""
    import random

    import pandas as pd

    from playlist_assets.lib.feedback.contract import ACCEPTING_EVENTS, arm_of
    from playlist_assets.lib.feedback.listeners import held_out_listeners, offline_ranker
    from playlist_assets.lib.feedback.metrics import arm_difference
    from playlist_assets.lib.feedback.simulate import Behaviour, react

    listeners = held_out_listeners(home)
    rank, _ = offline_ranker(home)
    how, rng, cache = Behaviour(challenger_penalty=penalty), random.Random(1), {}
    per_user: dict[tuple[str, str], list[int]] = {}
    per_hour = int(rate * 3600)
    for h in range(hours):
        for _ in range(per_hour):
            listener = listeners[rng.randrange(len(listeners))]
            arm = arm_of(listener.user, share)
            if listener.user not in cache:
                cache[listener.user] = rank("champion", listener.seeds)[0]
            reactions = react(listener, cache[listener.user][:10], arm, rng, how)
            cell = per_user.setdefault((listener.user, arm), [0, 0])
            cell[0] += 1
            cell[1] += any(e in ACCEPTING_EVENTS for _, e in reactions)
        users = pd.DataFrame(
            [(u, a, n, k) for (u, a), (n, k) in per_user.items()],
            columns=["user", "arm", "impressions", "accepted_impressions"],
        ).assign(strategy="hybrid", model_version="v")
        counts = users.groupby(["model_version", "strategy", "arm"], as_index=False)[
            ["impressions", "accepted_impressions"]
        ].sum()
        v = arm_difference(counts, users=users).iloc[0]
        print(
            f"share {share:.0%}, hour {h + 1}: {v['verdict']} {v['difference']:+.4f} "
            f"[{v['difference_low']:+.4f}, {v['difference_high']:+.4f}] "
            f"(champion {v['champion_acceptance']:.4f}, challenger {v['challenger_acceptance']:.4f})",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--home", type=Path)
    parser.add_argument("--share", type=float, default=0.1, help="listeners on the challenger")
    parser.add_argument("--ab-only", action="store_true", help="only the A/B readout, in memory")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="bench_feedback_"))
    os.environ["PLAYLIST_ASSETS_HOME"] = str(home)
    if args.ab_only:
        return ab_only(home, args.rate, args.hours, args.share, 0.2)
    if not (home / "warehouse.duckdb").exists():
        began = time.perf_counter()
        setup(home)
        print(f"setup: materialize_all.sh in {time.perf_counter() - began:.0f} s", flush=True)

    import dagster as dg
    import duckdb
    from dagster_duckdb import DuckDBResource

    from playlist_assets import settings
    from playlist_assets.defs import feedback as fdefs
    from playlist_assets.defs import feedback_checks as cdefs
    from playlist_assets.lib.feedback import store
    from playlist_assets.lib.feedback.listeners import held_out_listeners, offline_ranker
    from playlist_assets.lib.feedback.metrics import arm_difference, wilson
    from playlist_assets.lib.feedback.simulate import Behaviour, run_offline
    from playlist_assets.lib.recommend import champion

    models = settings.models_dir()
    serving, info = champion.serving(models)
    card = champion.Card("bench-challenger", "bench", champion.CHALLENGER, "now", "bench")
    champion.install(models, champion.CHALLENGER, serving, card)
    listeners = held_out_listeners(home)
    rank, _ = offline_ranker(home)
    start = datetime(2026, 11, 1)
    began = time.perf_counter()
    tally = run_offline(
        listeners,
        rank,
        settings.landing_dir(),
        start=start,
        rate=args.rate,
        hours=args.hours,
        how=Behaviour(challenger_penalty=0.2),
        challenger_share=args.share,
        seed=1,
    )
    print(
        f"simulated {sum(tally.requests.values())} requests, {tally.events} events of "
        f"{len(listeners)} listeners in {time.perf_counter() - began:.0f} s: {tally.summary()}",
        flush=True,
    )

    graph = [
        fdefs.recommendation_impressions,
        fdefs.recommendation_feedback,
        fdefs.online_metrics,
        cdefs.recommendation_impressions_great_expectations,
        cdefs.recommendation_feedback_great_expectations,
    ]
    resources = {"warehouse": DuckDBResource(database=str(settings.warehouse_path()))}
    cpu, detected = [], None
    with dg.instance_for_test() as instance:
        for h in range(args.hours + 1):
            key = (start + timedelta(hours=h)).strftime("%Y-%m-%d-%H:%M")
            c0 = time.process_time()
            result = dg.materialize(
                graph, partition_key=key, resources=resources, instance=instance
            )
            cpu.append(time.process_time() - c0)
            assert result.success, key
            with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
                counts = store.read_metrics(con, store.METRICS_TABLE)
                users = store.read_metrics(con, store.USER_COUNTS_TABLE)
            hybrid = counts[counts["strategy"] == "hybrid"]
            verdict = arm_difference(hybrid, users=users[users["strategy"] == "hybrid"]).iloc[0]
            if detected is None and verdict["verdict"] == "challenger worse":
                detected = h + 1
            print(
                f"hour {key}: {cpu[-1]:.2f} CPU-s; A/B so far: {verdict['verdict']} "
                f"{verdict['difference']:+.4f} [{verdict['difference_low']:+.4f}, "
                f"{verdict['difference_high']:+.4f}]",
                flush=True,
            )
    steady = sorted(cpu[1:-1] or cpu)
    print(
        f"CPU-s per hourly materialization: median {steady[len(steady) // 2]:.2f}, "
        f"max {max(steady):.2f} (first, with imports: {cpu[0]:.2f})"
    )
    print(
        f"A/B: 20 %-worse challenger detected after {detected} simulated hour(s)"
        if detected
        else "A/B: not detected within the run"
    )

    before = serving
    env = {**os.environ, "PLAYLIST_ASSETS_HOME": str(home)}
    began = time.perf_counter()
    subprocess.run(
        [
            str(ROOT / ".venv/bin/dagster"),
            "asset",
            "materialize",
            "-m",
            "playlist_assets.definitions",
            "--select",
            "track_cooccurrence",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with open(models / "track_cooccurrence", "rb") as fh:
        after = pickle.load(fh)
    print(
        f"retrain with feedback: {time.perf_counter() - began:.0f} s, "
        f"{after.n_playlists - before.n_playlists} more training playlists"
    )
    champion.retire_challenger(models)
    from playlist_assets.lib.recommend.load import load_recommender

    base = load_recommender(home)
    for name, cooc in (("without feedback", before), ("with feedback", after)):
        recommender = base.with_cooccurrence(cooc)

        def ranker(arm, seeds, r=recommender, name=name):
            return [
                str(t) for t in r.recommend(list(seeds), 10, "hybrid", allow_unknown=True).track_ids
            ], name

        with tempfile.TemporaryDirectory() as scratch:
            day2 = run_offline(
                listeners,
                ranker,
                Path(scratch),
                start=start + timedelta(days=2),
                rate=1.0,
                hours=2,
                challenger_share=0.0,
                seed=2,
            )
        n, a = day2.requests.get("champion", 0), day2.accepted.get("champion", 0)
        rate, low, high = wilson(a, n)
        print(f"acceptance {name}: {rate:.4f} [{low:.4f}, {high:.4f}] on {n} requests")
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    sys.exit(main())
