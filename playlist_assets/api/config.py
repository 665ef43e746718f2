"""The API's settings: defaults, the environment variables that override them, and paths.

Light on purpose (standard library only): ``playlist-assets api-keys`` and the CLI's argument
parser read it before anything heavy is imported. Command-line flags override the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from playlist_assets import settings
from playlist_assets.lib.constants import DataFolder
from playlist_assets.lib.feedback.contract import DEFAULT_CHALLENGER_SHARE

HOST_ENV = "PLAYLIST_API_HOST"
PORT_ENV = "PLAYLIST_API_PORT"
RATE_ENV = "PLAYLIST_API_RATE"  # requests per second per key
BURST_ENV = "PLAYLIST_API_BURST"  # requests a key may send at once
POLL_ENV = "PLAYLIST_API_POLL_SECONDS"  # how often the watcher looks for new serving state
THREADS_ENV = "PLAYLIST_API_THREADS"  # recommendation worker threads
PROCESSES_ENV = "PLAYLIST_API_PROCESSES"  # ranking processes forked per serving state
# Largest replaced co-occurrence side (MiB) a promotion's ranking processes may keep mapped when
# forked before its swap (0: always forked after the replaced state is freed).
PREFORK_MAX_MIB_ENV = "PLAYLIST_API_PREFORK_MAX_MIB"
# Share of listeners the recommender challenger serves (0 disables it; default from the contract)
CHALLENGER_SHARE_ENV = "PLAYLIST_API_CHALLENGER_SHARE"
# How many recent requests (at most a day's) the process remembers to check feedback against.
FEEDBACK_MEMORY_ENV = "PLAYLIST_API_FEEDBACK_MEMORY"
# "1": keys are required even on loopback (behind a proxy, loopback is not private).
REQUIRE_KEYS_ENV = "PLAYLIST_API_REQUIRE_KEYS"
# The path prefix a proxy serves the API under (e.g. /api), for /docs and /openapi.json.
ROOT_PATH_ENV = "PLAYLIST_API_ROOT_PATH"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_RATE = 20.0
DEFAULT_BURST = 40
DEFAULT_POLL_SECONDS = 5.0
# Two cores here; the ranking holds the GIL for its Python parts, so more threads add waiting
# and per-request memory (bench_api.py), not throughput.
DEFAULT_THREADS = 2
# The ranking is mostly GIL-bound: processes forked after a load share the recommender's pages
# and use both cores (pool.py); 0 ranks in the threads of the serving process.
DEFAULT_PROCESSES = 2
# A promotion's processes forked before its swap keep the replaced co-occurrence side mapped
# until the next swap (~14 MiB at a year of fresh songs on the sample's playlists; a million
# playlists' co-occurrence is GBs, and is then forked after the release instead).
DEFAULT_PREFORK_MAX_MIB = 128.0
# ~0.5 KB per remembered request at k=20 (its ranked ids point at the songs' own strings):
# 100,000 requests hold ~50 MB; feedback for an older or forgotten request is refused (404).
DEFAULT_FEEDBACK_MEMORY = 100_000
FEEDBACK_MEMORY_SECONDS = 24 * 3600
MAX_FEEDBACK_EVENTS = 500  # events one POST /v1/feedback may carry

MAX_K = 500
DEFAULT_K = 20
MAX_SEEDS = 1000
MAX_USER_CHARS = 128
# A request body larger than this is refused (413) before it is read: 1,000 track URLs fit.
MAX_BODY_BYTES = 128 * 1024
# Requests waiting for a ranking thread beyond which the service answers 503 (shed, not queue).
MAX_PENDING = 256
# Uncached key checks (argon2, ~50 ms each by design) the whole process does per second: a
# client guessing keys cannot take the CPU from the others.
KEY_CHECKS_PER_SECOND = 20.0


API_DIR = "api"


def api_dir(data_home: Path | None = None) -> Path:
    """``<data folder>/api``: the key file lives here (never in DuckDB, never in metadata)."""
    return (data_home or settings.data_home()) / API_DIR


def keys_path(data_home: Path | None = None) -> Path:
    return api_dir(data_home) / "keys.json"


def landing_dir(data_home: Path | None = None) -> Path:
    """The landing folder the impressions and feedback logs write under (``hourly_log``)."""
    return settings.landing_dir() if data_home is None else DataFolder.at(data_home).landing


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"${name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class ApiConfig:
    """How one API process runs; ``from_env`` reads the defaults' overrides."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    rate: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST
    poll_seconds: float = DEFAULT_POLL_SECONDS
    threads: int = DEFAULT_THREADS
    processes: int = DEFAULT_PROCESSES
    prefork_max_mib: float = DEFAULT_PREFORK_MAX_MIB
    challenger_share: float = DEFAULT_CHALLENGER_SHARE
    feedback_memory: int = DEFAULT_FEEDBACK_MEMORY
    require_keys: bool = False
    root_path: str = ""
    max_body_bytes: int = MAX_BODY_BYTES
    max_pending: int = MAX_PENDING
    key_checks_per_second: float = KEY_CHECKS_PER_SECOND

    @classmethod
    def from_env(cls) -> ApiConfig:
        return cls(
            host=os.environ.get(HOST_ENV, "").strip() or DEFAULT_HOST,
            port=int(_env_float(PORT_ENV, DEFAULT_PORT)),
            rate=_env_float(RATE_ENV, DEFAULT_RATE),
            burst=int(_env_float(BURST_ENV, DEFAULT_BURST)),
            poll_seconds=_env_float(POLL_ENV, DEFAULT_POLL_SECONDS),
            threads=int(_env_float(THREADS_ENV, DEFAULT_THREADS)),
            processes=int(_env_float(PROCESSES_ENV, DEFAULT_PROCESSES)),
            prefork_max_mib=_env_float(PREFORK_MAX_MIB_ENV, DEFAULT_PREFORK_MAX_MIB),
            challenger_share=_env_float(CHALLENGER_SHARE_ENV, DEFAULT_CHALLENGER_SHARE),
            feedback_memory=int(_env_float(FEEDBACK_MEMORY_ENV, DEFAULT_FEEDBACK_MEMORY)),
            require_keys=os.environ.get(REQUIRE_KEYS_ENV, "").strip().lower()
            in ("1", "true", "yes"),
            root_path=os.environ.get(ROOT_PATH_ENV, "").strip().rstrip("/"),
        )

    def problems(self) -> list[str]:
        """What is wrong with these settings, one line each (empty: fine)."""
        out = []
        if not 0 <= self.port <= 65535:
            out.append(f"port must be 0..65535, got {self.port}")
        if self.rate <= 0 or self.burst < 1:
            out.append(f"rate limit must be positive (rate {self.rate}/s, burst {self.burst})")
        if self.poll_seconds <= 0:
            out.append(f"poll interval must be positive, got {self.poll_seconds}")
        if self.threads < 1:
            out.append(f"threads must be at least 1, got {self.threads}")
        if self.processes < 0:
            out.append(f"processes must be 0 or more, got {self.processes}")
        if self.prefork_max_mib < 0:
            out.append(f"prefork limit must be 0 MiB or more, got {self.prefork_max_mib}")
        if self.root_path and not self.root_path.startswith("/"):
            out.append(f"root path must start with '/', got {self.root_path!r}")
        if self.feedback_memory < 1:
            out.append(f"feedback memory must be at least 1 request, got {self.feedback_memory}")
        if not 0 <= self.challenger_share <= 1:
            out.append(f"challenger share must be in 0..1, got {self.challenger_share}")
        return out
