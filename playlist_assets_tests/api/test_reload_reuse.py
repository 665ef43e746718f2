"""A full reload beside the serving state keeps what the warehouse and the model files still
hold of it (``lib.recommend.reuse``), and reads again whatever changed: its answers are always a
fresh load's, and the serving state is never written."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest
from api_harness import tracks_of
from sklearn.dummy import DummyClassifier
from test_api_extend import fresh_hour

from playlist_assets.api.holder import StateHolder
from playlist_assets.api.metrics import ApiMetrics
from playlist_assets.api.versions import Materialization, VersionProbe, Versions
from playlist_assets.lib.classifier.artifacts import (
    classifier_path,
    load_classifier,
    write_pickle_atomic,
)
from playlist_assets.lib.recommend.load import load_recommender
from playlist_assets.lib.recommend.recommender import Recommender

STRATEGIES = ("hybrid", "cooccurrence", "cluster", "popular")


def _serving(home: Path) -> Recommender:
    recommender = load_recommender(home, extendable=True)
    recommender.table.warm_up()
    return recommender


def _same_answers(got: Recommender, want: Recommender, sample_home: dict) -> None:
    """The same ids and scores as ``want`` (a fresh load) for a few playlists."""
    for pid in (1, 2, 3):
        tracks = tracks_of(sample_home, pid)[:5]
        for strategy in STRATEGIES:
            a = got.recommend(tracks, 30, strategy).recommendations
            b = want.recommend(tracks, 30, strategy).recommendations
            assert a["track_id"].tolist() == b["track_id"].tolist(), strategy
            assert a["score"].tolist() == b["score"].tolist(), strategy


def _with_fresh_hour(home: Path, sample_home: dict) -> None:
    hour = datetime.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    rows = fresh_hour(sample_home, hour, 3)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.register("hour_rows", rows)
        con.execute("create table main.fresh_songs as select * from hour_rows")


def test_unchanged_songs_and_models_are_kept_and_answer_as_a_fresh_load(
    home: Path, sample_home: dict
) -> None:
    _with_fresh_hour(home, sample_home)
    serving = _serving(home)
    reloaded = load_recommender(home, extendable=True, current=serving)
    assert reloaded.table.store is serving.table.store  # the songs' storage, not read again
    assert reloaded.table.classifier is serving.table.classifier
    assert reloaded.cooccurrence is serving.cooccurrence
    assert np.shares_memory(reloaded.evidence.counts.indices, serving.evidence.counts.indices)
    assert reloaded.table.source == serving.table.source
    _same_answers(reloaded, load_recommender(home), sample_home)


@pytest.mark.parametrize(
    "change",
    [
        "update main.song_index set track_name = 'Renamed', popularity = 100 "
        "where track_id = (select min(track_id) from main.song_index)",
        # the same rows in another order: the serving order (ties) is the table's
        "create or replace table main.song_index as "
        "select * from main.song_index order by track_id desc",
        # the same values under another column name: a row print alone does not see it
        "alter table main.song_index rename column album_name to album",
        "update main.fresh_songs set popularity = popularity + 1",
    ],
    ids=["a song's values", "the order", "a column's name", "fresh songs"],
)
def test_changed_songs_are_read_again_not_served_stale(
    home: Path, sample_home: dict, change: str
) -> None:
    _with_fresh_hour(home, sample_home)
    serving = _serving(home)
    names = serving.table.songs["track_name"].tolist()
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(change)
    reloaded = load_recommender(home, extendable=True, current=serving)
    fresh = load_recommender(home)
    assert reloaded.table.store.columns is not serving.table.store.columns
    assert reloaded.ids.tolist() == fresh.ids.tolist()
    assert reloaded.table.songs["track_name"].tolist() == fresh.table.songs["track_name"].tolist()
    assert reloaded.table.songs.columns.tolist() == fresh.table.songs.columns.tolist()
    assert serving.table.songs["track_name"].tolist() == names  # the serving one untouched
    _same_answers(reloaded, fresh, sample_home)


def test_a_new_classifier_gets_posteriors_of_its_own_on_the_same_songs(
    home: Path, sample_home: dict
) -> None:
    serving = _serving(home)
    posterior, genre = serving.table.posterior.copy(), serving.table.genre.copy()
    bundle = load_classifier(home / "models")
    kept = bundle.classes[:-1]  # one genre fewer: every song's genre code changes meaning
    bundle.model = DummyClassifier(strategy="uniform").fit(np.zeros((len(kept), 1)), kept)
    write_pickle_atomic(classifier_path(home / "models"), bundle)
    reloaded = load_recommender(home, extendable=True, current=serving)
    reloaded.table.warm_up()
    fresh = load_recommender(home)
    assert reloaded.table.store.columns is serving.table.store.columns  # songs shared
    assert reloaded.table.store is not serving.table.store
    assert reloaded.table.genres == fresh.table.genres == kept
    assert reloaded.table.genre.tolist() == fresh.table.genre.tolist()
    assert np.array_equal(reloaded.table.posterior, fresh.table.posterior)
    assert not np.shares_memory(reloaded.table.posterior, serving.table.posterior)
    assert np.array_equal(serving.table.posterior, posterior)  # the serving one untouched
    assert np.array_equal(serving.table.genre, genre)
    _same_answers(reloaded, fresh, sample_home)


def test_the_service_reload_keeps_the_serving_songs(
    home: Path, sample_home: dict, caplog: pytest.LogCaptureFixture
) -> None:
    holder = StateHolder(home, VersionProbe(home, None), ApiMetrics(), poll_seconds=60)
    first = Versions(materializations=(Materialization("song_index", "a", 1.0, None),))
    assert holder._load(first) == (True, False)
    before = holder.champion
    again = Versions(materializations=(Materialization("song_index", "b", 2.0, None),))
    with caplog.at_level(logging.INFO, "playlist_assets.api"):
        assert holder._load(again) == (True, False)  # a forced reload, a new song_index run
    assert "songs kept" in caplog.text
    state = holder.champion
    assert state.recommender.table.store is before.recommender.table.store
    assert state.columns.room is before.columns.room  # the answers' encoded songs too
    assert state.columns.new is state.recommender.table.new
    _same_answers(state.recommender, load_recommender(home), sample_home)
