"""Online metrics per version, strategy and arm, and the arms' difference with its verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from playlist_assets.lib.feedback.metrics import (
    arm_difference,
    newcombe,
    online_counts,
    online_metrics,
    user_counts,
    wilson,
)


def test_wilson_matches_the_textbook_interval() -> None:
    rate, low, high = wilson(10, 100)
    assert rate == 0.1 and low == pytest.approx(0.0552, abs=1e-4)
    assert high == pytest.approx(0.1744, abs=1e-4)
    assert np.isnan(wilson(0, 0)[0])
    diff, lo, hi = newcombe(50, 500, 80, 500)
    assert diff == pytest.approx(0.06) and lo > 0 and hi > lo


def _frames(rates: dict[str, float], n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    imps, fbs = [], []
    for arm, p in rates.items():
        for i in range(n):
            rid = f"{arm}-{i}"
            imps.append((rid, f"user-{arm}-{i % 50}", "v1" if arm == "champion" else "v2", arm))
            if rng.random() < p:
                fbs.append((rid, "added", 3, f"user-{arm}-{i % 50}", imps[-1][2], arm))
            fbs.append((rid, "skipped", 1, f"user-{arm}-{i % 50}", imps[-1][2], arm))
    impressions = pd.DataFrame(imps, columns=["request_id", "user", "model_version", "arm"])
    impressions["strategy"] = "hybrid"
    impressions["ranked"] = [["a"] * 10] * len(impressions)
    feedback = pd.DataFrame(
        fbs, columns=["request_id", "event", "rank", "user", "model_version", "arm"]
    )
    feedback["strategy"] = "hybrid"
    return impressions, feedback


def test_metrics_per_arm_and_a_worse_challenger_is_detected() -> None:
    impressions, feedback = _frames({"champion": 0.30, "challenger": 0.20}, 2000)
    metrics = online_metrics(impressions, feedback)
    champion = metrics.set_index("arm").loc["champion"]
    assert champion["impressions"] == 2000 and champion["users"] == 50
    assert champion["acceptance_rate_low"] < 0.30 < champion["acceptance_rate_high"]
    assert champion["add_rate_at_10"] == champion["acceptance_rate"]
    assert champion["skip_rate"] == pytest.approx(2000 / champion["events"])
    (verdict,) = arm_difference(online_counts(impressions, feedback)).to_dict("records")
    assert verdict["significant"] and verdict["verdict"] == "challenger worse"
    assert verdict["difference_low"] < -0.10 < verdict["difference_high"] < 0


def test_equal_arms_are_not_significant_and_a_lone_arm_says_so() -> None:
    impressions, feedback = _frames({"champion": 0.25, "challenger": 0.25}, 400, seed=3)
    (verdict,) = arm_difference(online_counts(impressions, feedback)).to_dict("records")
    assert verdict["verdict"] == "no significant difference"
    only = impressions[impressions["arm"] == "champion"]
    (lone,) = arm_difference(online_counts(only, feedback[feedback["arm"] == "champion"])).to_dict(
        "records"
    )
    assert lone["verdict"] == "one arm without impressions" and not lone["significant"]
    empty = online_metrics(impressions.iloc[0:0], feedback.iloc[0:0])
    assert (
        empty.empty
        and arm_difference(online_counts(impressions.iloc[0:0], feedback.iloc[0:0])).empty
    )


def test_listeners_are_the_units_of_the_ab_interval() -> None:
    """An A/A test with few listeners whose tastes differ: impressions counted as independent
    call it significant; listeners as units do not."""
    rng = np.random.default_rng(7)
    imps, fbs = [], []
    for u in range(40):
        arm = "challenger" if u % 4 == 0 else "champion"
        taste = rng.uniform(0.05, 0.95)  # each listener's own acceptance
        for i in range(200):
            rid = f"{u}-{i}"
            imps.append((rid, f"user-{u}", "v", "hybrid", arm))
            if rng.random() < taste:
                fbs.append((rid, "added", 1, f"user-{u}", "v", "hybrid", arm))
    impressions = pd.DataFrame(
        imps, columns=["request_id", "user", "model_version", "strategy", "arm"]
    )
    impressions["ranked"] = [["a"]] * len(impressions)
    feedback = pd.DataFrame(
        fbs, columns=["request_id", "event", "rank", "user", "model_version", "strategy", "arm"]
    )
    counts = online_counts(impressions, feedback)
    naive = arm_difference(counts).iloc[0]
    clustered = arm_difference(counts, users=user_counts(impressions, feedback)).iloc[0]
    assert clustered["difference"] == pytest.approx(naive["difference"])
    width = clustered["difference_high"] - clustered["difference_low"]
    assert width > 3 * (naive["difference_high"] - naive["difference_low"])
    assert not clustered["significant"]


def test_an_hour_of_metrics_is_replaced_whole_or_not_at_all() -> None:
    """A metrics run failing on its last table leaves the hour's earlier rows in every table."""
    import duckdb

    from playlist_assets.lib.feedback import store

    hour = pd.Timestamp("2026-11-01 03:00")
    conn = duckdb.connect()
    first = {
        store.METRICS_TABLE: pd.DataFrame({"partition_hour": [hour], "impressions": [10]}),
        store.USER_COUNTS_TABLE: pd.DataFrame({"partition_hour": [hour], "impressions": [4]}),
    }
    store.replace_metrics(conn, first, hour, hour + pd.Timedelta(hours=1))
    broken = {
        store.METRICS_TABLE: pd.DataFrame({"partition_hour": [hour], "impressions": [11]}),
        store.USER_COUNTS_TABLE: pd.DataFrame({"partition_hour": [hour], "impressions": ["x"]}),
    }
    with pytest.raises(duckdb.Error):
        store.replace_metrics(conn, broken, hour, hour + pd.Timedelta(hours=1))
    for table, frame in first.items():
        assert conn.execute(f"select impressions from {table}").fetchall() == [
            (int(frame["impressions"].iloc[0]),)
        ]
