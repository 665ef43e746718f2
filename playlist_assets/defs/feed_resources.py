"""The ``feed`` resource: where ``new_tracks`` gets an hour of tracks, one class per backend.

``FeedResource`` is the interface ``new_tracks`` calls (``fetch`` one hour, a ``kind`` for its
metadata); ``ReplayFeed``, ``LandingFeed`` and ``SpotifyFeed`` each carry only their own
settings, and ``build_feed_resource`` picks one from ``$PLAYLIST_FEED`` (replay by default).
Their fields can be changed per run in the launchpad, except what is deployment configuration:
the Spotify credentials come from the environment through ``dagster.EnvVar``, and the URLs
they are sent to (``$SPOTIFY_API_URL``, ``$SPOTIFY_TOKEN_URL``) are read from the environment
by the step itself, so no run config can point the credentials elsewhere.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from datetime import datetime
from typing import ClassVar

import dagster as dg
from pydantic import Field

from playlist_assets import settings
from playlist_assets.lib.feeds.normalize import FeedBatch

FEED_KINDS: tuple[str, ...] = ("replay", "landing", "spotify")
REPLAY_MODES: tuple[str, ...] = ("pool", "fresh")


class FeedResource(dg.ConfigurableResource, ABC):
    """Delivers the tracks that arrived in one hour; ``kind`` names the backend."""

    kind: ClassVar[str]

    @abstractmethod
    def fetch(
        self, partition_key: str, hour: datetime, log: dg.DagsterLogManager | None = None
    ) -> FeedBatch:
        """The batch for one hour (``hour``: naive UTC start of the partition)."""


class ReplayFeed(FeedResource):
    """A live-looking stream: the sample's held-back pool redrawn, or fresh tracks every hour."""

    kind: ClassVar[str] = "replay"

    mode: str = Field(
        default="pool",
        description="pool: draw from the held-back pool (the songs base stops growing once the "
        "pool is seen); fresh: new tracks every hour from the sample generator's genres.",
    )
    tracks_per_hour: int = Field(default=40, description="Tracks per hour.")
    replay_pool_path: str | None = Field(
        default=None,
        description="pool mode: Kaggle-format CSV to draw from (e.g. a real Kaggle file). "
        "Empty: the sample generator's held-back pool under the data folder.",
    )
    drift_features: list[str] = Field(
        default_factory=list,
        description="Audio features to shift (e.g. energy, valence); empty: no drift.",
    )
    drift_start: str | None = Field(
        default=None,
        description="First drifted partition key, e.g. 2026-11-25-12:00 (empty: all hours).",
    )
    drift_strength: float = Field(
        default=0.0, description="Shift in standard deviations (values stay clipped to range)."
    )

    def fetch(
        self, partition_key: str, hour: datetime, log: dg.DagsterLogManager | None = None
    ) -> FeedBatch:
        from playlist_assets.lib.feeds.replay import DriftSpec, ReplayError, load_pool, replay_hour

        try:
            drift = DriftSpec.parse(self.drift_features, self.drift_start, self.drift_strength)
            if self.mode == "fresh":
                from playlist_assets.lib.feeds.fresh import fresh_hour

                genres = settings.configured_genres()
                return fresh_hour(genres, partition_key, hour, self.tracks_per_hour, drift)
            if self.mode != "pool":
                raise ReplayError(
                    f"replay mode {self.mode!r} is unknown: choose one of {', '.join(REPLAY_MODES)}"
                    f" (${settings.REPLAY_MODE_ENV})"
                )
            pool = load_pool(self.resolved_pool_path(), settings.configured_genres())
            return replay_hour(pool, partition_key, hour, self.tracks_per_hour, drift)
        except ReplayError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None

    def resolved_pool_path(self) -> str:
        if self.replay_pool_path:
            return self.replay_pool_path
        from playlist_assets.lib.sample_data.generate import ensure_sample

        return str(ensure_sample(settings.sample_dir()).replay_csv)


class LandingFeed(FeedResource):
    """Kaggle-format files dropped in ``<landing_dir>/<YYYY-MM-DDTHH>/``."""

    kind: ClassVar[str] = "landing"

    landing_dir: str | None = Field(
        default=None,
        description="Folder holding one <YYYY-MM-DDTHH> folder per hour. Empty: "
        "<data folder>/landing.",
    )

    def fetch(
        self, partition_key: str, hour: datetime, log: dg.DagsterLogManager | None = None
    ) -> FeedBatch:
        from playlist_assets.lib.feeds.landing import read_landing_hour

        return read_landing_hour(self.resolved_landing_dir(), hour)

    def resolved_landing_dir(self) -> str:
        return self.landing_dir or str(settings.landing_dir())


class SpotifyFeed(FeedResource):
    """Search per genre plus audio features from the Spotify Web API, time-bounded per hour.

    The API and token URLs are not fields: they are read from ``$SPOTIFY_API_URL`` and
    ``$SPOTIFY_TOKEN_URL`` (empty: Spotify's own) when the hour runs.
    """

    kind: ClassVar[str] = "spotify"

    client_id: str | None = Field(default=None, description="Client id (from the environment).")
    client_secret: str | None = Field(
        default=None, description="Client secret (from the environment)."
    )
    genres: list[str] = Field(
        default_factory=list, description="Genres to search (empty: the configured genres)."
    )
    tracks_per_genre: int = Field(default=20, description="Tracks per genre and hour.")
    year: int | None = Field(
        default=None, description="Release year searched (empty: the partition's year)."
    )
    market: str | None = Field(default=None, description="ISO market code.")
    read_timeout_s: float = Field(default=15.0, description="Read timeout per request.")
    max_wait_s: float = Field(
        default=30.0, description="Longest single wait (Retry-After or back-off)."
    )
    budget_s: float = Field(
        default=45.0,
        description="Total time one hour may spend on Spotify (requests, timeouts and waits); "
        "once spent the hour fails once, saying what was tried.",
    )

    def fetch(
        self, partition_key: str, hour: datetime, log: dg.DagsterLogManager | None = None
    ) -> FeedBatch:
        from playlist_assets.lib.feeds.spotify import (
            AudioFeaturesRestricted,
            RetryBudget,
            SpotifyFeedClient,
            SpotifyFeedError,
            SpotifyRateLimited,
            SpotifySettings,
        )
        from playlist_assets.lib.feeds.spotify_hour import collect_hour

        client_settings = SpotifySettings(
            client_id=self.client_id or "",
            client_secret=self.client_secret or "",
            api_url=settings.spotify_api_url(),
            token_url=settings.spotify_token_url(),
            read_timeout_s=self.read_timeout_s,
            market=self.market,
        )
        budget = RetryBudget(max_wait_s=self.max_wait_s, total_s=self.budget_s)
        genres = list(self.genres) or list(settings.configured_genres())
        try:
            with SpotifyFeedClient(
                client_settings, budget, log=log.warning if log else None
            ) as client:
                return collect_hour(client, genres, hour, self.tracks_per_genre, self.year)
        except AudioFeaturesRestricted as exc:
            raise dg.Failure(
                description=str(exc),
                metadata={"landing_dir": dg.MetadataValue.path(str(settings.landing_dir()))},
                allow_retries=False,
            ) from None
        except SpotifyRateLimited as exc:
            # The one case a later attempt can fix: Dagster's RetryPolicy tries the hour again.
            raise dg.Failure(description=str(exc), allow_retries=True) from None
        except SpotifyFeedError as exc:
            # Unreachable, failing or hanging past the budget: a retry would repeat it.
            raise dg.Failure(
                description=f"{exc}. Not retried: fix the address, network or credentials, "
                "then re-materialize the partition.",
                allow_retries=False,
            ) from None


class UnknownFeed(FeedResource):
    """``$PLAYLIST_FEED`` names no backend: the feed's runs fail saying so; the rest still loads."""

    kind: ClassVar[str] = "unknown"

    requested: str

    def fetch(
        self, partition_key: str, hour: datetime, log: dg.DagsterLogManager | None = None
    ) -> FeedBatch:
        raise dg.Failure(
            description=f"feed kind {self.requested!r} is unknown: choose one of "
            f"{', '.join(FEED_KINDS)} (${settings.FEED_ENV})",
            allow_retries=False,
        )


def _env_var(name: str) -> dg.EnvVar | None:
    """``EnvVar(name)`` when set (resolved at run time, never stored), else nothing."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def build_feed_resource() -> FeedResource:
    """The feed for this deployment, chosen by ``$PLAYLIST_FEED`` (replay by default)."""
    kind = os.environ.get(settings.FEED_ENV, "").strip() or "replay"
    if kind == "landing":
        return LandingFeed()
    if kind == "spotify":
        return SpotifyFeed(
            client_id=_env_var(settings.SPOTIFY_CLIENT_ID_ENV),
            client_secret=_env_var(settings.SPOTIFY_CLIENT_SECRET_ENV),
        )
    if kind != "replay":
        return UnknownFeed(requested=kind)
    features = os.environ.get(settings.REPLAY_DRIFT_FEATURES_ENV, "")
    return ReplayFeed(
        mode=os.environ.get(settings.REPLAY_MODE_ENV, "").strip() or "pool",
        drift_features=[f.strip() for f in features.split(",") if f.strip()],
        drift_start=_env_var(settings.REPLAY_DRIFT_START_ENV),
        drift_strength=float(os.environ.get(settings.REPLAY_DRIFT_STRENGTH_ENV) or 0.0),
    )
