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

Another venue's rules come from the same RateLimits (Bybit: protocol/bybit-linear.md "Rate
limits"): its windows (1 s / 60 s), a ceiling the configured budget is held to (the config's
numbers are Binance's 10 s ones), create and amend in one shared order budget (Bybit limits
each 10/s on its own: sharing keeps both under it), cancels in a window of their own
(`cancel_window`: 10/s), slots held until a window after the reply (`hold_until_reply`: a
1 s window is counted at arrival), weight counted by the pool when the venue reports none
(`weight_reported`: the IP limit, 600 / 5 s), a refusal recognised by its code on any HTTP
status (10006 rides HTTP 200) and the venue's ban status (403). Amending a stop (AmendStop) is
an order, and a MOVE when its purpose says so (actors/dispatch.py defers and grants it).

Times are seconds on the caller's monotonic clock (the pool passes time.monotonic()), so tests
drive everything with plain numbers. Nothing here is ever dropped, only delayed. The counters
themselves are in actors/windows.py.
"""

from __future__ import annotations

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
from actors.windows import (
    IN_FLIGHT_MAX_SECS,
    PROTECTIVE_CAP,
    READ_CAP,
    READ_SOFT,
    CallWindow,
    OrderBudget,
    WeightGauge,
)
from venue.interface import RateLimits
from venue.requests import AmendStop

__all__ = ["DEFAULT_RETRY_AFTER_SECS", "IN_FLIGHT_MAX_SECS", "MAX_DEFAULT_RETRY_SECS",
           "MOVE_RESERVE", "OPEN_RESERVE", "PROTECTIVE_CAP", "READ_CAP", "READ_SOFT",
           "CallWindow", "OrderBudget", "Pacer", "Scope", "Throttled", "WeightGauge",
           "is_move", "is_placing", "is_protective"]

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
    CANCELS = "cancels"  # cancels only (a venue that limits them on their own: Bybit)


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
    http_status: int | None
    """429, the venue's ban status (418, Bybit 403), or what a refusal by code rode on
    (Bybit's 10006 comes with HTTP 200)."""
    code: int | None
    """The venue's code of the refusal (Binance: -1003, -1015) if any."""


def is_placing(op: Any) -> bool:
    """True for an order placement or amendment (counts on the order budget: Binance's
    X-MBX-ORDER-COUNT-*; Bybit limits create and amend 10/s each, one shared budget keeps
    both under it)."""
    return isinstance(op, PlaceMarket | PlaceStop | AmendStop)


def is_move(op: Any) -> bool:
    """True for a stop move: a tighter stop for a position whose stop rests (may wait),
    placed anew or amended in place."""
    return isinstance(op, PlaceStop | AmendStop) and op.purpose is StopPurpose.MOVE


def is_protective(op: Any) -> bool:
    """Work that keeps, restores or ends a position's protection: a stop placement, a cancel,
    a reduce-only close, a lookup after an unknown outcome. Opens and reads are not."""
    if isinstance(op, PlaceMarket):
        return op.reduce_only
    return isinstance(op, PlaceStop | AmendStop | CancelStop | LookupOrder)


def _capped(budget: tuple[int, int], ceiling: tuple[int, int] | None) -> tuple[int, int]:
    """The configured budget held to the venue's own ceiling (None: no ceiling)."""
    if ceiling is None:
        return budget
    return min(budget[0], ceiling[0]), min(budget[1], ceiling[1])


class Pacer:
    """The pool's gate: may this op go now, and what did the venue say after a call."""

    def __init__(self, per_10s: int, per_min: int, weight_limit: int | None = None, *,
                 limits: RateLimits) -> None:
        self.limits = limits
        """How the venue counts (its adapter's RateLimits)."""
        self.configured = _capped((per_10s, per_min), limits.order_ceiling)
        """The operator's budget per order window, held to the venue's own ceiling."""
        self.budget = OrderBudget(*self.configured, limits.order_windows_secs,
                                  limits.hold_until_reply)
        self.cancels = CallWindow(*limits.cancel_window, limits.hold_until_reply) \
            if limits.cancel_window else None
        """Cancels sent in the venue's cancel window (None: the venue does not count them)."""
        self.gauge = WeightGauge(limits.weight_limit if weight_limit is None else weight_limit,
                                 limits.weight_window_secs, reported=limits.weight_reported)
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
        if self.cancels is not None and isinstance(op, CancelStop):
            scopes = (Scope.ALL, Scope.CANCELS)
        wait = max((self.paused_until.get(s, 0.0) - now for s in scopes), default=0.0)
        if self.cancels is not None and isinstance(op, CancelStop):
            wait = max(wait, self.cancels.wait_secs(now))
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
        elif self.cancels is not None and isinstance(op, CancelStop):
            self.cancels.record(now)
        self.gauge.spent(now, self.weight_of(op), read=not is_protective(op))

    def observe(self, op: Any, usage: RateUsage | None, now: float) -> Throttled | None:
        """A call finished: take in the venue's counters; a 429/418 starts a pause."""
        counted = self.cancels is not None and isinstance(op, CancelStop)
        if is_placing(op):
            self.budget.finished(now)
        elif counted:
            self.cancels.finished(now)
        if usage is None:
            return None
        throttled = self._throttle(op, usage, now)
        self._refusals = 0 if throttled is None else self._refusals + 1
        # A refusal's own counter of the refused kind is at the limit by definition; its
        # Retry-After, not that counter, says when the window has room again.
        if usage.used_weight_1m is not None and (
                throttled is None or throttled.scope is Scope.ORDERS):
            self.gauge.observe(now, usage.used_weight_1m)
        if counted:  # the cancel endpoint's own counter (Bybit): not the orders'
            if usage.order_count_10s is not None and throttled is None:
                self.cancels.observe(now, usage.order_count_10s)
        elif (usage.order_count_10s is not None or usage.order_count_1m is not None) and (
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
        """A 429, a ban, or the venue's rate-limit code on any status (Bybit's 10006 rides
        HTTP 200): pause what it names (a refusal we cannot attribute pauses everything)."""
        lim = self.limits
        by_code = usage.code is not None and usage.code in (lim.orders_code, lim.weight_code)
        banned = usage.http_status == lim.ban_http_status
        if usage.http_status != 429 and not banned and not by_code:
            return None
        default = lim.default_ban_secs if banned else min(
            DEFAULT_RETRY_AFTER_SECS * 2 ** self._refusals, MAX_DEFAULT_RETRY_SECS)
        secs = usage.retry_after_ms / 1000 if usage.retry_after_ms is not None else default
        scope = Scope.ALL if banned else self._refused_scope(op, usage.code)
        until = max(self.paused_until.get(scope, 0.0), now + secs)
        self.paused_until[scope] = until
        return Throttled(scope, until, secs, banned, usage.http_status, usage.code)

    def _refused_scope(self, op: Any, code: int | None) -> Scope:
        """What a refusal for rate holds. A venue that counts cancels on their own (Bybit:
        every limit is per endpoint) names the op's own kind: a cancel's refusal holds
        cancels, a read's holds everything (briefly: its reset is within the second)."""
        if code is None or code != self.limits.orders_code:
            return Scope.ALL
        if self.cancels is None:
            return Scope.ORDERS  # Binance: -1015 is about new orders, whatever was refused
        if is_placing(op):
            return Scope.ORDERS
        return Scope.CANCELS if isinstance(op, CancelStop) else Scope.ALL
