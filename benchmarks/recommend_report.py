"""The report of benchmarks/bench_recommend.py: its tables and the goals of issue 25."""

from __future__ import annotations

import os
import statistics
from datetime import datetime, timezone

import numpy as np

STRATEGIES = ("hybrid", "cooccurrence", "popular", "random")
WARM = ("r_precision", "ndcg", "clicks", "hit_at_10", "hit_at_100")
COLD = ("recall_at_100", "recall_at_500")
SPARSE = ("few", "first10")  # warm slices with few catalogue seeds (sparse_slices)


def render(results, builds, timings, latency, folds, held_out, min_catalogue) -> str:
    def mean(build: str, strategy: str, kind: str, metric: str) -> float | None:
        rows = results.get((build, strategy, kind))
        return float(np.mean([r[metric] for r in rows])) if rows else None

    def fmt(v: float | None, d: int = 4) -> str:
        return "n/a" if v is None else f"{v:.{d}f}"

    lines = [
        "# Playlist continuation through `playlist-assets recommend` (before and after)",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_recommend.py --folds {folds} --write` "
        f"({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; load average {os.getloadavg()[0]:.1f}).",
        "",
        f"{folds} folds; each holds {held_out:.0%} of the shared MPD playlists out of the playlists "
        "file; their first halves are answered by the CLI (k = 500) after materializing the graph "
        "on the real Kaggle file and the rest; targets: the catalogue songs of the second halves. "
        "Cold: half of those targets stripped from every training playlist.",
        "",
        "| build | strategy | playlists | R-precision | NDCG | clicks | hit@10 | hit@100 | cold playlists | recall@100 | recall@500 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for build in builds:
        for strategy in STRATEGIES:
            if (build, strategy, "warm") not in results:
                continue
            warm = results[(build, strategy, "warm")]
            cold = results.get((build, strategy, "cold"), [])
            lines.append(
                f"| {build} | {strategy} | {len(warm)} | "
                + " | ".join(
                    fmt(mean(build, strategy, "warm", m), 2 if m == "clicks" else 4) for m in WARM
                )
                + f" | {len(cold)} | "
                + " | ".join(fmt(mean(build, strategy, "cold", m)) for m in COLD)
                + " |"
            )
    lines += [
        "",
        "Warm slices with few catalogue seeds (`sparse_slices`): **few**, the held-out playlists "
        f"with fewer than {min_catalogue} catalogue songs (left out above), their first half "
        "given; **first10**, every held-out playlist's first 10 tracks given.",
        "",
        "| build | strategy | slice | playlists | R-precision | NDCG | clicks | hit@10 | hit@100 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in SPARSE:
        for build in builds:
            for strategy in (s for s in STRATEGIES if (build, s, name) in results):
                lines.append(
                    f"| {build} | {strategy} | {name} | {len(results[(build, strategy, name)])} | "
                    + " | ".join(
                        fmt(mean(build, strategy, name, m), 2 if m == "clicks" else 4) for m in WARM
                    )
                    + " |"
                )
    if "now" in builds:
        goals = goal_rows(mean, builds)
        lines += [
            "",
            "## Goals (issue 25, on our own folds)",
            "",
            "| goal | value | target | met |",
            "|---|---|---|---|",
        ]
        lines += goals
    lines += ["", "## Time", "", "| measure | value |", "|---|---|"]
    for build in builds:
        if timings[build]:
            lines.append(
                f"| materialize the graph, {build} (median of {len(timings[build])}) | {statistics.median(timings[build]):.0f} s |"
            )
    for key, value in latency.items():
        lines.append(f"| this build: {key} | {value:.1f} |")
    return "\n".join(lines) + "\n"


def goal_rows(mean, builds) -> list[str]:
    reference = "before" if "before" in builds else "now"
    checks = [
        (
            "warm NDCG, now vs before",
            mean("now", "hybrid", "warm", "ndcg"),
            mean(reference, "hybrid", "warm", "ndcg"),
            ">=",
        ),
        (
            "warm R-precision, now vs before",
            mean("now", "hybrid", "warm", "r_precision"),
            mean(reference, "hybrid", "warm", "r_precision"),
            ">=",
        ),
        (
            "warm hit@100, now vs cooccurrence",
            mean("now", "hybrid", "warm", "hit_at_100"),
            mean("now", "cooccurrence", "warm", "hit_at_100"),
            ">=",
        ),
        ("warm clicks (at most 0.6)", mean("now", "hybrid", "warm", "clicks"), 0.6, "<="),
        (
            "cold recall@100 (at least 0.15)",
            mean("now", "hybrid", "cold", "recall_at_100"),
            0.15,
            ">=",
        ),
        (
            "cold recall@500, now vs popular",
            mean("now", "hybrid", "cold", "recall_at_500"),
            mean("now", "popular", "cold", "recall_at_500"),
            ">",
        ),
    ]
    rows = []
    for name, value, target, op in checks:
        if value is None or target is None:
            continue
        met = {">=": value >= target, "<=": value <= target, ">": value > target}[op]
        rows.append(f"| {name} | {value:.4f} | {op} {target:.4f} | {'yes' if met else 'no'} |")
    return rows
