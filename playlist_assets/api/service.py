"""One running service's parts, built once at start-up: the holder and its watcher, the key
guard, the impressions and feedback logs, the requests remembered for feedback, the metrics and
the worker threads that answer requests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playlist_assets import settings
from playlist_assets.api import config as api_config
from playlist_assets.api.auth import Guard
from playlist_assets.api.errors import ApiError
from playlist_assets.api.feedback import RecentRequests
from playlist_assets.api.holder import StateHolder
from playlist_assets.api.hourly_log import HourlyLog
from playlist_assets.api.keys import KeyChecker, KeyStore
from playlist_assets.api.metrics import ApiMetrics
from playlist_assets.api.ratelimit import RateLimiter
from playlist_assets.api.versions import VersionProbe
from playlist_assets.lib.feedback.contract import CHALLENGER, FEEDBACK_DIR, IMPRESSIONS_DIR


@dataclass
class Service:
    config: api_config.ApiConfig
    holder: StateHolder
    guard: Guard
    metrics: ApiMetrics
    impressions: HourlyLog | None
    feedback: HourlyLog
    recent: RecentRequests
    executor: ThreadPoolExecutor

    @classmethod
    def build(cls, config: api_config.ApiConfig, data_home: Path | None = None) -> Service:
        home = Path(data_home) if data_home is not None else settings.data_home()
        metrics = ApiMetrics()
        holder = StateHolder(
            home,
            VersionProbe(home, settings.dagster_home()),
            metrics,
            poll_seconds=config.poll_seconds,
            challenger_share=config.challenger_share,
            processes=config.processes,
            prefork_max_bytes=int(config.prefork_max_mib * 2**20),
        )
        checker = KeyChecker(KeyStore(api_config.keys_path(home)))
        checker.refresh()
        guard = Guard(
            checker,
            RateLimiter(config.rate, config.burst),
            RateLimiter(config.key_checks_per_second, int(config.key_checks_per_second)),
            metrics,
            require_keys=config.require_keys,
        )
        landing = api_config.landing_dir(home)
        return cls(
            config=config,
            holder=holder,
            guard=guard,
            metrics=metrics,
            impressions=HourlyLog(landing, IMPRESSIONS_DIR),
            feedback=HourlyLog(landing, FEEDBACK_DIR),
            recent=RecentRequests(config.feedback_memory, api_config.FEEDBACK_MEMORY_SECONDS),
            # a thread per ranking process at least: a thread waits on its child's answer
            executor=ThreadPoolExecutor(
                max(config.threads, config.processes), thread_name_prefix="recommend"
            ),
        )

    def __post_init__(self) -> None:
        self._pending = 0

    @contextlib.contextmanager
    def admit_ranking(self) -> Iterator[None]:
        """Count a request waiting for or in a ranking thread; past ``max_pending`` answer 503
        at once (an overloaded service sheds load instead of queueing without bound)."""
        if self._pending >= self.config.max_pending:
            raise ApiError(
                503,
                "overloaded",
                f"{self._pending} requests are already waiting to be ranked; retry shortly",
                headers={"Retry-After": "1"},
            )
        self._pending += 1
        try:
            yield
        finally:
            self._pending -= 1

    def start(self) -> None:
        self.holder.start()

    def stop(self) -> None:
        self.holder.stop()
        self.executor.shutdown(wait=True, cancel_futures=True)
        if self.impressions is not None:
            self.impressions.close()
        self.feedback.close()

    def readiness(self) -> dict[str, Any]:
        state = self.holder.champion
        status = self.holder.status
        challenger = self.holder.states.get(CHALLENGER)
        return {
            "ready": state is not None,
            "model_version": state.model_version if state else None,
            "classifier_version": state.classifier_version if state else None,
            "challenger": {
                "model_version": challenger.model_version,
                "share": self.config.challenger_share,
            }
            if challenger
            else None,
            "index": state.index if state else None,
            "loaded_at": state.loaded_at if state else None,
            "load_seconds": state.load_seconds if state else None,
            "loading": status.loading,
            "last_error": status.last_error,
        }

    def usage(self) -> dict[str, Any]:
        from datetime import datetime, timezone

        def when(t: float | None) -> str | None:
            return (
                datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds") if t else None
            )

        return {
            "keys": {
                key_id: {
                    "requests": u.requests,
                    "rate_limited": u.rate_limited,
                    "last_seen": when(u.last_seen),
                }
                for key_id, u in sorted(self.guard.usage.items())
            },
            "rate_limit": {"rate": self.config.rate, "burst": self.config.burst},
            "feedback": {
                "remembered_requests": len(self.recent),
                "capacity": self.config.feedback_memory,
            },
            "serving": {
                **self.readiness(),
                "swaps": self.holder.status.swaps,
                "recent_failures": self.holder.status.failures,
            },
        }
