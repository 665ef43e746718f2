"""Genre classifier: ours against the old GradientBoostingClassifier on the real Kaggle file.

Restricts the file to the ten default genres, de-duplicates by track_id (first occurrence wins),
splits with ``playlist_assets.lib.classifier.split.is_test``, fits on the train side and scores on the test
side. Fit time is the median of ``--repeat`` fits (the old model: one) with OpenMP limited to
``--threads`` as in production; peak memory = Python-tracked allocations (tracemalloc, numpy
buffers included) during one separate, untimed fit.

    .venv/bin/python benchmarks/bench_classifier.py [CSV] [--skip-old] [--repeat N] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from playlist_assets.lib.classifier.pipeline import build_classifier, evaluate
from playlist_assets.lib.classifier.split import is_test
from playlist_assets.lib.schema import AUDIO_FEATURES, KAGGLE_COLUMNS, TYPED_DTYPES
from playlist_assets.settings import DEFAULT_GENRES

DEFAULT_CSV = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "spotify_tracks" / "dataset.csv.gz"
)


def load_songs(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path)
    songs = raw[raw["track_genre"].isin(DEFAULT_GENRES)].drop_duplicates("track_id", keep="first")
    return songs.loc[:, list(KAGGLE_COLUMNS)].astype(TYPED_DTYPES).reset_index(drop=True)


def on_audio(model: Any) -> Pipeline:
    """The old system's view of a song: the twelve audio features only."""
    select = ColumnTransformer([("audio", "passthrough", list(AUDIO_FEATURES))])
    return Pipeline([("select", select), ("model", model)])


def measure(name: str, make: Any, train: pd.DataFrame, test: pd.DataFrame, repeat: int) -> dict:
    y = train["track_genre"].astype(str).to_numpy()
    times = []
    for _ in range(repeat):
        model = make()
        start = time.perf_counter()
        model.fit(train, y)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    metrics = evaluate(model, test)
    predict_s = time.perf_counter() - start
    # tracemalloc slows allocation-heavy fits ~2.5x: memory gets its own, untimed fit.
    tracemalloc.start()
    make().fit(train, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    row = {
        "model": name,
        "fit_s": statistics.median(times),
        "predict_s": predict_s,
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "log_loss": metrics["log_loss"],
        "peak_mb": peak / 2**20,
    }
    print(
        f"  {name}: fit {row['fit_s']:.2f} s, accuracy {row['accuracy']:.4f}, "
        f"macro-F1 {row['macro_f1']:.4f}",
        file=sys.stderr,
        flush=True,
    )
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--skip-old", action="store_true", help="skip the ~1 min old model")
    parser.add_argument("--repeat", type=int, default=3, help="timed fits per fast model (median)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="OpenMP threads per fit (fit_classifier's default: 1)",
    )
    args = parser.parse_args(argv)
    if not args.csv.exists():
        print(f"skipped: {args.csv} not found (pass the Kaggle tracks CSV path)")
        return 0

    songs = load_songs(args.csv)
    test_mask = is_test(songs["track_id"])
    train, test = songs[~test_mask], songs[test_mask]
    print(
        f"{len(songs):,} songs in {songs['track_genre'].nunique()} genres; "
        f"train {len(train):,}, test {len(test):,}; {os.cpu_count()} CPUs, "
        f"{args.threads} OpenMP thread(s), load average {os.getloadavg()[0]:.1f} at start\n"
    )

    candidates: list[tuple[str, Any, int]] = []
    if not args.skip_old:
        old = GradientBoostingClassifier(
            learning_rate=0.008, max_depth=5, n_estimators=250, random_state=0
        )
        candidates.append(
            ("old: GradientBoosting, audio features", lambda: on_audio(clone(old)), 1)
        )
    candidates += [
        (
            "HistGradientBoosting defaults, audio features",
            lambda: on_audio(HistGradientBoostingClassifier(random_state=0)),
            args.repeat,
        ),
        (
            "ours without artist (use_artist=False)",
            lambda: build_classifier(use_artist=False),
            args.repeat,
        ),
        ("ours (DEFAULT_PARAMS)", build_classifier, args.repeat),
    ]
    with threadpool_limits(limits=args.threads, user_api="openmp"):
        rows = [measure(name, make, train, test, n) for name, make, n in candidates]

    print(
        "| model | fit wall (s) | predict test (s) | accuracy | macro-F1 | log-loss "
        "| peak fit memory (MiB) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['model']} | {r['fit_s']:.2f} | {r['predict_s']:.2f} | {r['accuracy']:.4f} "
            f"| {r['macro_f1']:.4f} | {r['log_loss']:.3f} | {r['peak_mb']:.1f} |"
        )
    ours = rows[-1]
    if not args.skip_old:
        old_row = rows[0]
        print(
            f"\nold/ours fit time: {old_row['fit_s'] / ours['fit_s']:.1f}x faster; "
            f"accuracy {ours['accuracy'] - old_row['accuracy']:+.4f}, "
            f"macro-F1 {ours['macro_f1'] - old_row['macro_f1']:+.4f}; "
            f"peak memory old/ours {old_row['peak_mb'] / ours['peak_mb']:.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
