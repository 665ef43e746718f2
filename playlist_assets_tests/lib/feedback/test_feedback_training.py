"""Accepted songs become training pseudo-playlists: they move co-occurrence, within bounds."""

from __future__ import annotations

import pandas as pd

from playlist_assets.lib.feedback.training import FeedbackTraining, with_feedback
from playlist_assets.lib.recommend.cooccurrence import TRAIN, learn_cooccurrence, split_playlists

SONGS = pd.DataFrame(
    {
        "track_id": [f"t{i}" for i in range(8)],
        "artists": [f"artist {i}" for i in range(8)],
        "track_name": [f"song {i}" for i in range(8)],
    }
)


def _playlists() -> pd.DataFrame:
    rows = []
    for pid in range(40):
        tracks = ["t0", "t1", "t2"] if pid % 2 else ["t3", "t4", "t5"]
        rows += [(pid, f"p{pid}", pos, t, f"artist {t[1]}") for pos, t in enumerate(tracks)]
    return pd.DataFrame(rows, columns=["pid", "name", "pos", "track_id", "artist_name"])


def _accepted(n: int, user: str | None = "heavy") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "request_id": [f"r{user}{i}" for i in range(n)],
            "track_id": ["t7"] * n,  # nobody's playlist holds t7 with t0 yet
            "user": [user] * n,
            "time": pd.date_range("2026-11-01", periods=n, freq="min"),
            "seeds": [["t0", "t1"]] * n,
        }
    )


def _count(cooc, item: str, song: str) -> float:
    row = list(cooc.items).index(item) if item in set(cooc.items) else None
    col = list(cooc.catalogue_ids).index(song)
    return 0.0 if row is None else float(cooc.counts[row, col])


def test_accepted_songs_move_their_cooccurrence_rows_within_the_bounds() -> None:
    playlists = _playlists()
    split = split_playlists(playlists["pid"].unique(), 0.2, 0.2)
    train = split.index[split == TRAIN]
    before = learn_cooccurrence(playlists, train, SONGS["track_id"])
    assert _count(before, "t0", "t7") == 0

    policy = FeedbackTraining(max_per_user=3, max_share=1.0)
    accepted = pd.concat([_accepted(10), _accepted(2, "light")], ignore_index=True)
    fed, fed_split, added = with_feedback(playlists, split, accepted, SONGS, policy)
    assert added == 5  # 3 of the heavy listener's 10, both of the light one's
    assert (fed_split[fed_split.index < 0] == TRAIN).all()
    after = learn_cooccurrence(fed, fed_split.index[fed_split == TRAIN], SONGS["track_id"])
    assert _count(after, "t0", "t7") == 5 and _count(after, "t1", "t7") == 5
    assert _count(after, "t3", "t4") == _count(before, "t3", "t4")  # unrelated rows unmoved

    capped = with_feedback(playlists, split, accepted, SONGS, FeedbackTraining(max_share=0.05))
    assert capped[2] == int(0.05 * len(train))
    assert with_feedback(playlists, split, accepted.iloc[0:0], SONGS)[2] == 0
