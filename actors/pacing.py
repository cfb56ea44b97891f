"""How fast the exchange pool may send: its own estimate, corrected by what the venue reports.

The venue's way of counting (its windows, default weight limit, refusal codes, the weight of
each operation, its shortest ban) comes from its adapter (venue.interface.RateLimits); the
policy below (what waits, what is kept for protection) is posguard's.

Binance reports the account's live counters on every response (protocol/binance-usdm.md):
`X-MBX-USED-WEIGHT-1M` (request weight of this IP, every response) and, on orders,
`X-MBX-ORDER-COUNT-10S` / `-1M`. A worker's gateway reads them after each call (RateUsage)
and the pool feeds them in here, so orders placed by another client of the same account, or
by this engine before a restart, use up the budget as well. Past a limit the venue answers 429 with
`Retry-After`; a client that keeps sending earns a 418 (IP ban, 2 min up to 3 days). So:

- a 429 on orders (-1015) holds every placement until Retry-After has passed; cancels and
  reads go on (they are not orders, and a cancel may be what protection needs);
- a 429 on request weight (-1003), or one we cannot attribute, holds every request;
- a 418 holds every request until the ban's Retry-After (the pool logs an ALERT);
- before the weight limit, reads are spaced out (above READ_SOFT of the limit) and then held
  (above READ_CAP) until the minute's counter has rolled over, so the rest of the minute's
  weight is left to protective work (cancels, lookups), which waits only near the limit
  (PROTECTIVE_CAP: requests in flight on other workers are not in any header yet);
- a share of the order budget (OPEN_RESERVE) is kept for stops and closes: opens never take
  the last orders of a window; a larger share (MOVE_RESERVE) is kept from stop moves, so a
  new or grown position's stop always finds budget however many trails are moving.

Times are seconds on the caller's monotonic clock (the pool passes time.monotonic()), so tests
drive everything with plain numbers. Nothing here is ever dropped, only delayed.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from enum import Enum, unique
from typing import Any

from actors.messages import (
    AccountLimits,
    CancelStop,
    LookupOrder,
    PlaceMarket,
    PlaceStop,
    PoolStatus,
    RateUsage,
    StopPurpose,
)
from venue.interface import RateLimits

READ_SOFT = 0.5
"""Share of the weight limit above which reads are spaced out."""
READ_CAP = 0.8
"""Share of the weight limit above which reads wait for the window (the rest is protective)."""
PROTECTIVE_CAP = 0.95
"""Share of the weight limit above which protective work waits too: the last 5 % covers
requests other workers have in flight, not yet in any header (a 429 on weight holds
everything, and requests that still arrive inside its Retry-After earn a 418)."""
OPEN_RESERVE = 0.1
"""Share of each order window that opens may not use (kept for stops and closes)."""
MOVE_RESERVE = 0.2
"""Share of each order window that stop moves may not use (kept for first stops, resizes,
restores and closes: protection of a position with no stop of its size never waits for
trails; and above opens' share, so the opens that need those stops are not starved either)."""
DEFAULT_RETRY_AFTER_SECS = 1.0
"""A 429 without Retry-After (Binance always sends one; a proxy or a fault might not): wait
this long, doubled for each further refusal in a row (up to MAX_DEFAULT_RETRY_SECS)."""
MAX_DEFAULT_RETRY_SECS = 60.0
"""Longest such guess: a minute."""


@unique
class Scope(Enum):
    """What a pause holds."""

    ALL = "all"        # every request (429 on weight, 418 ban)
    ORDERS = "orders"  # order placements only (429 on orders)


@dataclass(frozen=True, slots=True)
class Throttled:
    """The venue refused a call: what is held, until when (for the pool's log line)."""

    scope: Scope
    """What is held."""
    until: float
    """Clock time the pause ends."""
    secs: float
    """Its length (Retry-After, or the default)."""
    banned: bool
    """True for a 418 (IP ban)."""
    http_status: int
    """429 or 418."""
    code: int | None
    """The venue's code of the refusal (Binance: -1003, -1015) if any."""


def is_placing(op: Any) -> bool:
    """True for an order placement (counts on X-MBX-ORDER-COUNT-*)."""
    return isinstance(op, PlaceMarket | PlaceStop)


def is_move(op: Any) -> bool:
    """True for a stop move: a tighter stop for a position whose stop rests (may wait)."""
    return isinstance(op, PlaceStop) and op.purpose is StopPurpose.MOVE


def is_protective(op: Any) -> bool:
    """Work that keeps, restores or ends a position's protection: a stop placement, a cancel,
    a reduce-only close, a lookup after an unknown outcome. Opens and reads are not."""
    if isinstance(op, PlaceMarket):
        return op.reduce_only
    return isinstance(op, PlaceStop | CancelStop | LookupOrder)


class OrderBudget:
    """Sliding order windows (Binance: 10 s / 60 s): our own orders plus the ones only the
    server saw.

    The server's count at `t` minus our own orders in the window at `t` is taken to be other
    orders placed at `t` (the latest they can have been placed, so they are held longest).
    Orders of ours still in flight when the count was taken are not in it yet: the estimate
    may be short by up to the number of workers, which is why the configured budget sits
    below Binance's (250 of 300 per 10 s).
    """

    def __init__(self, per_10s: int, per_min: int, windows_secs: tuple[float, float]) -> None:
        self._limits = (per_10s, per_min)
        self._windows = windows_secs
        """(short, long) window lengths: the venue's (RateLimits.order_windows_secs)."""
        self._sent: collections.deque[float] = collections.deque()      # the long window
        self._sent_10s: collections.deque[float] = collections.deque()  # the short window
        self._others: dict[float, tuple[float, int]] = {}                # window -> (at, n)
        self._server: dict[float, tuple[float, int]] = {}                # window -> (at, count)

    @property
    def limits(self) -> tuple[int, int]:
        """(per 10 s, per minute) in force."""
        return self._limits

    def set_limits(self, per_10s: int, per_min: int) -> None:
        """Change the limits (e.g. lowered to what exchangeInfo publishes)."""
        self._limits = (per_10s, per_min)

    def record(self, now: float) -> None:
        """Count one order sent at `now`."""
        self._sent.append(now)
        self._sent_10s.append(now)

    def observe(self, now: float, count_10s: int | None, count_1m: int | None) -> None:
        """The server's order counts as of `now` (None: the response had no such header)."""
        self._prune(now)
        short, long = self._windows
        for window, count, own in ((short, count_10s, self._sent_10s),
                                   (long, count_1m, self._sent)):
            if count is not None:
                self._others[window] = (now, max(0, count - len(own)))
                self._server[window] = (now, count)

    def sent(self, now: float) -> tuple[int, int]:
        """Our own orders in the last 10 s and the last minute."""
        self._prune(now)
        return len(self._sent_10s), len(self._sent)

    def server(self, now: float) -> tuple[int | None, int | None]:
        """The server's last count per window (None: none, or it is a window old)."""
        out: list[int | None] = []
        for window in self._windows:
            at, count = self._server.get(window, (0.0, None))
            out.append(count if count is not None and now - at < window else None)
        return out[0], out[1]

    def used(self, now: float) -> tuple[int, int]:
        """What the budget counts per window: our own orders plus the others the server saw
        (as wait_secs counts them)."""
        own = self.sent(now)
        out = []
        for window, n in zip(self._windows, own, strict=True):
            at, others = self._others.get(window, (0.0, 0))
            out.append(n + (others if now - at < window else 0))
        return out[0], out[1]

    def reserves(self, share: float) -> tuple[int, int]:
        """`share` of each window's limit, in orders (what MOVE_RESERVE keeps back)."""
        return int(self._limits[0] * share), int(self._limits[1] * share)

    def room(self, now: float, reserve: tuple[int, int] = (0, 0)) -> int:
        """How many orders may go now in both windows (`reserve`: orders of each window
        they may not use); 0 when none."""
        used = self.used(now)
        return max(0, min(max(limit - r, 1) - n for limit, r, n
                          in zip(self._limits, reserve, used, strict=True)))

    def wait_secs(self, now: float, reserve: int | tuple[int, int] = 0) -> float:
        """0 if an order may go now, else how long until one may (`reserve`: orders of each
        window this one may not use; one figure for both, or one per window)."""
        self._prune(now)
        wait = 0.0
        short, long = self._windows
        per_window = reserve if isinstance(reserve, tuple) else (reserve, reserve)
        for window, limit, own, kept in ((short, self._limits[0], self._sent_10s, per_window[0]),
                                         (long, self._limits[1], self._sent, per_window[1])):
            at, others = self._others.get(window, (0.0, 0))
            if now - at >= window:
                others = 0
            allowed = max(limit - kept, 1)
            excess = len(own) + others - allowed + 1
            if excess > 0:
                # window - (now - t), not t + window - now: the same float expression as the
                # pruning, so "still in the window" and "must wait" never disagree.
                wait = max(wait, window - (now - _nth_oldest(own, at, others, excess)))
        return max(wait, 0.0)

    def _prune(self, now: float) -> None:
        short, long = self._windows
        for window, own in ((long, self._sent), (short, self._sent_10s)):
            while own and now - own[0] >= window:
                own.popleft()


def _nth_oldest(own: collections.deque[float], at: float, others: int, n: int) -> float:
    """The time of the n-th oldest order of a window: ours (sorted) merged with `others`
    orders all placed at `at`. Leaves the window (and frees a slot) at that time + window."""
    for t in own:
        if others and at <= t:
            if n <= others:
                return at
            n, others = n - others, 0
        if n == 1:
            return t
        n -= 1
    return at  # the rest are the others'


class WeightGauge:
    """Request weight of the current minute: the server's last figure plus what we sent since.

    No figure (no header yet, or the last one is a minute old) means no weight pacing: a
    venue that does not report weight is paced only by its 429s.
    """

    def __init__(self, limit: int, window_secs: float) -> None:
        self.limit = limit
        self.window_secs = window_secs
        """The venue's weight counter window (RateLimits.weight_window_secs)."""
        self._seen_at: float | None = None
        self._used = 0
        self._since = 0
        self._last_read: float | None = None

    def observe(self, now: float, used: int) -> None:
        """The server's X-MBX-USED-WEIGHT-1M at `now`."""
        self._seen_at, self._used, self._since = now, used, 0

    def spent(self, now: float, weight: int, *, read: bool) -> None:
        """We sent a request of `weight` (read: a non-protective one, which is spaced out)."""
        self._since += weight
        if read:
            self._last_read = now

    def reading(self, now: float) -> int | None:
        """The server's last figure, None when there is none from the last minute."""
        if self._seen_at is None or now - self._seen_at >= self.window_secs:
            return None
        return self._used

    def estimate(self, now: float) -> int | None:
        """The minute's weight as far as we know, None when we know nothing."""
        if self._seen_at is None or now - self._seen_at >= self.window_secs:
            return None
        return self._used + self._since

    def wait_secs(self, now: float, weight: int, *, protective: bool) -> float:
        """0 if a request of `weight` may go now, else how long to wait."""
        used = self.estimate(now)
        if used is None or self._seen_at is None:
            return 0.0
        cap = (PROTECTIVE_CAP if protective else READ_CAP) * self.limit
        if used + weight > cap:
            # Held until the figure is a minute old: by then the server's minute has rolled
            # over (a fresher header from any other request lifts the hold earlier).
            return max(self._seen_at + self.window_secs - now, 0.0)
        if protective or used < READ_SOFT * self.limit or self._last_read is None:
            return 0.0
        # Spread what is left of the read allowance over a whole window.
        gap = self.window_secs * weight / max(cap - used, 1.0)
        return max(self._last_read + gap - now, 0.0)


class Pacer:
    """The pool's gate: may this op go now, and what did the venue say after a call."""

    def __init__(self, per_10s: int, per_min: int, weight_limit: int | None = None, *,
                 limits: RateLimits) -> None:
        self.limits = limits
        """How the venue counts (its adapter's RateLimits)."""
        self.configured = (per_10s, per_min)
        self.budget = OrderBudget(per_10s, per_min, limits.order_windows_secs)
        self.gauge = WeightGauge(limits.weight_limit if weight_limit is None else weight_limit,
                                 limits.weight_window_secs)
        self.paused_until: dict[Scope, float] = {}
        self._refusals = 0
        """429s in a row (a reply that was not refused resets it)."""

    def apply_limits(self, limits: AccountLimits) -> None:
        """The exchange's published limits: they lower the configured budget, never raise it
        (the configured one is the operator's choice and sits below the venue's)."""
        per_10s, per_min = self.configured
        self.budget.set_limits(min(per_10s, limits.orders_per_10s or per_10s),
                               min(per_min, limits.orders_per_min or per_min))
        if limits.weight_per_min:
            self.gauge.limit = limits.weight_per_min

    def wait_secs(self, op: Any, now: float) -> float:
        """0 if `op` may be sent now, else how long until it may."""
        placing, protective = is_placing(op), is_protective(op)
        scopes = (Scope.ALL, Scope.ORDERS) if placing else (Scope.ALL,)
        wait = max((self.paused_until.get(s, 0.0) - now for s in scopes), default=0.0)
        if placing:
            per_10s = self.budget.limits[0]
            reserve: int | tuple[int, int] = 0 if protective else int(per_10s * OPEN_RESERVE)
            if is_move(op):
                reserve = self.budget.reserves(MOVE_RESERVE)
            wait = max(wait, self.budget.wait_secs(now, reserve))
        weight = self.weight_of(op)
        if weight:
            wait = max(wait, self.gauge.wait_secs(now, weight, protective=protective))
        return max(wait, 0.0)

    def move_room(self, now: float, probe: Any) -> int:
        """How many stop moves may go now (`probe`: a move, for its pauses and weight): the
        order budget less MOVE_RESERVE, 0 while a pause or the weight holds a move."""
        if self.wait_secs(probe, now) > 0:
            return 0
        return self.budget.room(now, self.budget.reserves(MOVE_RESERVE))

    def weight_of(self, op: Any) -> int:
        """The op's request weight on the venue's counter (its adapter's table)."""
        return self.limits.weight_of(op)

    def sent(self, op: Any, now: float) -> None:
        """`op` was handed to a worker at `now`."""
        if is_placing(op):
            self.budget.record(now)
        self.gauge.spent(now, self.weight_of(op), read=not is_protective(op))

    def observe(self, op: Any, usage: RateUsage | None, now: float) -> Throttled | None:
        """A call finished: take in the venue's counters; a 429/418 starts a pause."""
        if usage is None:
            return None
        throttled = self._throttle(op, usage, now)
        self._refusals = 0 if throttled is None else self._refusals + 1
        # A refusal's own counter of the refused kind is at the limit by definition; its
        # Retry-After, not that counter, says when the window has room again.
        if usage.used_weight_1m is not None and (
                throttled is None or throttled.scope is Scope.ORDERS):
            self.gauge.observe(now, usage.used_weight_1m)
        if (usage.order_count_10s is not None or usage.order_count_1m is not None) and (
                throttled is None or throttled.scope is Scope.ALL):
            self.budget.observe(now, usage.order_count_10s, usage.order_count_1m)
        return throttled

    def status(self, now: float, queued: int, pid: int) -> PoolStatus:
        """The budget against the venue's counters, for the metrics."""
        (sent_10s, sent_1m), (used_10s, used_1m) = self.budget.sent(now), self.budget.used(now)
        server_10s, server_1m = self.budget.server(now)
        paused = max((until - now for until in self.paused_until.values()), default=0.0)
        limit_10s, limit_1m = self.budget.limits
        return PoolStatus(limit_10s, limit_1m, used_10s, used_1m, sent_10s, sent_1m,
                          server_10s, server_1m, self.gauge.reading(now),
                          self.gauge.estimate(now), self.gauge.limit, queued,
                          max(paused, 0.0), pid)

    def _throttle(self, op: Any, usage: RateUsage, now: float) -> Throttled | None:
        """A 429 or 418: pause what it names (a 429 we cannot attribute pauses everything)."""
        if usage.http_status not in (429, 418):
            return None
        banned = usage.http_status == 418
        default = self.limits.default_ban_secs if banned else min(
            DEFAULT_RETRY_AFTER_SECS * 2 ** self._refusals, MAX_DEFAULT_RETRY_SECS)
        secs = usage.retry_after_ms / 1000 if usage.retry_after_ms is not None else default
        orders = usage.code is not None and usage.code == self.limits.orders_code
        scope = Scope.ORDERS if not banned and orders else Scope.ALL
        until = max(self.paused_until.get(scope, 0.0), now + secs)
        self.paused_until[scope] = until
        return Throttled(scope, until, secs, banned, int(usage.http_status), usage.code)
