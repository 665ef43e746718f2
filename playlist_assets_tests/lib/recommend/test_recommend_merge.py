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


def test_rank_bins_double_in_width():
    from playlist_assets.lib.recommend.merge import RANK_BINS, rank_bin

    ranks = np.array([1, 2, 3, 4, 5, 8, 9, 16, 17, 512, 513, 10_000])
    assert rank_bin(ranks).tolist() == [0, 1, 2, 2, 3, 3, 4, 4, 5, 9, 10, 10]
    assert rank_bin(ranks).max() == RANK_BINS - 1


def test_a_fitted_curve_learns_that_deep_ranks_are_worth_less_than_their_logit_says():
    rng = np.random.default_rng(1)
    logits, labels = [], []
    for _ in range(300):
        logit = np.sort(rng.normal(size=200))[::-1]
        # right songs are only among the first 8 of a group, whatever their logit
        chance = np.where(np.arange(200) < 8, 0.3, 0.0)
        logits.append(logit)
        labels.append(rng.random(200) < chance)
    curve = fit_curve(logits, labels)
    assert curve is not None and len(curve.rank_offsets) > 0
    first, deep = curve(np.array([0.0]), np.array([1.0])), curve(np.array([0.0]), np.array([100.0]))
    assert first[0] - deep[0] > 2.0  # the same logit, far less likely deep in its group


def test_past_tail_from_songs_without_evidence_come_first():
    evidence = np.array([True] * 6 + [False] * 3)
    warm = np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0, 0.0, 0.0])
    cold = np.array([0.0] * 6 + [-5.0, -6.0, -7.0])
    plain = Merge(Curve(), Curve())(warm, cold, evidence)
    tailed = Merge(Curve(), Curve(), tail_from=2)(warm, cold, evidence)
    order = np.argsort(-tailed, kind="stable").tolist()
    assert np.argsort(-plain, kind="stable").tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    # the first two places keep the calibrated order, then the cold songs, then deep warm songs
    assert order == [0, 1, 6, 7, 8, 2, 3, 4, 5]
    assert (tailed[:2] == plain[:2]).all() and (tailed[6:] == plain[6:]).all()


def test_the_summed_cold_scorer_adds_the_linear_blend_to_the_trees():
    from sklearn.ensemble import HistGradientBoostingClassifier

    from playlist_assets.lib.recommend.cold_model import COLUMNS, ColdSongModel
    from playlist_assets.lib.recommend.names import FEATURES

    rng = np.random.default_rng(0)
    x = rng.random((200, len(FEATURES)))
    y = x[:, COLUMNS[0]] > 0.5
    trees = ColdSongModel(HistGradientBoostingClassifier(max_iter=5).fit(x[:, COLUMNS], y))
    linear = np.zeros(len(FEATURES) + 1)
    linear[0], linear[1 + FEATURES.index("popularity")] = -1.0, 2.0
    summed = ColdSongModel(trees.model, linear)
    expected = trees.logit(x) - 1.0 + 2.0 * x[:, FEATURES.index("popularity")]
    assert np.allclose(summed.logit(x), expected)
