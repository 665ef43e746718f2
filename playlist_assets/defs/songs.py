"""The songs base: ``validated_songs`` and ``quarantined_tracks``, computed together.

Inputs: the catalogue (``raw_spotify_tracks``) and every partition of ``new_tracks`` read
straight from the warehouse. Each partition is judged again by the same rules as its blocking
check (a check only blocks inside its own run, and this asset often runs later, e.g. on a
retrain), so an hour that failed its check never enters the songs base.
"""

from collections.abc import Iterator

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from playlist_assets import settings
from playlist_assets.defs.checks import (
    CATALOGUE_KEY,
    CATALOGUE_TABLE,
    NEW_TRACKS_TABLE,
    latest_source_path,
    read_table,
)
from playlist_assets.defs.partitions import hourly_partitions
from playlist_assets.lib.quality import (
    CATALOGUE_SUITE,
    NEW_TRACKS_SUITE,
    QUARANTINE_COLUMNS,
    QUARANTINE_SQL_TYPES,
    Batch,
    SongsBase,
    batch_problems,
    build_songs_base,
)
from playlist_assets.lib.schema import TYPED_DTYPES

FEED_REJECTS_TABLE = "new_tracks_rejects"
_PREVIEW_ROWS = 10


def read_partitions(warehouse: DuckDBResource) -> list[Batch]:
    """Every hour of ``main.new_tracks`` as a batch, oldest first.

    The table not existing yet (no hour fed so far) is an empty list, not an error.
    """
    frame = read_table(warehouse, NEW_TRACKS_TABLE)
    if frame is None or frame.empty:
        return []
    if "partition_hour" not in frame.columns:
        raise dg.Failure(
            description=f"main.{NEW_TRACKS_TABLE} has no partition_hour column: "
            "it was not written by the new_tracks asset"
        )
    hours = pd.to_datetime(frame["partition_hour"])
    batches = []
    for hour, part in frame.groupby(hours, sort=True):
        key = pd.Timestamp(hour).strftime(hourly_partitions.fmt)
        batches.append(
            Batch(label=key, source=f"new_tracks:{key}", frame=part, suite=NEW_TRACKS_SUITE)
        )
    return batches


def _feed_rejects(warehouse: DuckDBResource) -> pd.DataFrame | None:
    """Rows the feed could not even type (kept by ``new_tracks`` with their file and reason)."""
    columns = ", ".join(QUARANTINE_COLUMNS)
    with warehouse.get_connection() as conn:
        try:
            return conn.execute(f"select {columns} from main.{FEED_REJECTS_TABLE}").df()
        except duckdb.CatalogException:
            return None


def _ensure_quarantine_table(warehouse: DuckDBResource) -> None:
    """The I/O manager creates no table for an empty frame; an empty quarantine is a table too."""
    columns = ", ".join(f"{name} {sql}" for name, sql in QUARANTINE_SQL_TYPES.items())
    with warehouse.get_connection() as conn:
        conn.execute(f"create table if not exists main.quarantined_tracks ({columns})")


def _markdown_list(items: dict[str, list[str]] | list[str]) -> str:
    if isinstance(items, dict):
        lines = [f"- {key}: {'; '.join(value)}" for key, value in items.items()]
    else:
        lines = [f"- {item}" for item in items]
    return "\n".join(lines) or "none"


def _songs_metadata(base: SongsBase, genres: tuple[str, ...], feed_rejects: int | None) -> dict:
    songs = base.songs
    per_genre = base.per_genre()
    partitions_in = [label for label in base.included if label != "catalogue"]
    metadata: dict[str, object] = {
        "dagster/row_count": base.validated_rows,
        "input_rows": base.input_rows,
        "validated_rows": base.validated_rows,
        "quarantined_rows": base.quarantined_rows,
        "duplicates_removed": base.duplicates_removed,
        "out_of_scope_rows": base.out_of_scope_rows,
        "row_accounting": (
            f"input {base.input_rows} = validated {base.validated_rows} + quarantined "
            f"{base.quarantined_rows} + duplicates {base.duplicates_removed} + out of scope "
            f"{base.out_of_scope_rows}"
        ),
        "genres": ", ".join(genres),
        "per_genre": dg.MetadataValue.md(
            "| genre | songs |\n| --- | --- |\n"
            + "\n".join(f"| {g} | {per_genre.get(g, 0)} |" for g in genres)
        ),
        "partitions_included": len(partitions_in),
        "partitions_excluded": len(base.excluded),
        "excluded_batches": dg.MetadataValue.md(_markdown_list(base.excluded)),
        "ignored_columns": dg.MetadataValue.md(_markdown_list(base.ignored_columns)),
        "preview": dg.MetadataValue.md(songs.head(_PREVIEW_ROWS).to_markdown(index=False)),
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, dtype) for name, dtype in TYPED_DTYPES.items()]
        ),
    }
    if partitions_in:
        metadata["newest_partition"] = partitions_in[-1]
    if feed_rejects is not None:
        metadata["feed_rejects (main.new_tracks_rejects)"] = feed_rejects
    return metadata


def _quarantine_metadata(quarantined: pd.DataFrame) -> dict:
    by_source = quarantined["source"].value_counts()
    preview = quarantined.drop(columns=["row_json"]).head(_PREVIEW_ROWS)
    return {
        "dagster/row_count": len(quarantined),
        "by_source": dg.MetadataValue.md(
            "| source | rows |\n| --- | --- |\n"
            + "\n".join(f"| {s} | {n} |" for s, n in by_source.items())
        )
        if len(by_source)
        else "none",
        "preview": dg.MetadataValue.md(preview.to_markdown(index=False)),
    }


@dg.multi_asset(
    outs={
        "validated_songs": dg.AssetOut(
            group_name="songs",
            kinds={"duckdb", "pandas"},
            owners=["team:data-engineering"],
            tags={"layer": "clean"},
            description="The clean songs base: catalogue + every validated new_tracks hour, "
            "typed, restricted to the configured genres, one row per track_id (newest wins).",
        ),
        "quarantined_tracks": dg.AssetOut(
            group_name="songs",
            kinds={"duckdb", "pandas"},
            owners=["team:data-engineering"],
            tags={"layer": "quality"},
            description="Rows kept out of validated_songs, with their source, row number, "
            "the rule(s) they broke and the original row as JSON.",
        ),
    },
    deps=[CATALOGUE_KEY, "new_tracks"],
    pool="duckdb",
)
def songs_base(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> Iterator[dg.Output]:
    """Validate, type, scope and de-duplicate the catalogue and the fed hours."""
    source = latest_source_path(context.instance, CATALOGUE_KEY) or "raw_spotify_tracks"
    raw_spotify_tracks = read_table(warehouse, CATALOGUE_TABLE)
    if raw_spotify_tracks is None:
        raise dg.Failure(
            description="main.raw_spotify_tracks does not exist: materialize raw_spotify_tracks "
            f"first (source {source})",
            allow_retries=False,
        )
    problems = batch_problems(raw_spotify_tracks, CATALOGUE_SUITE)
    if problems:
        raise dg.Failure(
            description=f"raw_spotify_tracks ({source}) fails the catalogue suite: "
            + "; ".join(problems)
            + ". Fix the file and re-materialize raw_spotify_tracks.",
            metadata={"source_path": dg.MetadataValue.path(source)},
            allow_retries=False,
        )
    partitions = read_partitions(warehouse)
    catalogue = Batch(
        label="catalogue", source=source, frame=raw_spotify_tracks, suite=CATALOGUE_SUITE
    )
    genres = settings.configured_genres()
    base = build_songs_base([catalogue, *partitions], genres)
    for label, why in base.excluded.items():
        context.log.warning(f"new_tracks partition {label} left out: {'; '.join(why)}")
    if base.validated_rows == 0:
        raise dg.Failure(
            description=f"no valid songs in the configured genres ({', '.join(genres)}): "
            f"{base.input_rows} input rows, {base.quarantined_rows} quarantined, "
            f"{base.out_of_scope_rows} of other genres. Check PLAYLIST_GENRES and {source}.",
            allow_retries=False,
        )
    _ensure_quarantine_table(warehouse)
    feed_rejects = _feed_rejects(warehouse)
    yield dg.Output(
        base.songs,
        output_name="validated_songs",
        metadata=_songs_metadata(base, genres, None if feed_rejects is None else len(feed_rejects)),
    )
    quarantined = base.quarantined
    if feed_rejects is not None and len(feed_rejects):
        quarantined = pd.concat([quarantined, feed_rejects], ignore_index=True)
    yield dg.Output(
        quarantined,
        output_name="quarantined_tracks",
        metadata=_quarantine_metadata(quarantined),
    )


defs = dg.Definitions(assets=[songs_base])
