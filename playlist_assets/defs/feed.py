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
from playlist_assets.lib.constants import DATA_ENGINEERING_OWNERS, DUCKDB_POOL
from playlist_assets.lib.feeds.hours import hours_rows
from playlist_assets.lib.feeds.normalize import FeedBatch
from playlist_assets.lib.quality.feed_tables import store_feed_hours
from playlist_assets.lib.quality.store import FEED_REJECTS_TABLE as REJECTS_TABLE

# Per-hour metadata stays small (it is stored with every event): a glimpse, not the table.
_PREVIEW_ROWS = 3
_LISTED = 5

# Transient trouble (Spotify rate limits outlasting the hour's budget, a DuckDB lock that
# outlived dagster-duckdb's own connect back-off) is retried later; deterministic failures
# raise dg.Failure(allow_retries=False) and are not.
FEED_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=20, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


@dg.asset(
    partitions_def=hourly_partitions,
    group_name="ingestion",
    kinds={"duckdb", "pandas"},
    owners=list(DATA_ENGINEERING_OWNERS),
    tags={"layer": "raw", **settings.HOURLY_TAGS},
    pool=DUCKDB_POOL,
    metadata={"partition_expr": "partition_hour"},
    retry_policy=FEED_RETRY_POLICY,
    backfill_policy=BACKFILL_POLICY,
)
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
    hours = partition_hours(context.partition_keys)
    batches: list[tuple[datetime, FeedBatch]] = []
    for key, start, _end in hours:
        batch = feed.fetch(key, start, context.log)
        batches.append((start, batch))
        for note in batch.notes:
            context.log.info(f"{key}: {note}")
    frame, rejected = hours_rows(batches)
    with warehouse.get_connection() as conn:
        store_feed_hours(conn, frame, rejected, hours[0][1], hours[-1][2])
    if len(rejected):
        context.log.warning(
            f"{len(rejected)} row(s) kept aside in {REJECTS_TABLE}: "
            + "; ".join(sorted(set(rejected["reason"].astype(str)))[:5])
        )
    metadata = _metadata(feed, frame, rejected, [b for _, b in batches], hours)
    return dg.Output(frame, metadata=metadata)


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
