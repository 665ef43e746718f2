"""The cold slice: stripped songs' playlist rows never reach what is evaluated, and its table."""

import numpy as np
import pandas as pd
import pytest

from playlist_assets.lib.recommend.cooccurrence import strip_songs
from playlist_assets.lib.recommend.evaluation import cold_song_slice, evaluate_cold_songs, summarize
from playlist_assets.lib.recommend.names import COLD_SONG_METRICS, COLD_SONG_STRATEGIES
from playlist_assets.lib.recommend.recommender import Recommender
from playlist_assets.lib.recommend.settings import SplitSpec
from playlist_assets.lib.schema import AUDIO_FEATURES


def tid(i: int) -> str:
    return f"{i:022d}"


def catalogue(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "track_id": [tid(i) for i in range(n)],
            "track_name": [f"Song {i}" for i in range(n)],
            "artists": [f"Artist {i % 6}" for i in range(n)],
            "album_name": [f"Album {i % 9}" for i in range(n)],
            "track_genre": ["pop" if i % 2 else "rock" for i in range(n)],
            "popularity": rng.integers(0, 100, n),
            "cluster": [i % 3 for i in range(n)],
            **{f: rng.random(n) for f in AUDIO_FEATURES},
        }
    )


def playlists(n_lists: int = 40, length: int = 12, n_songs: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = []
    for pid in range(n_lists):
        artist = pid % 6
        pool = [i for i in range(n_songs) if i % 6 == artist] + list(range(n_songs))
        tracks = list(dict.fromkeys(rng.choice(pool[:20], length)))
        rows += [
            {"pid": pid, "pos": pos, "track_id": tid(int(t)), "artist_name": f"Artist {int(t) % 6}"}
            for pos, t in enumerate(tracks)
        ]
    return pd.DataFrame(rows)


TRAINING, HOLDOUT = list(range(30)), list(range(30, 40))
SPEC = SplitSpec(strip_fraction=0.4, min_catalogue_tracks=3)


def cold_table(lists: pd.DataFrame, songs: pd.DataFrame) -> pd.DataFrame:
    cold = cold_song_slice(lists, TRAINING, HOLDOUT, Recommender(songs), SPEC)
    return summarize(evaluate_cold_songs(cold, COLD_SONG_STRATEGIES), COLD_SONG_METRICS)


def test_strip_songs_is_a_stable_share_of_the_catalogue():
    lists, songs = playlists(), catalogue()
    kept, stripped = strip_songs(lists, songs["track_id"], 0.4)
    again = strip_songs(lists.sample(frac=1, random_state=0), songs["track_id"], 0.4)[1]
    assert stripped == again and 0 < len(stripped) < len(songs)
    assert stripped <= set(songs["track_id"])
    assert not set(kept["track_id"]) & stripped
    assert len(kept) == (~lists["track_id"].isin(stripped)).sum()
    with pytest.raises(ValueError, match="within"):
        strip_songs(lists, songs["track_id"], 1.0)


def test_the_cold_slice_cannot_see_the_stripped_songs_playlist_rows():
    lists, songs = playlists(), catalogue()
    cold = cold_song_slice(lists, TRAINING, HOLDOUT, Recommender(songs), SPEC)
    cooc = cold.recommender.cooccurrence
    assert cold.cases, "the slice needs held-out playlists that hold stripped songs"
    assert not set(cooc.items) & cold.stripped
    frequency = pd.Series(cold.recommender.frequency, index=cold.recommender.ids)
    assert (frequency[sorted(cold.stripped)] == 0).all()
    assert all(set(case.targets) <= cold.stripped for case in cold.cases)
    # The held-out playlists are the input: their seeds keep every track.
    first = lists[lists["pid"] == cold.cases[0].pid].sort_values("pos")["track_id"].tolist()
    assert cold.cases[0].seeds == first[: len(first) // 2]

    # Whatever the training playlists say about the stripped songs changes nothing.
    table = cold_table(lists, songs)
    training_rows = lists["pid"].isin(TRAINING) & lists["track_id"].isin(cold.stripped)
    without = lists[~training_rows]
    doubled = pd.concat(
        [lists, lists[training_rows].assign(pid=lambda f: (f["pid"] + 1) % len(TRAINING))]
    )
    pd.testing.assert_frame_equal(table, cold_table(without, songs))
    pd.testing.assert_frame_equal(table, cold_table(doubled, songs))


def test_the_cold_slice_reports_every_strategy_and_recall():
    table = cold_table(playlists(), catalogue())
    assert table["strategy"].tolist() == [
        s
        for s in ("hybrid", "cooccurrence", "frequent", "popular", "cluster", "random")
        if s in COLD_SONG_STRATEGIES
    ]
    assert list(table.columns) == ["strategy", "playlists", *COLD_SONG_METRICS]
    assert (
        (table["recall_at_500"] >= table["recall_at_100"]) & (table["recall_at_500"] <= 1)
    ).all()
    # co-occurrence has no evidence of a stripped song: it finds them only by popularity fill
    row = table.set_index("strategy")
    assert row.loc["cooccurrence", "recall_at_100"] <= row.loc["hybrid", "recall_at_100"] + 1e-9
