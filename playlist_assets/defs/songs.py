"""The songs base: ``validated_songs`` and ``quarantined_tracks``, computed together.

Nothing is judged again here. Each batch's verdict, typed rows and rejects were stored when its
blocking check ran (``defs/checks.py``, ``lib.quality.store``); this asset combines them with
set-based SQL: the last accepted catalogue plus every accepted hour, restricted to the configured
genres, one row per track_id (the newest hour wins). A retrain after a year of hours costs about
what it costs after a day.

A batch that reached the warehouse without its check (materialized alone, or written by hand)
has no stored verdict: it is judged here once, the same way, and stored.
"""

from collections.abc import Iterator

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from playlist_assets import settings
from playlist_assets.defs.checks import CATALOGUE_KEY, catalogue_source
from playlist_assets.defs.partitions import hour_key
from playlist_assets.lib.constants import DATA_ENGINEERING_OWNERS, DUCKDB_POOL, SOURCE_PATH_KEY
from playlist_assets.lib.quality import SongsBase, gate, store
from playlist_assets.lib.schema import TYPED_DTYPES

_PREVIEW_ROWS = 10
_LOGGED = 5


def _markdown_list(items: dict[str, str]) -> str:
    return "\n".join(f"- {key}: {value}" for key, value in items.items()) or "none"


def _songs_metadata(base: SongsBase, genres: tuple[str, ...], feed_rejects: int | None) -> dict:
    per_genre = base.per_genre()
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
        "partitions_included": base.hours_included,
        "partitions_excluded": base.hours_excluded,
        "excluded_batches": dg.MetadataValue.md(_markdown_list(base.excluded)),
        "ignored_columns": dg.MetadataValue.md(_markdown_list(base.ignored_columns)),
        "preview": dg.MetadataValue.md(base.songs.head(_PREVIEW_ROWS).to_markdown(index=False)),
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, dtype) for name, dtype in TYPED_DTYPES.items()]
        ),
    }
    if base.newest_partition is not None:
        metadata["newest_partition"] = hour_key(base.newest_partition)
    if feed_rejects is not None:
        metadata["feed_rejects (main.new_tracks_rejects)"] = feed_rejects
    return metadata


def _quarantine_metadata(quarantined: pd.DataFrame) -> dict:
    by_source = quarantined["source"].value_counts().head(_PREVIEW_ROWS * 2)
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


def judge_what_is_unjudged(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, source: str
) -> None:
    """Judge (once) a catalogue or hours that reached the warehouse without their check."""
    try:
        caught = gate.catch_up(
            warehouse.get_connection,
            source,
            hour_key,
            data_docs_dir=settings.data_folder().data_docs,
            run_name=context.run.run_id,
        )
    except gate.CatalogueMissing as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    state = caught.catalogue
    if not state.has_accepted:
        raise dg.Failure(
            description=f"raw_spotify_tracks ({source}) fails the catalogue suite: "
            f"{state.problems}. Fix the file and re-materialize raw_spotify_tracks.",
            metadata={SOURCE_PATH_KEY: dg.MetadataValue.path(source)},
            allow_retries=False,
        )
    if state.accepted is False:
        context.log.warning(
            f"raw_spotify_tracks ({state.source}) was rejected ({state.problems}); using the "
            f"last accepted catalogue ({state.accepted_source})"
        )
    if caught.hours_judgment is not None:
        context.log.info(f"judged {len(caught.hours)} hour(s) that had no stored verdict")
        for verdict in caught.hours_judgment.failed[:_LOGGED]:
            context.log.warning(
                f"new_tracks partition {verdict.label} left out: {'; '.join(verdict.problems)}"
            )


_SONGS_OUT = {
    "group_name": "songs",
    "kinds": {"duckdb", "pandas"},
    "owners": list(DATA_ENGINEERING_OWNERS),
}


@dg.multi_asset(
    outs={
        "validated_songs": dg.AssetOut(
            **_SONGS_OUT,
            tags={"layer": "clean"},
            description="The clean songs base: the last accepted catalogue + every accepted "
            "new_tracks hour, typed, restricted to the configured genres, one row per track_id "
            "(newest wins).",
        ),
        "quarantined_tracks": dg.AssetOut(
            **_SONGS_OUT,
            tags={"layer": "quality"},
            description="Rows kept out of validated_songs, with their source, row number, "
            "the rule(s) they broke and the original row as JSON.",
        ),
    },
    deps=[CATALOGUE_KEY, "new_tracks"],
    pool=DUCKDB_POOL,
)
def songs_base(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> Iterator[dg.Output]:
    """Combine the stored judgments of the catalogue and the fed hours."""
    source = catalogue_source(context.instance)
    judge_what_is_unjudged(context, warehouse, source)
    genres = settings.configured_genres()
    with warehouse.get_connection() as conn:
        base = store.combine(conn, list(genres))
        quarantined = store.quarantined(conn)
        store.ensure_quarantined_table(conn)
        feed_rejects = store.feed_rejects_count(conn)
    if base.validated_rows == 0:
        raise dg.Failure(
            description=f"no valid songs in the configured genres ({', '.join(genres)}): "
            f"{base.input_rows} input rows, {base.quarantined_rows} quarantined, "
            f"{base.out_of_scope_rows} of other genres. Check PLAYLIST_GENRES and "
            f"{base.catalogue_source or source}.",
            allow_retries=False,
        )
    yield dg.Output(
        base.songs,
        output_name="validated_songs",
        metadata=_songs_metadata(base, genres, feed_rejects),
    )
    yield dg.Output(
        quarantined, output_name="quarantined_tracks", metadata=_quarantine_metadata(quarantined)
    )


defs = dg.Definitions(assets=[songs_base])
