"""A loaded recommender extended by the fresh songs an hour brought, instead of loaded again.

The common reload of a service is a ``fresh_songs`` hour landing (~40 songs onto 353,000 at a
year of fresh songs); a retrain, which re-materializes ``song_index`` and the models, is rare.
When all that changed since a table was read is songs landed after its newest landing, none of
them a song it holds, the full load's songs are the table's followed by those (``load``: the
serving order is by landing), so they are appended: the per-song storage is shared with the
table still serving (``growing``), and only what depends on every song is computed again (the
audio's standardization, identities, orders, artist and album indexes, new flags, the id index,
the co-occurrence aligned to the songs) and the new songs' posteriors. The answers are those of
a full load of the same warehouse; anything else (a backfilled hour, a song landed again, a new
``song_index``, other columns) returns None and the caller loads in full.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from playlist_assets.lib.recommend.load import fresh_since
from playlist_assets.lib.recommend.recommender import Recommender
from playlist_assets.lib.recommend.songs import SongTable, genre_list, text_as_arrow


def extended_table(
    table: SongTable, rows: pd.DataFrame, *, now: pd.Timestamp | None = None
) -> SongTable | None:
    """``table``'s songs followed by ``rows`` (the table itself unchanged: it may be serving),
    or None when a full build would not give the same table: a song of ``rows`` is in the table
    already or twice in ``rows``, their columns or types differ, or (without a classifier) they
    bring a genre the posteriors are not over."""
    rows = text_as_arrow(rows.reset_index(drop=True))
    ids = rows["track_id"].astype(str)
    if ids.duplicated().any() or len(table.positions(ids)):
        return None  # a song landed again: a full load moves it to its new landing
    if "track_genre" not in rows:
        return None
    if table.classifier is None:  # the genres are the songs' own: a new one changes them all
        both = pd.concat([table.songs["track_genre"], rows["track_genre"]], ignore_index=True)
        if genre_list(None, both) != table.genres:
            return None  # checked before writing: the store's rows past the table stay free
    store = table.store.extended(table.n, rows)
    if store is None:
        return None
    n = table.n + len(rows)
    return SongTable.on(store, n, table.classifier, table.cluster_models, table.genres, now, table)


def extend_recommender(
    current: Recommender, warehouse: Path, *, now: pd.Timestamp | None = None
) -> Recommender | None:
    """``current`` with the fresh songs landed since its table was read (same co-occurrence,
    blends and version: the models did not change, the caller checked), or None when a full
    load is needed (``fresh_since``, ``extended_table``)."""
    from playlist_assets.lib.recommend.load import open_warehouse

    if current.table.source is None:  # not read from a warehouse: nothing to compare with
        return None
    with open_warehouse(warehouse) as con:
        found = fresh_since(con, current.table.source)
    if found is None:
        return None
    rows, source = found
    table = extended_table(current.table, rows, now=now)
    if table is None:
        return None
    table.source, table.models_stamp = source, current.table.models_stamp
    return current.with_table(table)
