"""The recommender users are served, built one way for every path that serves or scores it.

The songs it ranks are ``song_index`` plus every ``fresh_songs`` hour not yet in it: a track
the feed brought is recommendable once its hour's partition has run, and joins ``song_index``
itself at the next retrain. The CLI, the dashboard and the API load it from the data folder
(``load_recommender``); ``recommendation_eval`` builds it from the same tables and models inside
its run (``serving_songs`` + ``Recommender``), so the evaluation scores what users get.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from playlist_assets.lib.constants import DataFolder
from playlist_assets.lib.recommend.recommender import Recommender
from playlist_assets.lib.recommend.songs import SongTable, song_store

SONG_INDEX_TABLE = "main.song_index"
FRESH_SONGS_TABLE = "main.fresh_songs"


def _frame(con: Any, query: str, parameters: dict[str, Any] | None = None) -> pd.DataFrame:
    """The query's rows with text columns Arrow-backed (``string[pyarrow]``): a year of fresh
    songs read as Python strings is ~2 million small objects per load, which a long-running
    service's allocator cannot give back once requests have allocated among them."""
    import pyarrow as pa

    from playlist_assets.lib.recommend.songs import TEXT

    mapping = {pa.string(): TEXT, pa.large_string(): TEXT}
    table = con.sql(query, params=parameters or None).to_arrow_table()
    return table.to_pandas(types_mapper=mapping.get)


@dataclass(frozen=True)
class SongSource:
    """What a song table was read from: a print (rows, summed row hashes) of ``song_index``, the
    newest landing in ``fresh_songs`` and a print of its rows up to it. The songs an hour brings
    are appended to a loaded table only when both prints still hold (``fresh_since``)."""

    index: tuple[int, int]
    newest: Any  # the newest ``landed_at`` in fresh_songs (None: no fresh_songs table)
    fresh: tuple[int, int]
    schema: tuple[tuple[str, str, str], ...] = ()  # (table, column, type): a print ignores names


# A print reads every row of its table, and DuckDB keeps each block it reads (up to 80% of the
# machine): ~40 MiB on top of the serving state while an extension checks the warehouse, at a
# year of fresh songs. A sum needs a block per column at a time: on one thread with a small
# cache the scan peaks at ~20 MiB, as fast (the blocks are in the system's page cache).
PRINT_MEMORY = "16MB"


def _print(con: Any, table: str, newest: Any = None, after: Any = None) -> tuple[int, int]:
    """(rows, summed row hashes) of ``table``: all, or those landed up to ``newest`` (and
    those without a landing), or only those landed after ``after`` up to ``newest``. The whole
    ``song_index``'s row hashes take each row's place (``rowid``): its order is the songs'
    serving order, and a sum of the rows' hashes alone is the same in any order."""
    where, parameters = "", []
    row = "t, t.rowid" if table == SONG_INDEX_TABLE and newest is None else "t"
    if newest is not None and after is None:
        where, parameters = " WHERE t.landed_at IS NULL OR t.landed_at <= ?", [newest]
    elif newest is not None:
        where, parameters = " WHERE t.landed_at > ? AND t.landed_at <= ?", [after, newest]
    query = f"SELECT count(*), coalesce(sum(hash({row})::HUGEINT), 0) FROM {table} t{where}"
    con.execute(f"SET memory_limit = '{PRINT_MEMORY}'").fetchall()
    con.execute("SET threads = 1").fetchall()
    try:
        count, total = con.execute(query, parameters).fetchall()[0]
    finally:
        con.execute("RESET memory_limit").fetchall()
        con.execute("RESET threads").fetchall()
    return int(count), int(total)


def _schema(con: Any) -> tuple[tuple[str, str, str], ...]:
    """Each column (table, name, type) of the song tables, in order."""
    query = (
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE "
        "table_schema = 'main' AND table_name IN ('song_index', 'fresh_songs') "
        "ORDER BY table_name, ordinal_position"
    )
    return tuple(tuple(row) for row in con.execute(query).fetchall())


def _source(con: Any, fresh: bool) -> SongSource:
    schema = _schema(con)
    if not fresh:
        return SongSource(_print(con, SONG_INDEX_TABLE), None, (0, 0), schema)
    newest = con.execute(f"SELECT max(landed_at) FROM {FRESH_SONGS_TABLE}").fetchall()[0][0]
    fresh_print = _print(con, FRESH_SONGS_TABLE, newest)
    return SongSource(_print(con, SONG_INDEX_TABLE), newest, fresh_print, schema)


def _fresh(con: Any, after: Any = None) -> pd.DataFrame:
    """The fresh songs ``song_index`` does not hold (newest landing wins), landed after
    ``after`` when given, in serving order."""
    since = "" if after is None else "landed_at > $after AND "
    # the newest landing of each song chosen on its row ids, then its rows read: ranking whole
    # rows made the query's memory peak twice as high (~470 MiB against ~270 at a year)
    query = (
        f"SELECT * FROM {FRESH_SONGS_TABLE} WHERE rowid IN (SELECT rowid FROM "
        f"{FRESH_SONGS_TABLE} WHERE {since}track_id NOT IN (SELECT track_id FROM "
        f"{SONG_INDEX_TABLE}) QUALIFY row_number() OVER (PARTITION BY track_id ORDER BY "
        "landed_at DESC) = 1) ORDER BY landed_at, track_id"
    )
    fresh = _frame(con, query, {} if after is None else {"after": after})
    return fresh.drop(columns="missing_features", errors="ignore")


def _has_fresh(con: Any) -> bool:
    from playlist_assets.lib.tables import table_exists

    # on a cursor: DuckDB 2 refuses con.sql() while an execute() result on con is unread
    return table_exists(con.cursor(), FRESH_SONGS_TABLE)


def serving_songs(con: Any) -> pd.DataFrame:
    """``song_index`` and, after it, the fresh songs it does not hold yet (newest landing wins),
    read through an open DuckDB connection."""
    songs = _frame(con, f"SELECT * FROM {SONG_INDEX_TABLE}")
    fresh = _fresh(con) if _has_fresh(con) else None
    if fresh is None or fresh.empty:
        return songs
    return pd.concat([songs, fresh], ignore_index=True)


def serving_songs_and_source(
    con: Any, known: SongSource | None = None
) -> tuple[pd.DataFrame | None, SongSource]:
    """``serving_songs`` and what they were read from (one snapshot): only a load that may be
    extended later pays for the prints (~0.1 CPU-s at a year of fresh songs). None for the
    songs when they were read from ``known`` already (the serving table's: ``load``)."""
    source = _source(con, _has_fresh(con))
    return (None if source == known else serving_songs(con)), source


def fresh_since(con: Any, source: SongSource | None) -> tuple[pd.DataFrame, SongSource] | None:
    """The songs to append to a table read from ``source`` (and the new source), when all that
    changed since is fresh songs landed after its newest landing; None otherwise (a new
    ``song_index``, a backfilled or replaced hour: a full load). Whether one of them is a song
    the table holds already (landed again) the table says (``extend``)."""
    if source is None or source.newest is None or not _has_fresh(con):
        return None
    if _schema(con) != source.schema or _print(con, SONG_INDEX_TABLE) != source.index:
        return None
    if _print(con, FRESH_SONGS_TABLE, source.newest) != source.fresh:
        return None
    # the new prints from the old ones: song_index's held, the rows up to the new newest landing
    # are those up to the old one and those landed since (a scan of the new rows alone)
    newest = con.execute(f"SELECT max(landed_at) FROM {FRESH_SONGS_TABLE}").fetchall()[0][0]
    count, total = _print(con, FRESH_SONGS_TABLE, newest, after=source.newest)
    fresh = (source.fresh[0] + count, source.fresh[1] + total)
    return _fresh(con, source.newest), SongSource(source.index, newest, fresh, source.schema)


def open_warehouse(warehouse: Path) -> Any:
    import duckdb

    from playlist_assets.lib.classifier.artifacts import ArtifactMissing

    if not warehouse.exists():
        raise ArtifactMissing(f"no warehouse at {warehouse}: materialize song_index first")
    return duckdb.connect(str(warehouse), read_only=True)


def read_songs(warehouse: Path) -> pd.DataFrame:
    """``serving_songs`` of the DuckDB file at ``warehouse``, opened read-only."""
    return _read(warehouse, serving_songs)


def read_songs_and_source(
    warehouse: Path, known: SongSource | None = None
) -> tuple[pd.DataFrame | None, SongSource]:
    """``serving_songs_and_source`` of the DuckDB file at ``warehouse``, opened read-only."""
    return _read(warehouse, lambda con: serving_songs_and_source(con, known))


def _read(warehouse: Path, read: Any) -> Any:
    import duckdb

    from playlist_assets.lib.classifier.artifacts import ArtifactMissing

    try:
        with open_warehouse(warehouse) as con:
            return read(con)
    except duckdb.CatalogException as exc:
        raise ArtifactMissing(
            f"asset song_index not found in {warehouse}: materialize it first"
        ) from exc


def load_recommender(
    data_home: str | Path | None = None,
    *,
    now: pd.Timestamp | None = None,
    extendable: bool = False,
    current: Recommender | None = None,
) -> Recommender:
    """The recommender of the current materialization: ``song_index`` (+ fresh songs) from the
    DuckDB warehouse (opened read-only), ``track_cooccurrence`` and the models from the models
    folder. ``now`` decides which songs count as new (default: the current time);
    ``extendable``: its table keeps what it was read from, so ``extend`` can append the songs
    of later fresh hours (the service; the CLI and the dashboard load once). ``current``: the
    recommender serving now (the service's full reload; loaded with ``extendable``): what of it
    the warehouse and the model files still hold is kept, not loaded again (``reuse``)."""
    import gc

    from playlist_assets import settings
    from playlist_assets.lib.classifier.artifacts import ArtifactMissing
    from playlist_assets.lib.memory import trim_freed
    from playlist_assets.lib.recommend import champion, reuse

    folder = settings.data_folder() if data_home is None else DataFolder.at(Path(data_home))
    warehouse, models = folder.warehouse, folder.models
    known = None if current is None else current.table.source
    if extendable or known is not None:
        songs, source = read_songs_and_source(warehouse, known)
    else:
        songs, source = read_songs(warehouse), None
    if (
        not (models / champion.CANDIDATE).exists()
        and champion.card(models, champion.CHAMPION) is None
    ):
        raise ArtifactMissing(
            f"asset track_cooccurrence not found at {models / champion.CANDIDATE}: "
            "materialize it first"
        )
    cooccurrence, info, read_from = reuse.cooccurrence(models, current)
    classifier, clusters, models_stamp = reuse.song_models(models, current)
    if songs is None and current is not None:  # the serving table's songs, as they were read
        same = classifier is current.table.classifier
        table = reuse.reloaded(current.table, classifier, clusters, now, same_models=same)
    else:
        store, genres = song_store(songs, classifier)
        del songs  # the store holds them: the frame's ~100 MiB freed before the table is built
        table = SongTable.on(store, store.rows, classifier, clusters, genres, now)
    table.source, table.models_stamp = source, models_stamp
    if (
        current is not None
        and cooccurrence is current.cooccurrence
        and reuse.same_songs(table, current.table)
    ):
        recommender = current.with_table(table)  # the serving one's alignment, shared
    else:
        recommender = Recommender(table, cooccurrence)
    recommender.loaded_cooccurrence = (read_from, cooccurrence)
    recommender.version = info.version if info else "candidate"
    # the build's garbage (reference cycles among its frames) and temporaries, resident until
    # collected and trimmed: 40-50 MiB at a year of fresh songs, in every process that loads
    gc.collect()
    trim_freed()
    return recommender
