"""Prometheus metrics of one API process (prometheus-client), on a registry of its own.

One process serves (see ``server``), so no multiprocess mode is needed. Route labels are route
templates (``/v1/songs/{track_id}``), never raw paths, so the label set stays bounded.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

# No ``*_created`` series beside every counter and histogram: they double the page for nothing
# a dashboard of this service reads.
disable_created_metrics()

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
SWAP_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class ApiMetrics:
    """Every metric the service exports; ``registry`` is what ``/metrics`` renders."""

    def __init__(self) -> None:
        """One declaration per metric, each with its help text and labels: long because
        prometheus-client declares metrics one constructor call at a time, and splitting them
        would scatter what ``/metrics`` shows over several places."""
        r = self.registry = CollectorRegistry()
        ProcessCollector(registry=r)  # process_resident_memory_bytes, cpu seconds, open fds
        PlatformCollector(registry=r)
        self.requests = Counter(
            "playlist_api_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "playlist_api_request_duration_seconds",
            "Time from receiving a request to its last byte, by route template.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.recommend_seconds = Histogram(
            "playlist_api_recommender_seconds",
            "Time inside Recommender.recommend per recommendation request.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.inflight = Gauge(
            "playlist_api_inflight_requests", "Requests being answered.", registry=r
        )
        self.model = Gauge(
            "playlist_api_model_info",
            "1 for the model version each arm serves.",
            ["arm", "model_version", "classifier_version"],
            registry=r,
        )
        self.songs = Gauge(
            "playlist_api_index_songs", "Songs the serving recommender ranks.", registry=r
        )
        self.ranking_processes = Gauge(
            "playlist_api_ranking_processes",
            "Live ranking processes of the serving states (fewer than configured: the serving "
            "process ranks what a dead one would have).",
            registry=r,
        )
        self.ready = Gauge(
            "playlist_api_ready", "1 when a recommender is loaded and serving.", registry=r
        )
        self.swaps = Counter(
            "playlist_api_swaps",
            "Loads of new serving state: ok (swapped in), failed, locked (warehouse busy, "
            "retried), missing (not materialized yet).",
            ["outcome"],
            registry=r,
        )
        self.swap_seconds = Histogram(
            "playlist_api_swap_duration_seconds",
            "Time to load and warm a new serving state before the swap.",
            buckets=SWAP_BUCKETS,
            registry=r,
        )
        self.last_swap = Gauge(
            "playlist_api_last_swap_timestamp_seconds",
            "When the serving state was last swapped (Unix time).",
            registry=r,
        )
        self.rate_limited = Counter(
            "playlist_api_rate_limited",
            "Requests answered 429, by key id (or 'open' when the API runs without keys).",
            ["key_id"],
            registry=r,
        )
        self.impressions = Counter(
            "playlist_api_impressions", "Served lists written to the impressions log.", registry=r
        )
        self.feedback = Counter(
            "playlist_api_feedback_events",
            "Feedback events received, by event, arm that served the request (unknown when "
            "rejected) and outcome: accepted (written), duplicate (counted once), rejected.",
            ["event", "arm", "outcome"],
            registry=r,
        )
        self.impression_errors = Counter(
            "playlist_api_impression_errors",
            "Served lists the impressions log could not take (disk full, permissions).",
            registry=r,
        )
