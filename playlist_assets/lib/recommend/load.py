"""The recommender users are served, built one way for every path that serves or scores it.

The songs it ranks are ``song_index`` plus every ``fresh_songs`` hour not yet in it: a track
the feed brought is recommendable once its hour's partition has run, and joins ``song_index``
itself at the next retrain. The CLI, the dashboard and the API load it from the data folder
(``load_recommender``); ``recommendation_eval`` builds it from the same tables and models inside
its run (``serving_songs`` + ``Recommender``), so the evaluation scores what users get.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from playlist_assets.lib.constants import DataFolder
from playlist_assets.lib.recommend.recommender import Recommender

SONG_INDEX_TABLE = "main.song_index"
FRESH_SONGS_TABLE = "main.fresh_songs"


def _frame(con: Any, query: str) -> pd.DataFrame:
    """The query's rows with text columns Arrow-backed (``string[pyarrow]``): a year of fresh
    songs read as Python strings is ~2 million small objects per load, which a long-running
    service's allocator cannot give back once requests have allocated among them."""
    import pyarrow as pa

    from playlist_assets.lib.recommend.songs import TEXT

    mapping = {pa.string(): TEXT, pa.large_string(): TEXT}
    return con.sql(query).to_arrow_table().to_pandas(types_mapper=mapping.get)


def serving_songs(con: Any) -> pd.DataFrame:
    """``song_index`` and, after it, the fresh songs it does not hold yet (newest landing wins),
    read through an open DuckDB connection."""
    songs = _frame(con, f"SELECT * FROM {SONG_INDEX_TABLE}")
    from playlist_assets.lib.tables import table_exists

    # on a cursor: DuckDB 2 refuses con.sql() while an execute() result on con is unread
    if not table_exists(con.cursor(), FRESH_SONGS_TABLE):
        return songs
    # the newest landing of each song chosen on its row ids, then its rows read: ranking whole
    # rows made the query's memory peak twice as high (~470 MiB against ~270 at a year)
    fresh = _frame(
        con,
        f"SELECT * FROM {FRESH_SONGS_TABLE} WHERE rowid IN (SELECT rowid FROM "
        f"{FRESH_SONGS_TABLE} WHERE track_id NOT IN (SELECT track_id FROM {SONG_INDEX_TABLE}) "
        "QUALIFY row_number() OVER (PARTITION BY track_id ORDER BY landed_at DESC) = 1) "
        "ORDER BY landed_at, track_id",
    )
    if fresh.empty:
        return songs
    fresh = fresh.drop(columns="missing_features", errors="ignore")
    return pd.concat([songs, fresh], ignore_index=True)


def read_songs(warehouse: Path) -> pd.DataFrame:
    """``serving_songs`` of the DuckDB file at ``warehouse``, opened read-only."""
    import duckdb

    from playlist_assets.lib.classifier.artifacts import ArtifactMissing

    if not warehouse.exists():
        raise ArtifactMissing(f"no warehouse at {warehouse}: materialize song_index first")
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return serving_songs(con)
    except duckdb.CatalogException as exc:
        raise ArtifactMissing(
            f"asset song_index not found in {warehouse}: materialize it first"
        ) from exc


def load_recommender(
    data_home: str | Path | None = None, *, now: pd.Timestamp | None = None
) -> Recommender:
    """The recommender of the current materialization: ``song_index`` (+ fresh songs) from the
    DuckDB warehouse (opened read-only), ``track_cooccurrence`` and the models from the models
    folder. ``now`` decides which songs count as new (default: the current time)."""
    from playlist_assets import settings
    from playlist_assets.lib.classifier.artifacts import (
        ArtifactMissing,
        load_classifier,
        load_cluster_models,
    )
    from playlist_assets.lib.recommend import champion

    folder = settings.data_folder() if data_home is None else DataFolder.at(Path(data_home))
    warehouse, models = folder.warehouse, folder.models
    songs = read_songs(warehouse)
    if (
        not (models / champion.CANDIDATE).exists()
        and champion.card(models, champion.CHAMPION) is None
    ):
        raise ArtifactMissing(
            f"asset track_cooccurrence not found at {models / champion.CANDIDATE}: "
            "materialize it first"
        )
    cooccurrence, info = champion.serving(models)
    recommender = Recommender(
        songs, cooccurrence, load_classifier(models), load_cluster_models(models), now=now
    )
    recommender.version = info.version if info else "candidate"
    return recommender
