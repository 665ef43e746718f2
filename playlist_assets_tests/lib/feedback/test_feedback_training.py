"""Listeners' reactions become (seed, song) evidence: they move co-occurrence, within bounds."""

from __future__ import annotations

import pandas as pd
import pytest
from feedback_events import feedback_of

from playlist_assets.lib.feedback.training import FeedbackTraining
from playlist_assets.lib.recommend.cooccurrence import learn_cooccurrence

SONGS = [f"t{i}" for i in range(9)]


def _playlists() -> pd.DataFrame:
    rows = []
    for pid in range(40):
        tracks = ["t0", "t1", "t2"] if pid % 2 else ["t3", "t4", "t5"]
        rows += [(pid, f"p{pid}", pos, t, f"artist {t[1]}") for pos, t in enumerate(tracks)]
    return pd.DataFrame(rows, columns=["pid", "name", "pos", "track_id", "artist_name"])


def _reactions(n: int, user: str | None, track: str, added: bool, seeds=("t0", "t1")):
    return pd.DataFrame(
        {
            "request_id": [f"r{user}{track}{i}" for i in range(n)],
            "track_id": [track] * n,
            "user": [user] * n,
            "time": pd.date_range("2026-11-01", periods=n, freq="min"),
            "seeds": [list(seeds)] * n,
            "accepted": [added] * n,
        }
    )


def _weight(pairs: pd.DataFrame, item: str, song: str) -> float:
    found = pairs[(pairs["item_id"] == item) & (pairs["track_id"] == song)]["weight"]
    return float(found.sum())


def test_a_context_moves_a_pair_by_less_than_one_playlist_however_many_reactions() -> None:
    many = _reactions(300, "heavy", "t7", True)
    few = _reactions(1, "light", "t8", True)
    pairs, contexts = feedback_of(pd.concat([many, few]), 100, FeedbackTraining(max_per_user=1000))
    assert contexts == 1  # both listeners asked with the same seeds
    assert 0.99 < _weight(pairs, "t0", "t7") < 1 and _weight(pairs, "t0", "t8") == 0.5
    assert _weight(pairs, "t0", "t1") == 0  # the seeds' own pairs are not evidence


def test_skips_subtract_and_mixed_reactions_weigh_their_balance() -> None:
    reactions = pd.concat(
        [
            _reactions(3, "a", "t7", False),
            _reactions(3, "b", "t8", True),
            _reactions(1, "c", "t8", False),
        ]
    )
    pairs, _ = feedback_of(reactions, 100)
    assert _weight(pairs, "t1", "t7") == pytest.approx(-3 / 4)
    assert _weight(pairs, "t1", "t8") == pytest.approx((3 - 1) / (4 + 1))


def test_bounds_per_listener_and_in_contexts() -> None:
    heavy = pd.concat(
        [_reactions(1, "heavy", f"t{6 + i % 3}", True, ("t0", f"t{i % 5}")) for i in range(30)]
    )
    heavy["request_id"] = [f"r{i}" for i in range(30)]
    heavy["time"] = pd.date_range("2026-11-01", periods=30, freq="min")
    _, contexts = feedback_of(heavy, 1000, FeedbackTraining(max_per_user=3))
    assert contexts == 3  # the listener's 3 most recent requests, each its own seed list
    _, capped = feedback_of(heavy, 10, FeedbackTraining(max_per_user=100, max_share=0.2))
    assert capped == 2  # 20 % of 10 real training playlists
    empty, none = feedback_of(heavy.iloc[0:0], 10)
    assert empty.empty and none == 0


def test_feedback_moves_only_its_pairs_in_the_cooccurrence() -> None:
    playlists = _playlists()
    before = learn_cooccurrence(playlists, range(40), SONGS)
    reactions = pd.concat([_reactions(4, "a", "t7", True), _reactions(4, "b", "t2", False)])
    pairs, _ = feedback_of(reactions, 40)
    after = before.with_feedback(pairs)

    def count(cooc, item: str, song: str) -> float:
        return float(cooc.counts[list(cooc.items).index(item), SONGS.index(song)])

    assert count(before, "t0", "t7") == 0 and count(after, "t0", "t7") == pytest.approx(0.8)
    assert count(after, "t1", "t2") == pytest.approx(count(before, "t1", "t2") - 0.8)
    assert count(after, "t3", "t4") == count(before, "t3", "t4")  # unrelated rows unmoved
    assert count(after, "t0", "t1") == count(before, "t0", "t1")
    assert after.n_playlists == before.n_playlists
