"""RecSys Challenge 2018 metrics on hand-computed cases, and the old system's cosine score."""

import math

import numpy as np
import pytest

from playlist_assets.lib.recommend.metrics import (
    MAX_CLICKS,
    clicks,
    feature_cosine,
    hit_at,
    ndcg,
    r_precision,
    recall_at,
    score_list,
)

GROUND_TRUTH = ["1", "2", "3", "5", "8", "99"]


@pytest.mark.parametrize(
    ("recommended", "expected"),
    [
        (["5", "8", "13", "3"], 3 / 6),
        (["5", "8", "13", "3", "99", "87", "2", "150"], 4 / 6),  # only the first |G| = 6 count
        (["13", "21"], 0.0),
        (GROUND_TRUTH, 1.0),
    ],
)
def test_r_precision_counts_relevant_tracks_among_the_first_len_g(recommended, expected):
    assert r_precision(recommended, GROUND_TRUTH) == pytest.approx(expected)


def test_r_precision_artist_credit_counts_each_relevant_artist_once():
    recommended = ["x", "y", "a"]
    artists = ["Band", "Band", "Other"]
    score = r_precision(
        recommended,
        ["a", "b", "c"],
        recommended_artists=artists,
        relevant_artists=["Band"],
        artist_credit=0.25,
    )
    assert score == pytest.approx((1 + 0.25) / 3)


def test_r_precision_needs_a_relevant_track():
    with pytest.raises(ValueError):
        r_precision(["a"], [])


def test_ndcg_uses_the_challenge_discount_and_ideal():
    # rel = [1, 0, 1]: DCG = 1 + 1/log2(3); IDCG over |G ∩ R| = 2 hits = 1 + 1/log2(2)
    expected = (1 + 1 / math.log2(3)) / 2
    assert ndcg(["a", "x", "b"], {"a", "b", "c"}) == pytest.approx(expected)
    assert ndcg(["a", "b"], {"a", "b"}) == pytest.approx(1.0)
    assert ndcg(["x", "a"], {"a"}) == pytest.approx(
        1.0
    )  # log2(2) = 1: second place is not discounted
    assert ndcg(["x", "y", "a"], {"a"}) == pytest.approx(1 / math.log2(3))
    assert ndcg(["x", "y"], {"a"}) == 0.0


@pytest.mark.parametrize(("position", "expected"), [(1, 0), (10, 0), (11, 1), (25, 2), (500, 49)])
def test_clicks_are_pages_of_ten_before_the_first_hit(position, expected):
    recommended = [f"n{i}" for i in range(500)]
    recommended[position - 1] = "hit"
    assert clicks(recommended, {"hit"}) == expected


def test_clicks_without_any_hit_is_51():
    assert clicks(["a", "b"], {"z"}) == MAX_CLICKS == 51


def test_hit_at_k():
    recommended = [f"n{i}" for i in range(100)] + ["hit"]
    assert hit_at(recommended, {"hit"}, 100) == 0.0
    assert hit_at(recommended, {"hit"}, 101) == 1.0


def test_recall_at_k_is_the_share_of_relevant_tracks_in_the_first_k():
    recommended = ["a", "b", "c", "d", "e"]
    assert recall_at(recommended, {"b", "e", "z"}, 2) == pytest.approx(1 / 3)
    assert recall_at(recommended, {"b", "e", "z"}, 5) == pytest.approx(2 / 3)
    assert recall_at(recommended, {"z"}, 100) == 0.0
    with pytest.raises(ValueError, match="relevant"):
        recall_at(recommended, [], 10)


def test_feature_cosine_is_the_cosine_of_the_mean_vectors():
    playlist = np.array([[1.0, 0.0], [0.0, 1.0]])  # mean (0.5, 0.5)
    assert feature_cosine(playlist, np.array([[2.0, 2.0]])) == pytest.approx(1.0)
    assert feature_cosine(np.array([[1.0, 0.0]]), np.array([[0.0, 3.0]])) == pytest.approx(0.0)
    assert math.isnan(feature_cosine(np.empty((0, 2)), np.array([[1.0, 1.0]])))
    assert math.isnan(feature_cosine(np.zeros((1, 2)), np.array([[1.0, 1.0]])))


def test_score_list_reports_every_metric():
    scores = score_list(["a", "x", "b"], ["a", "b"])
    assert set(scores) == {"r_precision", "ndcg", "clicks", "hit_at_10", "hit_at_100"}
    assert scores["r_precision"] == pytest.approx(0.5)
    assert scores["clicks"] == 0.0 and scores["hit_at_10"] == 1.0
