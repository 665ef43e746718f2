"""Rewrite a simulated day's impression lines so that no two requests share a seed or ranked list.

The listener simulator's listeners ask with the same seeds every time, so a day of 1.7 million
impressions holds ~100 distinct lists; real listeners' lists rarely repeat. Run on a copy of a
``bench_feedback.py`` data folder before ``bench_feedback.py --hourly-only`` to price the hourly
assets on traffic whose lists are all distinct: per request (seeded by its id) one seed is
dropped and the seeds and the ranked songs are shuffled. Every event still answers a song its
request listed; the lines keep the API's compact JSON.

    .venv/bin/python benchmarks/distinct_lists.py --home <copy> --hours 9
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path


def distinct(line: str) -> str:
    row = json.loads(line)
    rng = random.Random(row["request_id"])
    if len(row["seeds"]) > 2:
        row["seeds"].pop(rng.randrange(len(row["seeds"])))
    rng.shuffle(row["seeds"])
    rng.shuffle(row["ranked"])
    return json.dumps(row, separators=(",", ":"), ensure_ascii=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a copy of a bench data folder")
    parser.add_argument("--hours", type=int, default=24, help="the first N hours' folders")
    args = parser.parse_args()
    for folder in sorted((args.home / "landing" / "impressions").iterdir())[: args.hours]:
        for path in folder.glob("*.jsonl"):
            lines = path.read_text().splitlines()
            path.write_text("".join(distinct(line) + "\n" for line in lines))
            print(f"{path}: {len(lines)} lines", flush=True)


if __name__ == "__main__":
    main()
