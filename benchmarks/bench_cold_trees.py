"""The cold-song trees as bit masks against scikit-learn's own walk, inside one process.

On a data folder with a loaded recommender (``year_base.py`` builds a year of fresh songs), for
the first 10 tracks of up to 400 real playlists of its warehouse: the cold candidates' feature
rows each request hands the trees, their logits compared to the bit (masks against
``decision_function``); then, in alternating rounds so load hits both alike, with scikit-learn
(the ``ColdSongModel`` told it has no masks: one thread, as before) and with the masks, the
trees' logits alone (``ColdSongModel.trees_logit``) and ``Recommender.rank`` (k=100, hybrid),
CPU ms per request.

    .venv/bin/python benchmarks/bench_cold_trees.py --home /tmp/apiwork/year [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from bench_api import playlists
from threadpoolctl import threadpool_limits

from playlist_assets.lib.recommend.cold_model import COLUMNS, ColdSongModel
from playlist_assets.lib.recommend.load import load_recommender
from playlist_assets.lib.recommend.trees import masked_trees


def cpu_ms(work, items: list) -> float:
    started = time.process_time()
    for item in items:
        work(item)
    return 1000 * (time.process_time() - started) / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    threadpool_limits(1)  # as the service
    recommender = load_recommender(args.home)
    recommender.table.warm_up()
    cold = recommender.blends.cold_song_model
    seeds = playlists(args.home)
    rows: list[np.ndarray] = []
    logit = ColdSongModel.logit
    ColdSongModel.logit = lambda self, x: rows.append(x[:, COLUMNS].copy()) or logit(self, x)
    for tracks in seeds:
        recommender.rank(tracks, 100, allow_unknown=True)
    ColdSongModel.logit = logit
    masks = masked_trees(cold.model)
    equal = sum(np.array_equal(masks.raw(x), cold.model.decision_function(x)) for x in rows)
    times: dict[str, list[float]] = {
        k: [] for k in ("sklearn", "masks", "rank sklearn", "rank masks")
    }
    for _ in range(args.rounds):
        for name, state in (("sklearn", False), ("masks", masks)):
            cold._masked = state  # False: scikit-learn, in one thread as before
            times[name].append(cpu_ms(cold.trees_logit, rows))
            times[f"rank {name}"].append(
                cpu_ms(lambda t: recommender.rank(t, 100, allow_unknown=True), seeds)
            )
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"{len(rows)} requests, cold rows per request median {np.median([len(x) for x in rows]):.0f}"
    )
    print(
        f"trees: {cold.model.n_iter_}, leaves at most {masks.values.shape[1]}; logits equal to the bit: {equal} of {len(rows)}"
    )
    print("| CPU ms per request (median of rounds) | scikit-learn | masks | ratio |")
    print("| --- | ---: | ---: | ---: |")
    print(
        f"| the trees alone | {med['sklearn']:.2f} | {med['masks']:.2f} | {med['sklearn'] / med['masks']:.1f}x |"
    )
    print(
        f"| Recommender.rank, k=100 hybrid | {med['rank sklearn']:.2f} | {med['rank masks']:.2f} | {med['rank sklearn'] / med['rank masks']:.2f}x |"
    )


if __name__ == "__main__":
    main()
