"""The hourly feed: ``new_tracks``, the feed resource that fills it, and the schedule that runs it.

One partition holds the tracks that arrived in one hour, stored in ``main.new_tracks`` keyed by
``partition_hour``: the DuckDB I/O manager deletes the hour's rows before writing them again, so
re-materializing an hour replaces it and never duplicates it.
"""

import os
import warnings
from datetime import datetime

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from playlist_assets import settings
from playlist_assets.defs.partitions import hourly_partitions, partition_hours
from playlist_assets.lib.feeds.normalize import FEED_COLUMNS, FeedBatch
from playlist_assets.lib.quality import store
from playlist_assets.lib.quality.quarantine import QUARANTINE_COLUMNS, empty_rejects, stamped
from playlist_assets.lib.schema import KAGGLE_COLUMNS

FEED_KIND_ENV = "PLAYLIST_FEED"
DRIFT_FEATURES_ENV = "PLAYLIST_REPLAY_DRIFT_FEATURES"
DRIFT_START_ENV = "PLAYLIST_REPLAY_DRIFT_START"
DRIFT_STRENGTH_ENV = "PLAYLIST_REPLAY_DRIFT_STRENGTH"
SPOTIFY_ID_ENV = "SPOTIPY_CLIENT_ID"
SPOTIFY_SECRET_ENV = "SPOTIPY_CLIENT_SECRET"

FEED_KINDS: tuple[str, ...] = ("replay", "landing", "spotify")
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
# A backfill runs up to a week of hours per run: run start-up (seconds) dwarfs an hour's work
# (milliseconds for replay), and the DuckDB pool serializes the writes of parallel runs anyway.
FEED_BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=168)


class FeedResource(dg.ConfigurableResource):
    """Where new tracks come from: ``replay`` (default), ``landing`` files or the ``spotify`` API.

    Every field can be changed per run in the launchpad (resource ``feed``). Spotify credentials
    come from ``SPOTIPY_CLIENT_ID`` / ``SPOTIPY_CLIENT_SECRET`` through ``dagster.EnvVar`` and are
    only needed when ``kind`` is ``spotify``.
    """

    kind: str = Field(default="replay", description="replay | landing | spotify")
    tracks_per_hour: int = Field(
        default=40, description="replay: tracks drawn per hour from the held-back pool."
    )
    replay_pool_path: str | None = Field(
        default=None,
        description="replay: Kaggle-format CSV to draw from (e.g. a real Kaggle file). Empty: "
        "the sample generator's held-back pool under the data folder.",
    )
    drift_features: list[str] = Field(
        default_factory=list,
        description="replay: audio features to shift (e.g. energy, valence); empty: no drift.",
    )
    drift_start: str | None = Field(
        default=None,
        description="replay: first drifted partition key, e.g. 2026-11-25-12:00 (empty: all hours).",
    )
    drift_strength: float = Field(
        default=0.0,
        description="replay: shift in pool standard deviations (values stay clipped to range).",
    )
    landing_dir: str | None = Field(
        default=None,
        description="landing: folder holding one <YYYY-MM-DDTHH> folder per hour. Empty: "
        "<data folder>/landing.",
    )
    spotify_client_id: str | None = Field(default=None, description="spotify: client id.")
    spotify_client_secret: str | None = Field(default=None, description="spotify: client secret.")
    spotify_genres: list[str] = Field(
        default_factory=list,
        description="spotify: genres to search (empty: the configured genres).",
    )
    spotify_tracks_per_genre: int = Field(
        default=20, description="spotify: tracks per genre and hour."
    )
    spotify_year: int | None = Field(
        default=None, description="spotify: release year searched (empty: the partition's year)."
    )
    spotify_market: str | None = Field(default=None, description="spotify: ISO market code.")
    spotify_api_url: str | None = Field(
        default=None, description="spotify: Web API base URL (empty: https://api.spotify.com/v1/)."
    )
    spotify_token_url: str | None = Field(
        default=None, description="spotify: token URL (empty: Spotify's accounts service)."
    )
    spotify_timeout_s: float = Field(default=15.0, description="spotify: read timeout per request.")
    spotify_max_wait_s: float = Field(
        default=30.0, description="spotify: longest single wait (Retry-After or back-off)."
    )
    spotify_budget_s: float = Field(
        default=120.0, description="spotify: total time one hour may spend waiting on Spotify."
    )

    def fetch(
        self, partition_key: str, hour: datetime, log: dg.DagsterLogManager | None = None
    ) -> FeedBatch:
        """The batch for one hour (``hour``: naive UTC start of the partition)."""
        if self.kind == "replay":
            return self._replay(partition_key, hour)
        if self.kind == "landing":
            from playlist_assets.lib.feeds.landing import read_landing_hour

            return read_landing_hour(self.resolved_landing_dir(), hour)
        if self.kind == "spotify":
            return self._spotify(hour, log)
        raise dg.Failure(
            description=f"feed kind {self.kind!r} is unknown: choose one of {', '.join(FEED_KINDS)}",
            allow_retries=False,
        )

    def resolved_landing_dir(self) -> str:
        return self.landing_dir or str(settings.landing_dir())

    def resolved_pool_path(self) -> str:
        if self.replay_pool_path:
            return self.replay_pool_path
        from playlist_assets.lib.sample_data import ensure_sample

        return str(ensure_sample(settings.sample_dir()).replay_csv)

    def _replay(self, partition_key: str, hour: datetime) -> FeedBatch:
        from playlist_assets.lib.feeds.replay import DriftSpec, ReplayError, load_pool, replay_hour

        try:
            drift = DriftSpec.parse(self.drift_features, self.drift_start, self.drift_strength)
            pool = load_pool(self.resolved_pool_path(), settings.configured_genres())
            return replay_hour(pool, partition_key, hour, self.tracks_per_hour, drift)
        except ReplayError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None

    def _spotify(self, hour: datetime, log: dg.DagsterLogManager | None) -> FeedBatch:
        from playlist_assets.lib.feeds.spotify import (
            AudioFeaturesRestricted,
            RetryBudget,
            SpotifyFeedClient,
            SpotifyFeedError,
            SpotifySettings,
            SpotifyUnavailable,
            collect_hour,
        )

        client_settings = SpotifySettings(
            client_id=self.spotify_client_id or "",
            client_secret=self.spotify_client_secret or "",
            api_url=self.spotify_api_url,
            token_url=self.spotify_token_url,
            read_timeout_s=self.spotify_timeout_s,
            market=self.spotify_market,
        )
        budget = RetryBudget(max_wait_s=self.spotify_max_wait_s, total_s=self.spotify_budget_s)
        genres = list(self.spotify_genres) or list(settings.configured_genres())
        try:
            with SpotifyFeedClient(
                client_settings, budget, log=log.warning if log else None
            ) as client:
                return collect_hour(
                    client, genres, hour, self.spotify_tracks_per_genre, self.spotify_year
                )
        except AudioFeaturesRestricted as exc:
            raise dg.Failure(
                description=str(exc),
                metadata={"landing_dir": dg.MetadataValue.path(self.resolved_landing_dir())},
                allow_retries=False,
            ) from None
        except SpotifyUnavailable as exc:
            raise dg.Failure(description=str(exc), allow_retries=True) from None
        except SpotifyFeedError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None


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


# backfill_policy is a beta parameter in dagster 1.13: its warning at every code-location load
# is noise for users of this project.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    new_tracks = dg.asset(
        partitions_def=hourly_partitions,
        group_name="ingestion",
        kinds={"duckdb", "pandas"},
        owners=["team:data-engineering"],
        tags={"layer": "raw"},
        pool="duckdb",
        metadata={"partition_expr": "partition_hour"},
        retry_policy=FEED_RETRY_POLICY,
        backfill_policy=FEED_BACKFILL_POLICY,
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


def _env_var(name: str) -> dg.EnvVar | None:
    """``EnvVar(name)`` when set (resolved at run time, never stored), else nothing."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def build_feed_resource() -> FeedResource:
    """The feed for this deployment: kind and drift knob from the environment, replay by default."""
    drift_features = [
        f.strip() for f in os.environ.get(DRIFT_FEATURES_ENV, "").split(",") if f.strip()
    ]
    return FeedResource(
        kind=_env_var(FEED_KIND_ENV) or "replay",
        drift_features=drift_features,
        drift_start=_env_var(DRIFT_START_ENV),
        drift_strength=float(os.environ.get(DRIFT_STRENGTH_ENV) or 0.0),
        spotify_client_id=_env_var(SPOTIFY_ID_ENV),
        spotify_client_secret=_env_var(SPOTIFY_SECRET_ENV),
    )


defs = dg.Definitions(
    assets=[new_tracks],
    jobs=[hourly_feed_job],
    schedules=[hourly_feed_schedule],
    resources={"feed": build_feed_resource()},
)
