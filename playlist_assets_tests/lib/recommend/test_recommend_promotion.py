"""Promotion: a paired bootstrap decides whether the new recommender is worse beyond noise."""

import numpy as np
import pandas as pd

from playlist_assets.lib.recommend.promotion import compare, paired_interval
from playlist_assets.lib.recommend.report import EvalResult


def result(ndcg: np.ndarray, recall: np.ndarray) -> EvalResult:
    pids = np.arange(len(ndcg))
    warm = pd.DataFrame(
        {
            "pid": pids,
            "strategy": "hybrid",
            "ndcg": ndcg,
            "r_precision": ndcg / 2,
            "clicks": 1.0 - ndcg,
            "hit_at_100": 1.0,
        }
    )
    cold = pd.DataFrame(
        {"pid": pids, "strategy": "hybrid", "recall_at_100": recall, "recall_at_500": recall}
    )
    return EvalResult(
        pd.DataFrame(), len(pids), 0, len(pids), 10, per_case=warm, cold_per_case=cold
    )


def test_the_interval_covers_the_true_difference():
    rng = np.random.default_rng(1)
    old = rng.random(400)
    low, high = paired_interval(old + 0.05 + rng.normal(0, 0.05, 400), old)
    assert low < 0.05 < high and low > 0


def test_the_first_recommender_is_promoted():
    assert compare(result(np.full(50, 0.5), np.full(50, 0.2)), None).promote


def test_noise_does_not_block_a_promotion():
    rng = np.random.default_rng(2)
    base = rng.random(200)
    old = result(base, base / 2)
    new = result(base + rng.normal(0, 0.02, 200), base / 2 + rng.normal(0, 0.02, 200))
    verdict = compare(new, old)
    assert verdict.promote, verdict.reason
    assert {d.metric for d in verdict.differences} >= {"ndcg", "clicks", "recall_at_100"}


def test_a_worse_cold_slice_blocks_the_promotion_and_says_which():
    rng = np.random.default_rng(3)
    base = rng.random(200)
    old = result(base, np.clip(base, 0.2, 1))
    worse = result(base + 0.01, np.clip(base, 0.2, 1) - 0.1)
    verdict = compare(worse, old)
    assert not verdict.promote
    assert "cold recall_at_100" in verdict.reason and "warm" not in verdict.reason
    table = verdict.table()
    assert table.loc[table["metric"] == "recall_at_100", "worse"].all()


def test_more_clicks_is_worse():
    base = np.linspace(0.2, 0.8, 100)
    verdict = compare(result(base - 0.1, base), result(base, base))
    assert not verdict.promote and "warm clicks" in verdict.reason
