"""Listeners' feedback loop: CPU of the hourly feedback assets, the A/B readout, training on feedback.

    nice -n 10 .venv/bin/python benchmarks/bench_feedback.py [--rate 20] [--hours 24] [--home DIR]
        [--share 0.1] [--per-playlist 10] [--hourly-only | --training-only | --ab-only]

(One file over 400 lines on purpose: the steps below share the data folder and the listeners,
and a reader checks each figure from its step to its print in one place.)

1. A data folder with the sample data's graph materialized (``scripts/materialize_all.sh``, or
   ``--home`` of an existing one), the serving co-occurrence installed as a challenger too.
2. Listeners: ``--per-playlist`` per held-out playlist (``simulate.listeners_from``: each with
   their own share of the playlist's taste, deterministic by listener id). The playlists are
   split in two by a hash of their id: the *feedback* half's listeners use the service on the
   simulated day; the *unseen* half never does (their playlists gave no feedback).
3. The feedback half at ``--rate`` requests per simulated second for ``--hours``, ``--share``
   of the listeners on the challenger (10 %), on 20 % of whose lists listeners accept nothing
   (``challenger_penalty=0.2``: a challenger 20 % worse on acceptance by construction).
4. Each hour: ``recommendation_impressions``, ``recommendation_feedback``, ``online_metrics``
   and both checks (in their assets' steps) in one in-process run; CPU seconds of the process per hour (steady state:
   the code location's imports are paid once) and the cumulative A/B verdict after each hour
   (listeners as units).
5. ``track_cooccurrence`` retrained twice by the same code, with the day's feedback in the
   warehouse and without it (the feedback table renamed away for the second run). Each is then
   served to held-out listeners (a new seed, no challenger): the unseen playlists' listeners,
   new listeners of the feedback playlists (ids never seen), and, for contrast, the listeners
   whose feedback trained it. Acceptance of each with its interval (listeners as units) and
   the paired difference (the same listeners and requests under both); then every held-out
   listener together (the unseen playlists' and the new listeners: feedback did not train any).

``--hourly-only``: step 4 alone, on landing lines already in ``--home`` (an earlier run's):
two builds measured on the same lines (the other build's package first on PYTHONPATH).

Step 4 runs on the Dagster instance the project deploys by default (``--instance project``: the
repository's ``dagster.yaml`` in a fresh folder, ``instance_storage.ProjectInstance``: one event
log with one pooled engine, the ``duckdb`` pool's slot). ``--instance test`` is the one of the
figures before 2026-12-07 20:00 (``dg.instance_for_test``: Dagster's default SQLite storage, a new
database file and engine per run and per event), ~0.2 CPU-s an hour more of Dagster's own work.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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


FEEDBACK_HALF_SALT = "bench_feedback.v1"


def split_listeners(listeners: list, per_playlist: int) -> dict[str, list]:
    """The feedback half's listeners (ids j < per_playlist), new listeners of the same
    playlists (j >= per_playlist), and the unseen half's listeners (j < per_playlist)."""
    import hashlib

    def feedback_half(playlist: str) -> bool:
        digest = hashlib.blake2b(f"{FEEDBACK_HALF_SALT}:{playlist}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big") % 2 == 0

    groups: dict[str, list] = {"feedback": [], "new listeners": [], "unseen playlists": []}
    for listener in listeners:
        j = int(listener.user.rsplit("-", 1)[1])
        if feedback_half(listener.playlist):
            groups["feedback" if j < per_playlist else "new listeners"].append(listener)
        elif j < per_playlist:
            groups["unseen playlists"].append(listener)
    return groups


def ab_only(
    home: Path, rate: float, hours: int, share: float, penalty: float, per_playlist: int
) -> None:
    """The A/B readout alone, on the same simulated traffic kept in memory (no landing files,
    no assets): per-listener counts per hour into ``arm_difference`` after each hour."""
    import random

    import pandas as pd

    from playlist_assets.lib.feedback.contract import ACCEPTING_EVENTS, arm_of
    from playlist_assets.lib.feedback.listeners import held_out_listeners, offline_ranker
    from playlist_assets.lib.feedback.metrics import arm_difference
    from playlist_assets.lib.feedback.simulate import Behaviour, react

    listeners = split_listeners(
        held_out_listeners(home, per_playlist=2 * per_playlist), per_playlist
    )["feedback"]
    rank, _ = offline_ranker(home)
    how, rng, cache = Behaviour(challenger_penalty=penalty), random.Random(1), {}
    per_user: dict[tuple[str, str], list[int]] = {}
    per_hour = int(rate * 3600)
    arms = {arm_of(x.user, share) for x in listeners}
    print(
        f"{len(listeners)} listeners, {sum(arm_of(x.user, share) != 'champion' for x in listeners)} on the challenger ({sorted(arms)})",
        flush=True,
    )
    for h in range(hours):
        for _ in range(per_hour):
            listener = listeners[rng.randrange(len(listeners))]
            arm = arm_of(listener.user, share)
            if listener.seeds not in cache:
                cache[listener.seeds] = rank("champion", listener.seeds)[0]
            reactions = react(listener, cache[listener.seeds][:10], arm, rng, how)
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


def retrain(home: Path) -> None:
    """``track_cooccurrence`` materialized by the Dagster CLI (as a deployment's retrain)."""
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
        env={**os.environ, "PLAYLIST_ASSETS_HOME": str(home)},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def acceptance(tally) -> dict[str, tuple[int, int]]:  # noqa: ANN001 - a simulate.Tally
    """Per listener (requests, accepted) of the champion arm."""
    return {u: (n, a) for (arm, u), (n, a) in tally.by_listener.items() if arm == "champion"}


def rate_text(cells: dict[str, tuple[int, int]]) -> str:
    """The acceptance rate of these listeners with its clustered 95 % interval (each
    listener one unit), as text."""
    import math

    import numpy as np

    from playlist_assets.lib.feedback.metrics import Z_95, clustered_rate

    shown, hits = np.array(list(cells.values()), dtype=float).reshape(-1, 2).T
    rate, variance = clustered_rate(shown, hits)
    half = Z_95 * math.sqrt(variance)
    return f"{rate:.4f} [{rate - half:.4f}, {rate + half:.4f}] ({len(cells)} listeners, {int(shown.sum())} requests)"


def paired(without: dict, with_: dict) -> str:
    """With minus without acceptance on the same listeners and requests, its clustered
    interval (each listener's difference of accepted requests one unit)."""
    import math

    import numpy as np

    from playlist_assets.lib.feedback.metrics import Z_95, clustered_rate

    users = sorted(without)
    shown = np.array([without[u][0] for u in users], dtype=float)
    diff = np.array([with_[u][1] - without[u][1] for u in users], dtype=float)
    rate, variance = clustered_rate(shown, diff)
    half = Z_95 * math.sqrt(variance)
    return f"{rate:+.4f} [{rate - half:+.4f}, {rate + half:+.4f}]"


@contextlib.contextmanager
def bench_instance(kind: str) -> Iterator:
    """The Dagster instance of step 4 (``--instance``, module docstring), thrown away after."""
    import dagster as dg

    if kind == "test":
        with dg.instance_for_test() as instance:
            yield instance
        return
    with tempfile.TemporaryDirectory(prefix="bench_feedback_instance_") as folder:
        shutil.copy(ROOT / "dagster.yaml", folder)
        with dg.DagsterInstance.from_config(folder) as instance:
            yield instance


def hourly(hours: int, share: float, start: datetime, instance_kind: str = "project") -> None:
    """Each simulated hour's feedback assets materialized as the sensor would: CPU per hour and
    when the A/B readout first calls the challenger worse."""
    import dagster as dg
    import duckdb
    from dagster_duckdb import DuckDBResource

    from playlist_assets import settings
    from playlist_assets.defs import feedback as fdefs
    from playlist_assets.defs import feedback_checks as cdefs
    from playlist_assets.lib.feedback import store
    from playlist_assets.lib.feedback.metrics import arm_difference

    graph = [fdefs.recommendation_impressions, fdefs.recommendation_feedback, fdefs.online_metrics]
    # The checks run in their assets' steps; an older build on PYTHONPATH (main before fbcpu2)
    # defines them apart, as ``@asset_check``s in the same module.
    graph += [c for c in vars(cdefs).values() if isinstance(c, dg.AssetChecksDefinition)]
    resources = {"warehouse": DuckDBResource(database=str(settings.warehouse_path()))}
    cpu, detected = [], None
    with bench_instance(instance_kind) as instance:
        print(f"instance: {type(instance).__name__} ({instance_kind})", flush=True)
        for h in range(hours + 1):
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
        f"max {max(steady):.2f} (first, with imports: {cpu[0]:.2f}; "
        f"the empty hour after the day: {cpu[-1]:.2f})"
    )
    print(
        f"A/B at a {share:.0%} share: 20 %-worse challenger detected after {detected} "
        "simulated hour(s)"
        if detected
        else "A/B: not detected within the run"
    )
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}", flush=True)


def print_differences(label: str, cells: dict[str, dict]) -> None:
    """Each model trained with feedback against the one without, paired by listener."""
    for name in cells:
        if name != "without feedback":
            print(
                f"{label}: {name} - without (paired): "
                f"{paired(cells['without feedback'], cells[name])}",
                flush=True,
            )


def main() -> None:
    """The steps of the module docstring in order (one function: each step reads the data
    folder, listeners and clock the previous one left; ``--ab-only``, ``--hourly-only`` and
    ``--training-only`` run parts of it)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--home", type=Path)
    parser.add_argument("--share", type=float, default=0.1, help="listeners on the challenger")
    parser.add_argument("--per-playlist", type=int, default=10, help="listeners per playlist")
    parser.add_argument("--ab-only", action="store_true", help="only the A/B readout, in memory")
    parser.add_argument(
        "--hourly-only",
        action="store_true",
        help="only the hourly materializations, on the landing lines already in --home (of an "
        "earlier run: the same lines for two builds)",
    )
    parser.add_argument(
        "--instance",
        choices=("project", "test"),
        default="project",
        help="step 4's Dagster instance: the project's dagster.yaml, or dg.instance_for_test "
        "(the figures before 2026-12-07 20:00)",
    )
    parser.add_argument(
        "--training-only",
        action="store_true",
        help="only the retrains with and without feedback and their held-out listeners, on the "
        "day already stored in --home (of an earlier run: the same feedback for two builds)",
    )
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="bench_feedback_"))
    os.environ["PLAYLIST_ASSETS_HOME"] = str(home)
    if args.ab_only:
        return ab_only(home, args.rate, args.hours, args.share, 0.2, args.per_playlist)
    if not (home / "warehouse.duckdb").exists():
        began = time.perf_counter()
        setup(home)
        print(f"setup: materialize_all.sh in {time.perf_counter() - began:.0f} s", flush=True)

    import duckdb

    from playlist_assets import settings
    from playlist_assets.lib.feedback import store
    from playlist_assets.lib.feedback.listeners import held_out_listeners, offline_ranker
    from playlist_assets.lib.feedback.simulate import Behaviour, run_offline
    from playlist_assets.lib.recommend import champion

    models = settings.models_dir()
    serving, info = champion.serving(models)
    card = champion.Card("bench-challenger", "bench", champion.CHALLENGER, "now", "bench")
    champion.install(models, champion.CHALLENGER, serving, card)
    start = datetime(2026, 11, 1)
    if not args.hourly_only:
        groups = split_listeners(
            held_out_listeners(home, per_playlist=2 * args.per_playlist), args.per_playlist
        )
        listeners = groups["feedback"]
        print(
            ", ".join(
                f"{name}: {len(g)} listeners of {len({x.playlist for x in g})} playlists"
                for name, g in groups.items()
            ),
            flush=True,
        )
    if not (args.hourly_only or args.training_only):
        rank, _ = offline_ranker(home)
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
        on_challenger = len({u for arm, u in tally.by_listener if arm == champion.CHALLENGER})
        print(
            f"simulated {sum(tally.requests.values())} requests, {tally.events} events of "
            f"{len(listeners)} listeners ({on_challenger} on the challenger) in "
            f"{time.perf_counter() - began:.0f} s: {tally.summary()}",
            flush=True,
        )

    if not args.training_only:
        hourly(args.hours, args.share, start, args.instance)
    if args.hourly_only:
        return
    champion.retire_challenger(models)
    trained = {}
    for name in ("with feedback", "without feedback"):
        began = time.perf_counter()
        hide = name == "without feedback"
        if hide:
            with duckdb.connect(str(settings.warehouse_path())) as con:
                con.execute(f"alter table {store.FEEDBACK_TABLE} rename to bench_feedback_off")
        try:
            retrain(home)
        finally:
            if hide:
                with duckdb.connect(str(settings.warehouse_path())) as con:
                    con.execute(
                        "alter table main.bench_feedback_off rename to recommendation_feedback"
                    )
        with open(models / "track_cooccurrence", "rb") as fh:
            trained[name] = pickle.load(fh)
        fed = trained[name].feedback_counts
        print(
            f"retrain {name}: {time.perf_counter() - began:.0f} s, "
            f"{0 if fed is None else fed.nnz} (seed, song) pairs from feedback "
            f"({0 if fed is None else int((fed.data > 0).sum())} raised, the rest lowered)",
            flush=True,
        )
    from playlist_assets.lib.recommend.load import load_recommender

    base = load_recommender(home)
    # The retrain also re-tunes the blends and the merge on ~140 validation playlists: "same
    # blends" serves the feedback's co-occurrence with the blends chosen without it, so the
    # evidence is judged apart from the tuning's noise.
    same = "with feedback, same blends"
    served = {
        "without feedback": (trained["without feedback"], None),
        "with feedback": (trained["with feedback"], None),
        same: (trained["with feedback"], trained["without feedback"].blends),
    }
    cells: dict[str, dict[str, dict]] = {}  # group -> model -> listener -> (requests, accepted)
    for group in ("unseen playlists", "new listeners", "feedback"):
        cells[group] = {}
        for name, (cooccurrence, blends) in served.items():
            recommender = base.with_cooccurrence(cooccurrence, blends)

            def ranker(arm, seeds, r=recommender, name=name):  # noqa: ANN001, ANN202
                ids = r.recommend(list(seeds), 10, "hybrid", allow_unknown=True).track_ids
                return [str(t) for t in ids], name

            with tempfile.TemporaryDirectory() as scratch:
                day2 = run_offline(
                    groups[group],
                    ranker,
                    Path(scratch),
                    start=start + timedelta(days=2),
                    rate=1.0,
                    hours=4,
                    challenger_share=0.0,
                    seed=2,
                )
            cells[group][name] = acceptance(day2)
            print(f"{group}: acceptance {name}: {rate_text(cells[group][name])}", flush=True)
        print_differences(group, cells[group])
    # Every listener whose feedback did not train it: both held-out groups' listeners (distinct
    # ids, each with the requests of its group's run), one unit each.
    held_out = "held-out (unseen playlists + new listeners)"
    together = {
        name: {**cells["unseen playlists"][name], **cells["new listeners"][name]} for name in served
    }
    assert len(together["without feedback"]) == len(
        cells["unseen playlists"]["without feedback"]
    ) + len(cells["new listeners"]["without feedback"]), "a listener in both held-out groups"
    for name, group_cells in together.items():
        print(f"{held_out}: acceptance {name}: {rate_text(group_cells)}", flush=True)
    print_differences(held_out, together)
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    sys.exit(main())
