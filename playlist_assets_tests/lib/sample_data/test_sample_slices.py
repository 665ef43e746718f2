"""MPD slices at scale: the real dataset's files and shape, streamed, the same bytes by seed.

Built over a small world (``SMALL``: a 40,000-track tail instead of 2.75 M) so a test takes
a second; the benchmark (benchmarks/bench_mpd_scale.py) writes the full size.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from playlist_assets.lib.recommend.playlists_io import read_playlists
from playlist_assets.lib.sample_data.generate import SAMPLE_GENRES, generate_tracks
from playlist_assets.lib.sample_data.slices import Scale, write_slices

SMALL = Scale(tail_body=20_000, tail_rare=20_000, communities=300)
PLAYLIST_KEYS = [
    "name",
    "collaborative",
    "pid",
    "modified_at",
    "num_tracks",
    "num_albums",
    "num_followers",
    "tracks",
    "num_edits",
    "duration_ms",
    "num_artists",
]
TRACK_KEYS = [
    "pos",
    "artist_name",
    "track_uri",
    "artist_uri",
    "track_name",
    "album_uri",
    "duration_ms",
    "album_name",
]


@pytest.fixture(scope="module")
def catalogue() -> pd.DataFrame:
    return generate_tracks(40, SAMPLE_GENRES, seed=3)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, catalogue: pd.DataFrame) -> list[Path]:
    return write_slices(tmp_path_factory.mktemp("mpd"), catalogue, 2_500, 3, scale=SMALL)


def _slice(path: Path) -> dict:
    with gzip.open(path, "rt", encoding="ascii") as fh:
        return json.load(fh)


def test_slices_are_named_and_shaped_like_the_real_dataset(written: list[Path]) -> None:
    assert [p.name for p in written] == [
        "mpd.slice.0-999.json.gz",
        "mpd.slice.1000-1999.json.gz",
        "mpd.slice.2000-2999.json.gz",
    ]
    second = _slice(written[1])
    assert second["info"]["slice"] == "1000-1999"
    assert [p["pid"] for p in second["playlists"]] == list(range(1000, 2000))
    playlist = second["playlists"][0]
    assert list(playlist) == PLAYLIST_KEYS and list(playlist["tracks"][0]) == TRACK_KEYS
    for p in second["playlists"]:
        assert 5 <= p["num_tracks"] == len(p["tracks"]) <= 250
        assert [t["pos"] for t in p["tracks"]] == list(range(p["num_tracks"]))
        assert len({t["track_uri"] for t in p["tracks"]}) == p["num_tracks"]
    assert len(_slice(written[2])["playlists"]) == 500  # the last slice holds the rest


def test_the_catalogue_is_a_few_percent_of_the_entries_and_the_tail_is_long(
    written: list[Path], catalogue: pd.DataFrame
) -> None:
    frame = read_playlists(written[0].parent)
    assert frame["pid"].nunique() == 2_500
    lengths = frame.groupby("pid").size()
    assert 50 <= lengths.mean() <= 80 and lengths.max() <= 250
    in_catalogue = frame["track_id"].astype(str).isin(set(catalogue["track_id"]))
    assert 0.03 <= in_catalogue.mean() <= 0.08
    # ...varying from playlist to playlist: some playlists hold enough songs to evaluate on
    per_playlist = in_catalogue.groupby(frame["pid"]).sum()
    assert 0.1 <= (per_playlist >= 5).mean() <= 0.4
    heard = frame["track_id"].value_counts()
    assert (heard == 1).mean() > 0.2 and heard.iloc[0] > 50 * heard.median()


def _pairs_together(pids: np.ndarray, tracks: np.ndarray, times: int) -> int:
    """Track pairs that share at least ``times`` playlists."""
    rows, _ = pd.factorize(pids)
    cols, _ = pd.factorize(tracks)
    x = sp.csr_matrix((np.ones(len(rows)), (rows, cols)))
    x.data[:] = 1.0
    together = sp.triu(x.T @ x, k=1)
    return int((together.data >= times).sum())


def test_community_cores_recur_across_playlists(written: list[Path]) -> None:
    frame = read_playlists(written[0].parent)
    pids, tracks = frame["pid"].to_numpy(), frame["track_id"].cat.codes.to_numpy()
    shuffled = np.random.default_rng(0).permutation(tracks)
    real, chance = _pairs_together(pids, tracks, 5), _pairs_together(pids, shuffled, 5)
    assert real > 1_000 and real > 3 * chance  # 5x at this seed


def test_same_seed_same_bytes_fewer_slices_are_a_prefix_and_stale_slices_go(
    tmp_path: Path, catalogue: pd.DataFrame, written: list[Path]
) -> None:
    folder = tmp_path / "mpd"
    one = write_slices(folder, catalogue, 1_000, 3, scale=SMALL)
    assert one[0].read_bytes() == written[0].read_bytes()
    other_seed = write_slices(tmp_path / "other", catalogue, 1_000, 4, scale=SMALL)
    assert other_seed[0].read_bytes() != written[0].read_bytes()
    write_slices(folder, catalogue, 2_000, 3, scale=SMALL)
    write_slices(folder, catalogue, 1_000, 3, scale=SMALL)
    assert [p.name for p in folder.iterdir()] == ["mpd.slice.0-999.json.gz"]
    assert np.array_equal(
        np.frombuffer(one[0].read_bytes(), np.uint8),
        np.frombuffer(written[0].read_bytes(), np.uint8),
    )


def test_a_catalogue_of_20000_songs_per_genre_has_its_artists() -> None:
    # 4,000 artists per genre: more than some genres have distinct names for. The pool used to
    # draw forever (the issue's `--per-genre 20000` never wrote a file); now names repeat.
    from playlist_assets.lib.sample_data.names import artist_pool

    pool = artist_pool(42, "r-n-b", 4_000)
    assert len(pool.names) == 4_000 and len(set(pool.names)) > 2_000
