"""The hourly feed: ``new_tracks`` and the schedule that runs it (the feed: ``feed_resources``).

One partition holds the tracks that arrived in one hour, stored in ``main.new_tracks`` keyed by
``partition_hour``: the DuckDB I/O manager deletes the hour's rows before writing them again, so
re-materializing an hour replaces it and never duplicates it.
"""

from datetime import datetime

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from playlist_assets import settings
from playlist_assets.defs.feed_resources import FeedResource
from playlist_assets.defs.partitions import BACKFILL_POLICY, hourly_partitions, partition_hours
from playlist_assets.lib.feeds.normalize import FEED_COLUMNS, FeedBatch
from playlist_assets.lib.quality import store
from playlist_assets.lib.quality.quarantine import QUARANTINE_COLUMNS, empty_rejects, stamped
from playlist_assets.lib.schema import KAGGLE_COLUMNS

# Table columns, in the order DuckDB stores them (inserts are positional).
NEW_TRACKS_COLUMNS: tuple[str, ...] = (*KAGGLE_COLUMNS, "partition_hour", "source")
REJECTS_TABLE = store.FEED_REJECTS_TABLE
# The quality gate's quarantined_tracks columns, plus the hour the rows belong to.
REJECTS_TABLE_COLUMNS: tuple[str, ...] = (*QUARANTINE_COLUMNS, "partition_hour")
# Per-hour metadata stays small (it is stored with every event): a glimpse, not the table.
_PREVIEW_ROWS = 3
_LISTED = 5

# Transient trouble (Spotify rate limits outlasting the hour's budget, a DuckDB lock that
# outlived dagster-duckdb's own connect back-off) is retried later; deterministic failures
# raise dg.Failure(allow_retries=False) and are not.
FEED_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=20, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def with_partition_hour(batch: FeedBatch, hour: datetime) -> pd.DataFrame:
    frame = batch.tracks.loc[:, list(FEED_COLUMNS)].copy()
    frame["partition_hour"] = pd.Series([hour] * len(frame), dtype="datetime64[us]")
    return frame.loc[:, list(NEW_TRACKS_COLUMNS)]


def new_tracks(
    context: dg.AssetExecutionContext, feed: FeedResource, warehouse: DuckDBResource
) -> dg.Output[pd.DataFrame]:
    """The tracks that arrived in this hour, from the configured feed, in Kaggle columns.

    Plus ``partition_hour`` (the hour's start, UTC) and ``source`` (file path, ``replay`` or
    ``spotify:<endpoint>``). An hour without data is an empty partition. Rows a feed could not
    type (a word in a numeric column, a file without the required columns, an unreadable file)
    go to ``main.new_tracks_rejects`` with the reason instead; the blocking quality checks
    judge the rest before ``validated_songs`` takes them in.
    """
    frames: list[pd.DataFrame] = []
    rejects: list[pd.DataFrame] = []
    batches: list[FeedBatch] = []
    hours = partition_hours(context.partition_keys)
    for key, start, _end in hours:
        batch = feed.fetch(key, start, context.log)
        batches.append(batch)
        frames.append(with_partition_hour(batch, start))
        if len(batch.rejects):
            rejected = batch.rejects.copy()
            rejected["partition_hour"] = pd.Series([start] * len(rejected), dtype="datetime64[us]")
            rejects.append(rejected)
        for note in batch.notes:
            context.log.info(f"{key}: {note}")
    frame = pd.concat(frames, ignore_index=True)
    rejected = pd.concat(rejects, ignore_index=True) if rejects else _empty_rejects_table()
    _store_rejects_and_schema(warehouse, frame, rejected, hours[0][1], hours[-1][2])
    if len(rejected):
        context.log.warning(
            f"{len(rejected)} row(s) kept aside in {REJECTS_TABLE}: "
            + "; ".join(sorted(set(rejected["reason"].astype(str)))[:5])
        )
    return dg.Output(frame, metadata=_metadata(feed, frame, rejected, batches, hours))


new_tracks = dg.asset(
    partitions_def=hourly_partitions,
    group_name="ingestion",
    kinds={"duckdb", "pandas"},
    owners=["team:data-engineering"],
    tags={"layer": "raw", **settings.HOURLY_TAGS},
    pool="duckdb",
    metadata={"partition_expr": "partition_hour"},
    retry_policy=FEED_RETRY_POLICY,
    backfill_policy=BACKFILL_POLICY,
)(new_tracks)


def _empty_rejects_table() -> pd.DataFrame:
    frame = empty_rejects()
    frame["partition_hour"] = pd.Series(dtype="datetime64[us]")
    return frame


def _store_rejects_and_schema(
    warehouse: DuckDBResource,
    frame: pd.DataFrame,
    rejected: pd.DataFrame,
    start: datetime,
    end: datetime,
) -> None:
    """Keep the hours' rejects (replacing earlier ones) and make sure ``new_tracks`` exists.

    The hours' earlier quality verdicts are forgotten too: their data is being replaced, and the
    blocking check (or ``validated_songs``) judges the new data. dagster-duckdb skips writing an
    empty frame, so an empty first hour would leave downstream SQL without a table; the empty
    frame creates it with the same column types instead.
    """
    rows = stamped(rejected).loc[:, list(REJECTS_TABLE_COLUMNS)]
    with warehouse.get_connection() as conn:
        conn.register("hour_tracks", frame.iloc[0:0])
        conn.register("hour_rejects", rows)
        conn.execute("create schema if not exists main")
        conn.execute("create table if not exists main.new_tracks as select * from hour_tracks")
        conn.execute(
            f"create table if not exists {REJECTS_TABLE} as select * from hour_rejects limit 0"
        )
        conn.execute(
            f"delete from {REJECTS_TABLE} where partition_hour >= ? and partition_hour < ?",
            [start, end],
        )
        if len(rows):
            conn.execute(f"insert into {REJECTS_TABLE} select * from hour_rejects")
        store.clear_hours(conn, start, end)


def _metadata(
    feed: FeedResource,
    frame: pd.DataFrame,
    rejected: pd.DataFrame,
    batches: list[FeedBatch],
    hours: list[tuple[str, datetime, datetime]],
) -> dict[str, object]:
    genre_counts = frame["track_genre"].value_counts(dropna=False)
    sources = sorted({s for b in batches for s in b.sources})
    notes = [n for b in batches for n in b.notes]
    metadata: dict[str, object] = {
        "rows": dg.MetadataValue.int(len(frame)),
        "rejected_rows": dg.MetadataValue.int(len(rejected)),
        "feed": dg.MetadataValue.text(feed.kind),
        "source": dg.MetadataValue.text(_first(sources, _LISTED) or "none (empty hour)"),
        "genre_counts": dg.MetadataValue.json(
            {str(genre): int(count) for genre, count in genre_counts.items()}
        ),
        "partitions": dg.MetadataValue.int(len(hours)),
        "preview": dg.MetadataValue.md(
            frame[["track_id", "track_name", "track_genre"]]
            .head(_PREVIEW_ROWS)
            .to_markdown(index=False)
            if len(frame)
            else "_no tracks this hour_"
        ),
    }
    if notes:
        metadata["notes"] = dg.MetadataValue.md(_first_lines(notes))
    if len(rejected):
        metadata["rejects_preview"] = dg.MetadataValue.md(
            rejected[["source", "row_number", "reason"]].head(_LISTED).to_markdown(index=False)
            + f"\n\nAll rejected rows: {REJECTS_TABLE}."
        )
    if feed.kind == "replay" and feed.drift_features:
        metadata["drift"] = dg.MetadataValue.json(
            {
                "features": list(feed.drift_features),
                "start": feed.drift_start,
                "strength": feed.drift_strength,
            }
        )
    return metadata


def _first_lines(items: list[str]) -> str:
    lines = [f"- {n[:200]}" for n in items[:_LISTED]]
    if len(items) > _LISTED:
        lines.append(f"- and {len(items) - _LISTED} more (see the run's logs)")
    return "\n".join(lines)


def _first(items: list[str], limit: int) -> str:
    text = ", ".join(items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


hourly_feed_job = dg.define_asset_job(
    "hourly_feed_job",
    selection=dg.AssetSelection.assets("new_tracks", "feature_drift"),
    description="One hour of new tracks, its quality checks, then drift against the champion.",
)

hourly_feed_schedule = dg.build_schedule_from_partitioned_job(
    hourly_feed_job,
    name="hourly_feed_schedule",
    minute_of_hour=5,  # a few minutes' grace for landing files of the hour that just ended
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


defs = dg.Definitions(
    assets=[new_tracks],
    jobs=[hourly_feed_job],
    schedules=[hourly_feed_schedule],
)
