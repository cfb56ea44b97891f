"""Restart intensity: how often a symbol actor may be restarted before it is quarantined.

Pure (the caller passes the time), so the supervisor's policy is unit-tested without actors.
Default 3 restarts within 30 s per symbol; each restart waits an exponential backoff with
jitter (a crash loop must not hammer the exchange or the store).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable


class RestartIntensity:
    """Per-key sliding window of restarts plus exponential backoff with jitter."""

    def __init__(self, max_restarts: int, within_secs: float, backoff_min_ms: int,
                 backoff_max_ms: int, rand: Callable[[], float] = random.random) -> None:
        self.max_restarts = max_restarts
        self.within_secs = within_secs
        self.backoff_min_ms = backoff_min_ms
        self.backoff_max_ms = backoff_max_ms
        self.rand = rand
        self._times: dict[str, deque[float]] = {}

    def recent(self, key: str, now: float) -> int:
        """Restarts of `key` within the window ending at `now`."""
        times = self._times.setdefault(key, deque())
        while times and now - times[0] > self.within_secs:
            times.popleft()
        return len(times)

    def allow(self, key: str, now: float) -> float | None:
        """Record a restart of `key`: its backoff in seconds, or None (quarantine it)."""
        n = self.recent(key, now)
        if n >= self.max_restarts:
            return None
        self._times[key].append(now)
        base = min(self.backoff_min_ms * 2 ** n, self.backoff_max_ms)
        # Full jitter in [base/2, base]: spreads restarts of many symbols, never exceeds max.
        return base * (0.5 + 0.5 * self.rand()) / 1000.0

    def reset(self, key: str) -> None:
        """Forget `key`'s history (the operator restarted it)."""
        self._times.pop(key, None)
