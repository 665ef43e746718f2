"""The playlist split, continuation cases and co-occurrence counts, on hand-made playlists."""

import numpy as np
import pandas as pd
import pytest

from playlist_assets.lib.recommend.cooccurrence import (
    HOLDOUT,
    TRAIN,
    VALIDATION,
    continuation_cases,
    learn_cooccurrence,
    normalize_artist,
    split_playlists,
)


def playlists_frame(
    lists: dict[int, list[str]], artists: dict[str, str] | None = None
) -> pd.DataFrame:
    rows = [
        {
            "pid": pid,
            "name": f"p{pid}",
            "pos": pos,
            "track_uri": f"spotify:track:{t}",
            "track_id": t,
            "artist_name": (artists or {}).get(t, f"artist of {t}"),
            "track_name": t,
        }
        for pid, tracks in lists.items()
        for pos, t in enumerate(tracks)
    ]
    return pd.DataFrame(rows)


def test_split_is_a_pure_function_of_the_pid_and_nested():
    pids = np.arange(2000)
    split = split_playlists(pids)
    again = split_playlists(pids[::-1])
    assert split.sort_index().equals(again.sort_index())
    shares = split.value_counts(normalize=True)
    assert shares[HOLDOUT] == pytest.approx(0.2, abs=0.03)
    assert shares[VALIDATION] == pytest.approx(0.2, abs=0.03)
    # a larger hold-out only moves playlists out of training, never back in
    bigger = split_playlists(pids, holdout_fraction=0.3)
    assert set(split.index[split == HOLDOUT]) <= set(bigger.index[bigger == HOLDOUT])
    # adding playlists never moves existing ones
    grown = split_playlists(np.arange(3000))
    assert grown.loc[pids].equals(split.loc[pids])


def test_split_rejects_fractions_that_leave_nothing_to_train_on():
    with pytest.raises(ValueError, match="leave playlists to train on"):
        split_playlists([1, 2, 3], holdout_fraction=0.5, validation_fraction=0.5)
    with pytest.raises(ValueError):
        split_playlists([1], holdout_fraction=1.2)


def test_cases_give_the_first_half_and_ask_for_catalogue_songs_of_the_second():
    lists = {1: ["a", "x", "b", "c", "y", "a", "d", "b"]}
    cases = continuation_cases(
        playlists_frame(lists), [1], ["a", "b", "c", "d"], min_catalogue_tracks=2
    )
    assert len(cases) == 1
    case = cases[0]
    assert case.seeds == ["a", "x", "b", "c"]
    # y is not in the catalogue; a and b were given already
    assert case.targets == ["d"]
    assert case.seed_artists == ["artist of a", "artist of x", "artist of b", "artist of c"]


def test_cases_skip_playlists_with_few_catalogue_songs_or_nothing_to_find():
    lists = {
        1: ["a", "x", "y", "z"],  # one catalogue song
        2: ["a", "b", "c", "x", "y", "a"],  # second half: x, y and a (already given)
        3: ["a", "b", "c", "c", "b", "x"],  # second half repeats the seeds
    }
    catalogue = ["a", "b", "c", "d"]
    frame = playlists_frame(lists)
    assert continuation_cases(frame, [1, 2, 3], catalogue, min_catalogue_tracks=3) == []
    lists[2] = ["a", "b", "x", "c", "d", "y"]
    cases = continuation_cases(playlists_frame(lists), [1, 2, 3], catalogue, min_catalogue_tracks=3)
    assert [(c.pid, c.targets) for c in cases] == [(2, ["c", "d"])]
    assert continuation_cases(playlists_frame(lists), [2], catalogue, min_catalogue_tracks=5) == []


def test_cooccurrence_counts_playlists_holding_both_tracks():
    lists = {1: ["a", "b", "x"], 2: ["a", "b"], 3: ["a", "c", "c"], 4: ["b", "z"]}
    cooc = learn_cooccurrence(playlists_frame(lists), [1, 2, 3], ["a", "b", "c"])
    items = list(cooc.items)
    counts = pd.DataFrame(cooc.counts.toarray(), index=items, columns=list(cooc.catalogue_ids))
    assert counts.loc["a", "b"] == 2 and counts.loc["x", "b"] == 1 and counts.loc["a", "c"] == 1
    assert counts.loc["c", "c"] == 1  # a track repeated in one playlist counts once
    assert "z" not in items  # playlist 4 is not a training playlist
    assert dict(zip(items, cooc.item_playlists, strict=True)) == {"a": 3, "b": 2, "x": 1, "c": 1}
    assert cooc.catalogue_playlists.tolist() == [3, 2, 1]
    assert cooc.n_playlists == 3
    # length-weighted: playlists 1 (3 tracks) and 2 (2 tracks) hold a and b
    weighted = pd.DataFrame(
        cooc.length_weighted.toarray(), index=items, columns=list(cooc.catalogue_ids)
    )
    assert weighted.loc["a", "b"] == pytest.approx(1 / np.sqrt(3) + 1 / np.sqrt(2))


def test_artist_cooccurrence_uses_normalized_artist_names():
    lists = {1: ["a", "b"], 2: ["a", "x"]}
    artists = {"a": "The Band", "b": "Someone", "x": "  the   BAND "}
    cooc = learn_cooccurrence(playlists_frame(lists, artists), [1, 2], ["b"])
    assert sorted(cooc.artists) == ["someone", "the band"]
    band = list(cooc.artists).index("the band")
    assert cooc.artist_playlists[band] == 2
    assert cooc.artist_counts.toarray()[band].tolist() == [1.0]
    assert normalize_artist("  The\tBand ") == "the band"


def test_pairs_lists_the_strongest_pairs_first():
    lists = {1: ["a", "b"], 2: ["a", "b"], 3: ["c", "b"]}
    pairs = learn_cooccurrence(playlists_frame(lists), [1, 2, 3], ["b"]).pairs(limit=2)
    assert (
        pairs.to_dict("records")
        == [
            {"item_id": "a", "track_id": "b", "playlists": 2},
            {"item_id": "b", "track_id": "b", "playlists": 3},
        ][::-1]
    )


def test_no_training_playlists_is_an_error():
    with pytest.raises(ValueError, match="no training playlists"):
        learn_cooccurrence(playlists_frame({1: ["a"]}), [], ["a"])


def test_train_label_is_the_rest():
    split = split_playlists(range(100))
    assert set(split.unique()) == {HOLDOUT, VALIDATION, TRAIN}
