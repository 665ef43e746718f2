"""Playlist continuation on real data, through the command users run, before and after.

For each fold, about 8% of the shared MPD playlists are held out of the playlists file entirely
(a keyed hash of the pid): their first half is ``visible.json``, the catalogue songs of their
second half are the hidden targets (the catalogue: the ten genres of the shared Kaggle file).
Each build materializes the whole graph headless on the real Kaggle file and the rest of the
playlists (``dagster asset materialize``, one hourly partition of the feed included, as
``scripts/materialize_all.sh`` does), then ``playlist-assets recommend --input visible.json --k
500 --format jsonl`` answers for every strategy; the answers are scored with the RecSys Challenge
2018 metrics. The cold variant strips half of the held-out playlists' target songs (by a keyed
hash) from every training playlist before materializing: recall@100/@500 of those songs is how
well a strategy brings back songs no playlist holds (item cold start). Two more warm slices have
little to go on, as many real playlists do (``sparse_slices``): playlists with fewer than 5
catalogue songs, and every held-out playlist's first 10 tracks.

Builds: ``before`` (f1401b6: every song with evidence first, before the fresh-songs work),
``regressed`` (0be3efb: a fixed head of 50 evidenced songs, then cold songs by a fixed offset)
and this checkout. Old builds run from ``git archive`` copies on this checkout's interpreter.

    .venv/bin/python benchmarks/bench_recommend.py [--folds 3] [--builds before,regressed,now]
                                                   [--write]

Also this build's request latency (in process, k = 100 and 500) and the batch CLI's wall time
and peak memory. Figures: benchmarks/results/recommend.md.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from recommend_report import COLD, SPARSE, STRATEGIES, render  # noqa: E402

from playlist_assets.settings import DEFAULT_GENRES  # noqa: E402  (the project's ten genres)

DATA = next(
    (p / "shared" / "data" for p in ROOT.parents if (p / "shared" / "data").is_dir()),
    ROOT.parent / "shared" / "data",
)
TRACKS = DATA / "spotify_tracks" / "dataset.csv.gz"
MPD = DATA / "mpd" / "mpd_followers10_reduced.json.gz"
RESULTS = ROOT / "benchmarks" / "results" / "recommend.md"
BUILDS = {"before": "f1401b6", "regressed": "0be3efb", "now": None}
HELD_OUT, MIN_CATALOGUE = 0.08, 5


def unit(value: object, salt: str) -> float:
    digest = hashlib.blake2b(f"{salt}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def make_fold(fold: int, folder: Path, catalogue: set[str], data: dict) -> dict:
    """train.json, train_cold.json, visible.json and the hidden targets of one fold."""
    held, train = [], []
    for p in data["playlists"]:
        (held if unit(p["pid"], f"bench-heldout-{fold}") < HELD_OUT else train).append(p)
    visible, hidden = [], {}
    for p in held:
        ids = [t["track_uri"].split(":")[-1] for t in p["tracks"]]
        half = len(ids) // 2
        given = set(ids[:half])
        targets = [t for t in dict.fromkeys(ids[half:]) if t in catalogue and t not in given]
        if half and targets and len({i for i in ids if i in catalogue}) >= MIN_CATALOGUE:
            visible.append(
                {**{k: v for k, v in p.items() if k != "tracks"}, "tracks": p["tracks"][:half]}
            )
            hidden[str(p["pid"])] = targets
    sparse = sparse_slices(held, catalogue)
    stripped = {t for ts in hidden.values() for t in ts if unit(t, f"bench-cold-{fold}") < 0.5}
    cold_train = [
        {**p, "tracks": [t for t in p["tracks"] if t["track_uri"].split(":")[-1] not in stripped]}
        for p in train
    ]
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in (
        ("train.json", {"playlists": train}),
        ("train_cold.json", {"playlists": cold_train}),
        ("visible.json", {"playlists": visible}),
        *((f"visible-{name}.json", {"playlists": v}) for name, (v, _) in sparse.items()),
    ):
        (folder / name).write_text(json.dumps(doc))
    cold_hidden = {pid: [t for t in ts if t in stripped] for pid, ts in hidden.items()}
    return {
        "hidden": hidden,
        "cold_hidden": {p: t for p, t in cold_hidden.items() if t},
        **{name: targets for name, (_, targets) in sparse.items()},
    }


def sparse_slices(held: list[dict], catalogue: set[str]) -> dict[str, tuple[list, dict]]:
    """Warm slices with little to go on, as many real playlists are: "few" (fewer than
    MIN_CATALOGUE catalogue songs in the whole playlist, its first half given) and "first10"
    (every held-out playlist's first 10 tracks given). Each: (visible playlists, targets)."""
    out: dict[str, tuple[list, dict]] = {}
    for name in SPARSE:
        visible, hidden = [], {}
        for p in held:
            ids = [t["track_uri"].split(":")[-1] for t in p["tracks"]]
            few = len({i for i in ids if i in catalogue}) < MIN_CATALOGUE
            cut = len(ids) // 2 if name == "few" else 10
            if (name == "few" and not few) or not 0 < cut < len(ids):
                continue
            given = set(ids[:cut])
            targets = [t for t in dict.fromkeys(ids[cut:]) if t in catalogue and t not in given]
            if targets and given & catalogue:
                rest = {k: v for k, v in p.items() if k != "tracks"}
                visible.append({**rest, "tracks": p["tracks"][:cut]})
                hidden[str(p["pid"])] = targets
        out[name] = (visible, hidden)
    return out


def checkout(commit: str | None, scratch: Path) -> Path:
    """The source tree of ``commit`` (None: this checkout)."""
    if commit is None:
        return ROOT
    target = scratch / f"build-{commit}"
    if not target.exists():
        target.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def materialize(source: Path, home: Path, playlists: Path, strip: float | None = None) -> float:
    """The whole graph on the real data, headless, as scripts/materialize_all.sh runs it."""
    env = {
        **os.environ,
        "PYTHONPATH": str(source),
        "PLAYLIST_ASSETS_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster_home"),
        "PLAYLIST_TRACKS_CSV": str(TRACKS),
        "PLAYLIST_MPD_PATH": str(playlists),
        "GX_ANALYTICS_ENABLED": "false",
    }
    (home / "dagster_home").mkdir(parents=True, exist_ok=True)
    (home / "dagster_home" / "dagster.yaml").write_text((source / "dagster.yaml").read_text())
    dagster = [
        sys.executable,
        "-m",
        "dagster",
        "asset",
        "materialize",
        "-m",
        "playlist_assets.definitions",
    ]
    started = time.perf_counter()
    settings = {"resources": {"recommender_settings": {"config": {"strip_fraction": strip}}}}
    graph, hourly = selections(source)
    graph = ["--select", graph]
    if strip is not None:
        graph += ["--config-json", json.dumps(settings)]
    for extra in (graph, ["--select", hourly, "--partition", "2026-11-01-00:00"]):
        run = subprocess.run(dagster + extra, env=env, cwd=source, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"materialize failed for {source}: {run.stderr[-2000:]}")
    return time.perf_counter() - started


def selections(source: Path) -> tuple[str, str]:
    """The unpartitioned and the hourly selections of ``source``'s scripts/materialize_all.sh
    (they changed over the builds), without the dashboard."""
    script = (source / "scripts" / "materialize_all.sh").read_text()
    chosen = re.findall(r"asset materialize .*--select '([^']+)'(.*)", script)
    graph = next(s for s, rest in chosen if "--partition" not in rest and s != "key:dashboard")
    hourly = next(s for s, rest in chosen if "--partition" in rest)
    return (graph if "dashboard" in graph else f"{graph} and not key:dashboard"), hourly


def served(source: Path, home: Path, visible: Path, strategy: str) -> dict[str, list[str]]:
    """``playlist-assets recommend --input`` of ``source`` on ``home``: pid -> ranked ids."""
    out = home / f"served-{strategy}.jsonl"
    env = {**os.environ, "PYTHONPATH": str(source), "PLAYLIST_ASSETS_HOME": str(home)}
    cli = [
        sys.executable,
        "-c",
        "import sys; from playlist_assets.cli import main; sys.exit(main())",
    ]
    args = ["recommend", "--input", str(visible), "--k", "500", "--format", "jsonl"]
    run = subprocess.run(
        cli + args + ["--strategy", strategy, "--output", str(out)],
        env=env,
        cwd=source,
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        raise RuntimeError(f"recommend failed ({source}, {strategy}): {run.stderr[-2000:]}")
    rows = (json.loads(line) for line in out.read_text().splitlines())
    return {str(r["pid"]): r["recommendations"] for r in rows}


def score(answers: dict[str, list[str]], targets: dict[str, list[str]], cold: bool) -> list[dict]:
    from playlist_assets.lib.recommend.metrics import recall_at, score_list

    rows = []
    for pid, wanted in targets.items():
        ids = answers.get(pid, [])
        if cold:
            rows.append({m: recall_at(ids, wanted, int(m.rsplit("_", 1)[1])) for m in COLD})
        else:
            rows.append(score_list(ids, wanted))
    return rows


def request_latency(home: Path, visible: Path) -> dict[str, float]:
    """This build's loaded recommender: load time, then one request per visible playlist."""
    from playlist_assets.lib.recommend.load import load_recommender

    started = time.perf_counter()
    recommender = load_recommender(home)
    out = {"load_s": time.perf_counter() - started, "songs": recommender.n}
    lists = json.loads(visible.read_text())["playlists"]
    for k in (100, 500):
        times = []
        for p in lists:
            tracks = [t["track_uri"] for t in p["tracks"]]
            artists = [t.get("artist_name") for t in p["tracks"]]
            begin = time.perf_counter()
            recommender.rank(tracks, k, "hybrid", artists=artists, allow_unknown=True)
            times.append(time.perf_counter() - begin)
        out[f"k{k}_p50_ms"] = 1000 * statistics.median(times)
        out[f"k{k}_p95_ms"] = 1000 * float(np.percentile(times, 95))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--builds", default="before,regressed,now")
    parser.add_argument(
        "--strips",
        default="",
        help="also this build with other strip_fractions, e.g. 0.2,0.3 (reported as now@0.2, ...)",
    )
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS}")
    args = parser.parse_args()
    builds = args.builds.split(",") + [f"now@{s}" for s in args.strips.split(",") if s]
    raw = pd.read_csv(TRACKS, index_col=0, usecols=[0, 1, 20])
    catalogue = set(raw.loc[raw["track_genre"].isin(DEFAULT_GENRES), "track_id"])
    with gzip.open(MPD) as fh:
        data = json.load(fh)
    scratch = Path(tempfile.mkdtemp(prefix="bench_recommend-"))
    results: dict[tuple[str, str, str], list[dict]] = {}
    timings: dict[str, list[float]] = {b: [] for b in builds}
    latency: dict[str, float] = {}
    for fold in range(args.folds):
        folder = scratch / f"fold{fold}"
        truth = make_fold(fold, folder, catalogue, data)
        for build in builds:
            name, _, strip = build.partition("@")
            source = checkout(BUILDS[name], scratch)
            for kind, playlists, targets in (
                ("warm", folder / "train.json", truth["hidden"]),
                ("cold", folder / "train_cold.json", truth["cold_hidden"]),
            ):
                home = folder / f"{build}-{kind}"
                timings[build].append(
                    materialize(source, home, playlists, float(strip) if strip else None)
                )
                for strategy in STRATEGIES if build == "now" else ("hybrid",):
                    answers = served(source, home, folder / "visible.json", strategy)
                    key = (build, strategy, kind)
                    results.setdefault(key, []).extend(score(answers, targets, kind == "cold"))
                for name in SPARSE if kind == "warm" else ():
                    for strategy in ("hybrid", "cooccurrence") if build == "now" else ("hybrid",):
                        answers = served(source, home, folder / f"visible-{name}.json", strategy)
                        key = (build, strategy, name)
                        results.setdefault(key, []).extend(score(answers, truth[name], False))
                if build == "now" and kind == "warm" and fold == 0:
                    latency = request_latency(home, folder / "visible.json")
            print(
                f"fold {fold} {build}: materialized in {timings[build][-2]:.0f} + {timings[build][-1]:.0f} s",
                flush=True,
            )
    report = render(results, builds, timings, latency, args.folds, HELD_OUT, MIN_CATALOGUE)
    print(report)
    if args.write:
        RESULTS.write_text(report)


if __name__ == "__main__":
    main()
