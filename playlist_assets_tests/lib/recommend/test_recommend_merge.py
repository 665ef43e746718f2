"""The merge: songs without evidence enter the list only where their calibrated chance is higher."""

import numpy as np

from playlist_assets.lib.recommend.merge import Curve, Merge, fit_curve, rank_in_group


def test_rank_in_group_counts_from_the_best():
    assert rank_in_group(np.array([0.1, 3.0, -2.0, 1.0])).tolist() == [3, 1, 4, 2]


def test_the_default_merge_ranks_every_song_without_evidence_last():
    warm, cold = np.array([-9.0, -8.0, 0.0]), np.array([5.0, 6.0, 7.0])
    merged = Merge()(warm, cold, np.array([True, True, False]))
    assert merged[2] < merged[:2].min()


def test_curves_order_both_groups_by_calibrated_chance():
    merge = Merge(warm=Curve(1.0, -1.0, 0.0), cold=Curve(1.0, 0.0, -2.0))
    warm = np.array([3.0, 2.9, 2.8, 2.7])
    cold = np.array([1.5, 1.0])
    evidence = np.array([True, True, True, True, False, False])
    logits = merge(np.concatenate([warm, [0, 0]]), np.concatenate([[0] * 4, cold]), evidence)
    # the best cold song (1.5 - 2 = -0.5) stays below every evidenced song (4th: 2.7 - log 4)
    assert (logits[:4] > logits[4]).all()
    weak = Merge(warm=Curve(1.0, -3.0, 0.0), cold=Curve(1.0, 0.0, -2.0))(
        np.concatenate([warm, [0, 0]]), np.concatenate([[0] * 4, cold]), evidence
    )
    # a steeper rank curve (evidence thinning out): the best cold song overtakes the last ones
    assert weak[4] > weak[3] and weak[4] < weak[0]


def test_a_curve_is_fitted_from_logits_and_ranks():
    rng = np.random.default_rng(0)
    logits, labels = [], []
    for _ in range(200):
        logit = rng.normal(size=60)
        chance = 1 / (1 + np.exp(-(1.5 * logit - 3)))
        logits.append(logit)
        labels.append(rng.random(60) < chance)
    curve = fit_curve(logits, labels)
    assert curve is not None and 1.0 < curve.slope < 2.5
    assert fit_curve([np.zeros(3)], [np.zeros(3, dtype=bool)]) is None  # nothing to learn from
