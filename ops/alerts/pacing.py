"""When a channel is sent to: retry backoff, the per-channel rate limit, grouping. Pure."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from typing import Any

MINUTE_MS = 60_000


def backoff_ms(attempts: int, min_secs: float, max_secs: float,
               rng: random.Random | None = None) -> int:
    """Delay before the next send after `attempts` failed ones: min doubling per attempt,
    capped at max, times a jitter in [0.5, 1] (channels failing together do not retry in
    step)."""
    rng = rng or random
    plain = min(max_secs, min_secs * 2 ** min(max(attempts - 1, 0), 40))
    return int(plain * 1000 * rng.uniform(0.5, 1.0))


class RateLimit:
    """At most `per_minute` messages in any 60 s (a sliding window of send times)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.times: deque[int] = deque()

    def _expire(self, now_ms: int) -> None:
        while self.times and now_ms - self.times[0] >= MINUTE_MS:
            self.times.popleft()

    def allow(self, now_ms: int) -> bool:
        """True if a message may go now."""
        self._expire(now_ms)
        return len(self.times) < self.per_minute

    def wait_ms(self, now_ms: int) -> int:
        """How long until a message may go (0: now)."""
        self._expire(now_ms)
        if len(self.times) < self.per_minute:
            return 0
        return self.times[0] + MINUTE_MS - now_ms

    def sent(self, now_ms: int) -> None:
        """A message was delivered."""
        self.times.append(now_ms)


def group_ready(rows: Sequence[Any], now_ms: int, window_ms: int) -> bool:
    """True once the oldest of `rows` (created_at_ms) is `window_ms` old: whatever else came
    meanwhile goes in the same message."""
    return bool(rows) and now_ms - min(r.created_at_ms for r in rows) >= window_ms
