"""Binance's REST rate limits: IP request weight per minute, account orders per 10 s / 1 min.

Fixed windows on the simulator's clock, aligned like Binance's counters (a minute counter
restarts at each whole minute): what `X-MBX-USED-WEIGHT-1M` and `X-MBX-ORDER-COUNT-10S` /
`-1M` report. Past a limit the request is refused with HTTP 429 and `Retry-After` (the
seconds until the window turns). A client that keeps sending inside that wait earns an IP
ban: HTTP 418, every request refused until it ends, 2 minutes for the first ban and doubling
for each repeat up to 3 days (Binance: "IP bans are tracked and scale in duration for repeat
offenders, from 2 minutes to 3 days"). Order 429s (-1015) do not lead to bans here: Binance
documents the ban for the IP limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from system.sim.errors import RateLimitError
from system.sim.settings import SimSettings

MINUTE_MS = 60_000
TEN_SECONDS_MS = 10_000
FIRST_BAN_MS = 2 * MINUTE_MS
LONGEST_BAN_MS = 3 * 86_400_000


@dataclass(slots=True)
class _Window:
    """A fixed-window counter: `count` since the window containing `start_ms` began."""

    length_ms: int
    start_ms: int = 0
    count: int = 0

    def _roll(self, now_ms: int) -> None:
        start = now_ms - now_ms % self.length_ms
        if start != self.start_ms:
            self.start_ms, self.count = start, 0

    def add(self, now_ms: int, n: int) -> int:
        """Count `n` more now; the new total of this window."""
        self._roll(now_ms)
        self.count += n
        return self.count

    def used(self, now_ms: int) -> int:
        """The total of the window `now_ms` falls in."""
        self._roll(now_ms)
        return self.count

    def retry_after_secs(self, now_ms: int) -> int:
        """Whole seconds until this window turns (at least 1)."""
        return max(1, math.ceil((self.start_ms + self.length_ms - now_ms) / 1000))


@dataclass(slots=True)
class _Ip:
    """What the limiter knows about one client address."""

    weight: _Window = field(default_factory=lambda: _Window(MINUTE_MS))
    backoff_until_ms: int = 0
    """End of the Retry-After of the last weight 429."""
    violations: int = 0
    """Requests sent inside that Retry-After."""
    banned_until_ms: int = 0
    bans: int = 0


class RateLimiter:
    """Request-weight and order counters of one simulator; pure, time passed in."""

    def __init__(self, settings: SimSettings) -> None:
        self.weight_limit = settings.request_weight_per_min
        self.orders_10s_limit = settings.orders_per_10s
        self.orders_1m_limit = settings.orders_per_min
        self.violations_before_ban = settings.backoff_violations_before_ban
        self.reset()

    def reset(self) -> None:
        """Forget every counter, back-off and ban."""
        self._ips: dict[str, _Ip] = {}
        self._orders_10s = _Window(TEN_SECONDS_MS)
        self._orders_1m = _Window(MINUTE_MS)

    def admit(self, ip: str, weight: int, now_ms: int) -> int:
        """Charge one request of `weight`; the used weight, or RateLimitError (429 / 418)."""
        s = self._ips.setdefault(ip, _Ip())
        if now_ms < s.banned_until_ms:
            raise self._banned(ip, s, now_ms)
        if now_ms < s.backoff_until_ms:
            s.violations += 1
            if s.violations >= self.violations_before_ban:
                s.bans += 1
                ban_ms = min(FIRST_BAN_MS * 2 ** (s.bans - 1), LONGEST_BAN_MS)
                s.banned_until_ms, s.backoff_until_ms = now_ms + ban_ms, 0
                raise self._banned(ip, s, now_ms)
        used = s.weight.add(now_ms, weight)
        if used > self.weight_limit or now_ms < s.backoff_until_ms:
            if now_ms >= s.backoff_until_ms:  # a fresh 429: its wait starts now
                s.violations = 0
                s.backoff_until_ms = s.weight.start_ms + s.weight.length_ms
            raise RateLimitError(
                -1003, f"Too many requests; current limit of IP({ip}) is {self.weight_limit} "
                       "requests per minute. Please use the websocket for live updates to "
                       "avoid polling the API.", 429,
                max(1, math.ceil((s.backoff_until_ms - now_ms) / 1000)))
        return used

    @staticmethod
    def _banned(ip: str, s: _Ip, now_ms: int) -> RateLimitError:
        return RateLimitError(
            -1003, f"Way too many requests; IP({ip}) banned until {s.banned_until_ms}. "
                   "Please use the websocket for live updates to avoid bans.", 418,
            max(1, math.ceil((s.banned_until_ms - now_ms) / 1000)))

    def admit_order(self, now_ms: int) -> None:
        """Count one new order against both account limits, or -1015 (HTTP 429).

        An order refused here never reaches the matching engine and is not counted.
        """
        if self._orders_10s.used(now_ms) >= self.orders_10s_limit:
            raise RateLimitError(-1015, f"Too many new orders; current limit is "
                                        f"{self.orders_10s_limit} orders per 10 SECOND.", 429,
                                 self._orders_10s.retry_after_secs(now_ms))
        if self._orders_1m.used(now_ms) >= self.orders_1m_limit:
            raise RateLimitError(-1015, f"Too many new orders; current limit is "
                                        f"{self.orders_1m_limit} orders per 1 MINUTE.", 429,
                                 self._orders_1m.retry_after_secs(now_ms))
        self._orders_10s.add(now_ms, 1)
        self._orders_1m.add(now_ms, 1)

    def used_weight(self, ip: str, now_ms: int) -> int:
        """X-MBX-USED-WEIGHT-1M for `ip`."""
        s = self._ips.get(ip)
        return 0 if s is None else s.weight.used(now_ms)

    def order_counts(self, now_ms: int) -> tuple[int, int]:
        """(X-MBX-ORDER-COUNT-10S, X-MBX-ORDER-COUNT-1M)."""
        return self._orders_10s.used(now_ms), self._orders_1m.used(now_ms)

    def describe(self, now_ms: int) -> dict:
        """JSON for /_sim/rate_limits: limits, counters, back-offs and bans per IP."""
        c10, c1m = self.order_counts(now_ms)
        return {
            "limits": {"request_weight_per_min": self.weight_limit,
                       "orders_per_10s": self.orders_10s_limit,
                       "orders_per_min": self.orders_1m_limit,
                       "backoff_violations_before_ban": self.violations_before_ban},
            "orders": {"count_10s": c10, "count_1m": c1m},
            "ips": {ip: {"used_weight_1m": s.weight.used(now_ms),
                         "backoff_until_ms": s.backoff_until_ms if now_ms < s.backoff_until_ms
                         else 0, "violations": s.violations,
                         "banned_until_ms": s.banned_until_ms
                         if now_ms < s.banned_until_ms else 0, "bans": s.bans}
                    for ip, s in self._ips.items()},
        }
