"""The playlists in the warehouse: slices to Parquet, one combine, read back in pieces, and the
co-occurrence learned from the store equal to the one learned from the DataFrame."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from playlist_assets.lib.recommend.cooccurrence import (
    case_playlists,
    case_tracks,
    continuation_cases,
    learn_cooccurrence,
    strip_songs,
)
from playlist_assets.lib.recommend.playlist_load import combine_slices, convert_slices
from playlist_assets.lib.recommend.playlist_store import (
    PlaylistStore,
    holds_any,
    playlist_pids,
    select_playlists,
)
from playlist_assets.lib.recommend.playlists_io import PLAYLIST_COLUMNS, read_playlists

SONGS = [f"{i:022d}" for i in range(30)]


def slice_file(path: Path, pids: list[int], seed: int) -> Path:
    """A reduced-schema slice: playlists of 4-9 of SONGS, artists by song."""
    rng = np.random.default_rng(seed)
    playlists = []
    for pid in pids:
        songs = rng.choice(len(SONGS), size=int(rng.integers(4, 10)), replace=False)
        tracks = [
            {
                "track_uri": f"spotify:track:{SONGS[s]}",
                "artist_name": f"Artist {s % 7}",
                "track_name": f"Song {s}",
            }
            for s in songs
        ]
        playlists.append({"pid": pid, "name": f"list {pid}", "tracks": tracks})
    path.write_text(json.dumps({"info": {}, "playlists": playlists}))
    return path


def load(folder: Path, database: Path) -> tuple[list, dict]:
    files = sorted(p for p in folder.iterdir() if p.suffix == ".json")
    results = convert_slices(files, folder / "parquet")
    with duckdb.connect(str(database)) as con:
        return results, combine_slices(con, results)


@pytest.fixture
def two_slices(tmp_path: Path) -> tuple[Path, PlaylistStore]:
    folder = tmp_path / "mpd"
    folder.mkdir()
    slice_file(folder / "mpd.slice.0-999.json", list(range(0, 40)), 1)
    slice_file(folder / "mpd.slice.1000-1999.json", list(range(1000, 1030)), 2)
    load(folder, tmp_path / "w.duckdb")
    return folder, PlaylistStore(tmp_path / "w.duckdb")


def test_the_long_view_holds_what_the_reader_reads(two_slices) -> None:
    folder, store = two_slices
    frame = read_playlists(folder)
    with duckdb.connect(str(store.database), read_only=True) as con:
        view = con.execute("SELECT * FROM main.playlists").df()
        codes = con.execute("SELECT count(*), max(track_code) FROM main.playlist_tracks").fetchone()
    assert list(view.columns) == list(PLAYLIST_COLUMNS)
    assert len(view) == len(frame) and codes == (frame["track_id"].nunique(), len(SONGS) - 1)
    assert playlist_pids(store).tolist() == playlist_pids(frame).tolist()
    got = store.frame([3, 1001]).astype(str)
    want = frame[frame["pid"].isin([3, 1001])].astype(str).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want[list(got.columns)])


def test_cooccurrence_from_the_store_is_the_dataframes_also_in_chunks(two_slices) -> None:
    folder, store = two_slices
    frame = read_playlists(folder)
    train = [p for p in playlist_pids(frame) if p % 3]
    catalogue = SONGS[::2] + ["not in any playlist"]
    want = learn_cooccurrence(frame, train, catalogue)
    for chunk in (100_000, 7):
        got = learn_cooccurrence(store, train, catalogue, chunk_playlists=chunk)
        for name in ("items", "item_playlists", "item_artist", "artists", "playlist_lengths"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), name
        for name in ("counts", "artist_counts", "incidence", "catalogue_incidence"):
            assert (getattr(got, name) != getattr(want, name)).nnz == 0, name
        assert np.allclose(got.length_weighted.toarray(), want.length_weighted.toarray())


def test_narrowed_stores_read_like_filtered_dataframes(two_slices) -> None:
    folder, store = two_slices
    frame = read_playlists(folder)
    kept, stripped = strip_songs(store, SONGS, 0.3)
    kept_frame, same = strip_songs(frame, SONGS, 0.3)
    assert stripped == same and isinstance(kept, PlaylistStore)
    assert not set(kept.frame()["track_id"]) & stripped
    picked = select_playlists(kept, [1, 2, 1005])
    assert playlist_pids(picked).tolist() == [1, 2, 1005]
    assert holds_any(picked, [2]) and not holds_any(picked, [3])
    assert len(kept.frame()) == len(kept_frame)
    cases = continuation_cases(store, range(1000, 1030), SONGS, min_catalogue_tracks=3)
    assert cases == continuation_cases(frame, range(1000, 1030), SONGS, min_catalogue_tracks=3)


def test_a_bad_slice_is_quarantined_and_the_rest_loads(tmp_path: Path) -> None:
    folder = tmp_path / "mpd"
    folder.mkdir()
    slice_file(folder / "a.json", [1, 2], 1)
    bad = slice_file(folder / "b.json", [3, 4], 2)
    bad.write_text(bad.read_text().replace('"spotify:track:', '"spotify:album:', 1))
    results, counts = load(folder, tmp_path / "w.duckdb")
    assert [r.ok for r in results] == [True, False]
    assert results[1].error.startswith(f"{bad}: playlist #0 (pid 3): track 0 has track_uri")
    assert counts["playlists"] == 2
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT slice, status, reason FROM main.playlist_slices").fetchall()
    assert rows[0][:2] == ("a", "loaded") and rows[1][:2] == ("b", "quarantined")
    assert "playlist #0 (pid 3)" in rows[1][2]


def test_a_current_slice_is_reused_and_a_changed_one_converted_again(tmp_path: Path) -> None:
    source = slice_file(tmp_path / "s.json", [1, 2], 1)
    first = convert_slices([source], tmp_path / "parquet")[0]
    stamp = first.parquet.stat().st_mtime_ns
    again = convert_slices([source], tmp_path / "parquet")[0]
    assert again.reused and again.parquet.stat().st_mtime_ns == stamp
    slice_file(source, [1, 2, 5], 3)
    os.utime(source, ns=(stamp + 10**9, stamp + 10**9))
    changed = convert_slices([source], tmp_path / "parquet")[0]
    assert not changed.reused and changed.playlists == 3


def test_colliding_pids_are_shifted_as_the_reader_does(tmp_path: Path) -> None:
    folder = tmp_path / "mpd"
    folder.mkdir()
    slice_file(folder / "a.json", [0, 1, 2], 1)
    slice_file(folder / "b.json", [0, 1], 2)
    _, counts = load(folder, tmp_path / "w.duckdb")
    assert counts["pid_offsets"] == read_playlists(folder).attrs["pid_offsets"] == {"b.json": 3}
    assert PlaylistStore(tmp_path / "w.duckdb").playlist_ids().tolist() == [0, 1, 2, 3, 4]


def test_case_playlists_are_a_stable_bounded_sample() -> None:
    few = np.arange(100)
    assert case_playlists(few, 1_000).tolist() == few.tolist()
    sample = set(case_playlists(few, 30).tolist())
    more = set(case_playlists(np.arange(300), 30).tolist())
    assert len(sample) == 30 and more & set(few.tolist()) <= sample


def test_a_fold_keeps_only_the_rows_its_cases_read(two_slices) -> None:
    _, store = two_slices
    train = [p for p in playlist_pids(store) if p % 2]
    full = learn_cooccurrence(store, train, SONGS[::3])
    wanted = {SONGS[4], SONGS[7], "never heard"}
    fold = learn_cooccurrence(store, train, SONGS[::3], items=wanted)
    assert set(fold.items) == wanted & set(full.items)
    rows = pd.Index(full.items).get_indexer(fold.items)
    assert (fold.counts != full.counts[rows]).nnz == 0
    assert (fold.length_weighted != full.length_weighted[rows]).nnz == 0
    assert (fold.incidence != full.incidence[:, rows]).nnz == 0
    assert np.array_equal(fold.item_playlists, full.item_playlists[rows])
    for name in ("playlist_lengths", "artists", "artist_playlists"):
        assert np.array_equal(getattr(fold, name), getattr(full, name)), name
    assert (fold.catalogue_incidence != full.catalogue_incidence).nnz == 0
    assert (fold.artist_counts != full.artist_counts).nnz == 0


def test_a_fold_ranks_its_cases_as_the_whole_cooccurrence_does(world) -> None:
    """What tuning and the cold-song slice rely on: learned for the cases' seeds only, the
    served ranking code gives every case the same songs with the same scores."""
    playlists, recommender, cases = world["playlists"], world["recommender"], world["cases"]
    assert cases
    training = recommender.cooccurrence.split["training_pids"]
    kept, _ = strip_songs(playlists, recommender.ids, 0.25)
    for rows in (playlists, kept):
        full = learn_cooccurrence(rows, training, recommender.ids)
        fold = learn_cooccurrence(rows, training, recommender.ids, items=case_tracks(cases))
        assert len(fold.items) < len(full.items)
        a = recommender.with_cooccurrence(full, recommender.blends)
        b = recommender.with_cooccurrence(fold, recommender.blends)
        for case in cases:
            for strategy in ("hybrid", "cooccurrence"):
                got = b.rank(case.seeds, 100, strategy, artists=case.seed_artists)
                want = a.rank(case.seeds, 100, strategy, artists=case.seed_artists)
                assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
