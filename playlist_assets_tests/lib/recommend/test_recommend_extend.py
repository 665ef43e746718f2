"""A loaded recommender extended by a fresh hour answers as a full load of the same warehouse,
leaves the recommender it extends as it was, and refuses (a full load then) whatever is not an
hour of new songs landed after the loaded ones."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from materialized_sample import materialize_sample

from playlist_assets.lib.recommend import growing
from playlist_assets.lib.recommend.extend import extend_recommender
from playlist_assets.lib.recommend.load import load_recommender

FIRST_HOUR = datetime(2026, 11, 1, 0)
NOW = pd.Timestamp("2026-11-01 05:30")
STRATEGIES = ("hybrid", "cooccurrence", "cluster", "popular", "frequent", "random")


def hour_rows(sample: dict, hour: datetime, tracks: int = 12) -> pd.DataFrame:
    """One ``fresh_songs`` hour as the asset scores it (the fresh replay's new tracks)."""
    from playlist_assets.defs.fresh import hour_tracks
    from playlist_assets.lib.feeds.fresh import fresh_hour
    from playlist_assets.lib.recommend.index import score_fresh_tracks
    from playlist_assets.settings import DEFAULT_GENRES

    key = hour.strftime("%Y-%m-%d-%H:%M")
    batch = hour_tracks(fresh_hour(DEFAULT_GENRES, key, hour, tracks).tracks)
    clusters = _clusters(sample)
    scored = score_fresh_tracks(batch, sample["bundle"], clusters, hour, DEFAULT_GENRES)
    scored["landed_at"] = scored["landed_at"].astype("datetime64[us]")
    return scored


def _clusters(sample: dict) -> dict:
    from playlist_assets.lib.classifier.artifacts import load_cluster_models

    return load_cluster_models(sample["home"] / "models")


def land(home: Path, rows: pd.DataFrame) -> None:
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        if con.execute(
            "select count(*) from information_schema.tables where table_name = 'fresh_songs'"
        ).fetchall()[0][0]:
            con.execute("insert into main.fresh_songs by name select * from rows")
        else:
            con.execute("create table main.fresh_songs as select * from rows")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("extend_sample")
    return materialize_sample(folder / "data", folder / "sample.json")


@pytest.fixture
def home(sample: dict, tmp_path: Path) -> Path:
    """The sample with three fresh hours landed."""
    target = tmp_path / "data"
    shutil.copytree(sample["home"], target)
    for h in range(3):
        land(target, hour_rows(sample, FIRST_HOUR + timedelta(hours=h)))
    return target


def _same(a: object, b: object, name: str) -> None:
    if sp.issparse(a):
        assert a.shape == b.shape, name
        for part in ("data", "indices", "indptr"):
            x, y = getattr(a, part), getattr(b, part)
            assert x.dtype == y.dtype and np.array_equal(x, y), f"{name}.{part}"
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, obj=name)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), name
        for key in a:
            _same(a[key], b[key], f"{name}[{key}]")
    elif isinstance(a, list):
        assert len(a) == len(b), name
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{name}[{i}]")
    else:
        assert a == b, name


TABLE_FIELDS = [
    "n",
    "songs",
    "ids",
    "popularity",
    "identity",
    "identities",
    "cluster",
    "new",
    "has_audio",
    "direction",
    "genres",
    "genre",
    "by_genre_popularity",
    "posterior",
    "cluster_posterior",
    "_has_posteriors",
    "artist_vocab",
    "artist_code",
    "song_artists",
    "artist_songs",
    "album",
    "album_songs",
    "by_popularity",
]
EVIDENCE_FIELDS = [
    "item",
    "counts",
    "length_weighted",
    "feedback_counts",
    "feedback_length_weighted",
    "artist_counts",
    "playlist_songs",
    "frequency",
    "by_frequency",
    "top_frequency",
]


def assert_same_table(got, want) -> None:
    """Field by field, and the standardized audio features requests compute for their seeds."""
    for name in TABLE_FIELDS:
        _same(getattr(got, name), getattr(want, name), f"table.{name}")
    every = np.arange(want.n)
    _same(got.audio_z(every), want.audio_z(every), "table.audio_z")


def assert_same_recommender(got, want, seeds: list[list[str]]) -> None:
    """Field by field, then the answers of every strategy for ``seeds``."""
    assert_same_table(got.table, want.table)
    for name in EVIDENCE_FIELDS:
        _same(getattr(got.evidence, name), getattr(want.evidence, name), f"evidence.{name}")
    for tracks in seeds:
        for strategy in STRATEGIES:
            mine = got.recommend(tracks, 40, strategy, allow_unknown=True).recommendations
            full = want.recommend(tracks, 40, strategy, allow_unknown=True).recommendations
            pd.testing.assert_frame_equal(mine, full, obj=f"{strategy} for {tracks}")


def seeds_of(recommender, sample: dict) -> list[list[str]]:
    """Playlists of the sample, and playlists ending in the newest fresh songs."""
    playlists = sample["playlists"].groupby("pid")["track_id"].apply(list).head(6).tolist()
    newest = [str(t) for t in recommender.ids[-6:]]
    return [p[:6] for p in playlists] + [newest, playlists[0][:3] + newest[:2]]


def test_an_extended_recommender_answers_as_a_full_load(
    home: Path, sample: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    # room in proportion, as at scale (scipy copies a view of less than half its buffer)
    monkeypatch.setattr(growing, "MIN_SPARE", 32)
    loaded = load_recommender(home, now=NOW, extendable=True)
    loaded.table.warm_up()
    before_songs = loaded.table.songs.copy()
    before_answers = {
        s: loaded.recommend(
            sample["playlists"]["track_id"].head(4).tolist(), 30, s
        ).recommendations.copy()
        for s in STRATEGIES
    }
    land(home, hour_rows(sample, FIRST_HOUR + timedelta(hours=3)))

    extended = extend_recommender(loaded, home / "warehouse.duckdb", now=NOW)

    assert extended is not None and extended.n > loaded.n
    for name in ("posterior", "popularity", "identity", "genre", "album", "has_audio"):
        mine, theirs = getattr(extended.table, name), getattr(loaded.table, name)
        assert np.shares_memory(mine, theirs), name  # one storage, the added rows written
    assert np.shares_memory(extended.table.song_artists.indices, loaded.table.song_artists.indices)
    assert np.shares_memory(extended.evidence.by_frequency, loaded.evidence.by_frequency)
    full = load_recommender(home, now=NOW)
    extended.table.warm_up()
    full.table.warm_up()
    assert_same_recommender(extended, full, seeds_of(full, sample))
    # the extended recommender still answers unchanged
    pd.testing.assert_frame_equal(loaded.table.songs, before_songs)
    assert loaded.n == len(before_songs)
    for strategy, answer in before_answers.items():
        tracks = sample["playlists"]["track_id"].head(4).tolist()
        pd.testing.assert_frame_equal(
            loaded.recommend(tracks, 30, strategy).recommendations, answer
        )


def test_extensions_past_the_room_copy_and_still_answer_as_a_full_load(
    home: Path, sample: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(growing, "MIN_SPARE", 4)  # room for a few songs: the hours overflow it
    current = load_recommender(home, now=NOW, extendable=True)
    first = current
    for h in range(3, 6):
        land(home, hour_rows(sample, FIRST_HOUR + timedelta(hours=h)))
        grown = extend_recommender(current, home / "warehouse.duckdb", now=NOW)
        assert grown is not None
        current = grown
    assert not np.shares_memory(current.table.posterior, first.table.posterior)  # copied
    full = load_recommender(home, now=NOW)
    assert_same_recommender(current, full, seeds_of(full, sample))
    assert first.n == len(first.table.songs) == len(first.evidence.frequency) < current.n


def test_a_state_extended_again_after_an_extension_it_never_served_answers_as_a_full_load(
    home: Path, sample: dict
) -> None:
    """The service extends the state it serves: when an extension was built but not swapped in
    (it failed its warming request), the next one extends the same state again, past rows and
    codes the first one wrote to the shared storage."""
    loaded = load_recommender(home, now=NOW, extendable=True)
    warehouse = home / "warehouse.duckdb"
    land(home, hour_rows(sample, FIRST_HOUR + timedelta(hours=3)))
    dropped = extend_recommender(loaded, warehouse, now=NOW)
    land(home, hour_rows(sample, FIRST_HOUR + timedelta(hours=4), tracks=20))

    again = extend_recommender(loaded, warehouse, now=NOW)

    assert dropped is not None and again is not None and again.n > dropped.n
    assert not np.shares_memory(again.table.identity, dropped.table.identity)  # copied
    full = load_recommender(home, now=NOW)
    assert_same_recommender(again, full, seeds_of(full, sample))


def test_an_hour_that_is_not_new_songs_after_the_loaded_ones_needs_a_full_load(
    home: Path, sample: dict
) -> None:
    warehouse = home / "warehouse.duckdb"
    loaded = load_recommender(home, now=NOW, extendable=True)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table main.kept as select * from main.fresh_songs")
        con.execute("create table main.kept_index as select * from main.song_index")

    def reset() -> None:
        with duckdb.connect(str(warehouse)) as con:
            con.execute("create or replace table main.fresh_songs as select * from main.kept")

    # a backfilled old hour: new songs landed before the loaded state's newest landing
    old_hour = hour_rows(sample, FIRST_HOUR + timedelta(hours=9))
    old_hour["landed_at"] = pd.Timestamp(FIRST_HOUR + timedelta(minutes=30))
    land(home, old_hour)
    assert extend_recommender(loaded, warehouse, now=NOW) is None
    reset()
    # a song landed again in a new hour (a full load moves it to its new landing)
    again = hour_rows(sample, FIRST_HOUR).head(1)
    again["landed_at"] = pd.Timestamp(FIRST_HOUR + timedelta(hours=4))
    land(home, pd.concat([hour_rows(sample, FIRST_HOUR + timedelta(hours=4)), again]))
    assert extend_recommender(loaded, warehouse, now=NOW) is None
    reset()
    # an old hour rewritten (re-scored): the same songs, another row
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update main.fresh_songs set popularity = popularity + 1 where landed_at = ?",
            [FIRST_HOUR],
        )
    land(home, hour_rows(sample, FIRST_HOUR + timedelta(hours=4)))
    assert extend_recommender(loaded, warehouse, now=NOW) is None
    reset()
    # a new song_index (a retrain)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "delete from main.song_index where track_id = (select min(track_id) from "
            "main.song_index)"
        )
    land(home, hour_rows(sample, FIRST_HOUR + timedelta(hours=4)))
    assert extend_recommender(loaded, warehouse, now=NOW) is None
    # and the songs appended as they are, once nothing else changed
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create or replace table main.song_index as select * from main.kept_index")
    reset()
    land(home, hour_rows(sample, FIRST_HOUR + timedelta(hours=4)))
    assert extend_recommender(loaded, warehouse, now=NOW) is not None


def test_without_a_classifier_a_new_genre_needs_a_full_build() -> None:
    from playlist_assets.lib.recommend.extend import extended_table
    from playlist_assets.lib.recommend.songs import SongTable
    from playlist_assets.lib.schema import AUDIO_FEATURES

    rng = np.random.default_rng(3)
    base = pd.DataFrame(
        [
            {
                "track_id": f"{i:022d}",
                "track_name": f"Song {i % 5}",
                "artists": "A;B" if i % 3 else f"Artist {i}",
                "album_name": None if i == 7 else f"Album {i % 4}",
                "track_genre": "pop" if i % 2 else "rock",
                "popularity": 7 * i % 60,
                "cluster": i % 2,
                **{f: float(rng.random()) for f in AUDIO_FEATURES},
            }
            for i in range(10)
        ]
    )
    table = SongTable(base.head(7), now=NOW)
    jazz = base.iloc[7:].assign(track_genre="jazz")
    assert extended_table(table, jazz, now=NOW) is None  # the posteriors are over pop and rock

    extended = extended_table(table, base.iloc[7:], now=NOW)

    assert extended is not None and np.shares_memory(extended.posterior, table.posterior)
    full = SongTable(base, now=NOW)
    assert_same_table(extended, full)
