"""A token bucket per key: how often one requester may make the node do work (sans-IO).

Why: some requests cost the node's one database thread whatever the answer — a document request
that is refused reads the case every time (a refusal cannot be remembered: the case may reach
the requester later) — so a requester asking again and again would stall the inbox and the
commands queued behind it (issue 11, finding 11). Each key gets `burst` requests at once and
`rate` more per second after that; past it the caller refuses without doing the work, and says
how long to wait.

Why not a library: pyrate-limiter (installed only as a test tool's dependency) keys buckets
through a factory and leaks them on a background thread; this needs a clock passed in (virtual
time in tests, sans-IO like the rest of `regions.core`), a bounded number of keys, and nothing
else. At most `max_keys` keys are remembered (least recently used dropped first): a dropped key
starts again with a full bucket, which only ever grants what a new requester would get.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class RequestBudget:
    def __init__(self, *, rate: float, burst: int, max_keys: int = 4096) -> None:
        if rate <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("rate must be positive, burst and max_keys at least 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str, now: float) -> float:
        """Spend one request of `key` at time `now` (seconds, monotonic): 0.0 if granted, else
        the seconds until one will be (nothing is spent)."""
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(float(self.burst),
                                bucket.tokens + max(0.0, now - bucket.at) * self.rate)
            bucket.at = max(bucket.at, now)
        self._buckets[key] = bucket
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate
