"""Per-key rate limits: a token bucket per key (or per client address when the API runs open).

A bucket holds up to ``burst`` tokens and refills at ``rate`` a second; a request takes one or is
answered 429 with the seconds until the next token (``Retry-After``). Buckets are independent,
so a key at its limit costs the others nothing but the 429s it is sent. Called from the event
loop only (no lock); idle buckets are dropped so the table stays small.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

IDLE_SECONDS = 600.0


@dataclass
class Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """``take(name)`` -> 0.0 when allowed, else the seconds to wait."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._buckets: dict[str, Bucket] = {}
        self._swept = clock()

    def take(self, name: str) -> float:
        now = self._clock()
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        if now - self._swept > IDLE_SECONDS:
            self._sweep(now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _sweep(self, now: float) -> None:
        self._swept = now
        idle = [n for n, b in self._buckets.items() if now - b.stamp > IDLE_SECONDS]
        for name in idle:
            del self._buckets[name]


def retry_after_header(wait_s: float) -> str:
    """``Retry-After`` takes whole seconds: round up, at least 1."""
    return str(max(1, math.ceil(wait_s)))
