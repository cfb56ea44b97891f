"""The pool's counters of what it sent (actors/pacing.py decides with them): sliding order
windows with the venue's counts folded in, one window of calls of a kind, and request weight.

Times are seconds on the caller's monotonic clock; nothing here sends or drops anything.
"""

from __future__ import annotations

import collections

READ_SOFT = 0.5
"""Share of the weight limit above which reads are spaced out."""
READ_CAP = 0.8
"""Share of the weight limit above which reads wait for the window (the rest is protective)."""
PROTECTIVE_CAP = 0.95
"""Share of the weight limit above which protective work waits too: the last 5 % covers
requests other workers have in flight, not yet in any header (a 429 on weight holds
everything, and requests that still arrive inside its Retry-After earn a 418)."""
IN_FLIGHT_MAX_SECS = 60.0
"""RateLimits.hold_until_reply: an order not answered within this long no longer holds its
slot (the pool's deadlines answer it UNKNOWN_OUTCOME well before: actors/workers.py)."""


class OrderBudget:
    """Sliding order windows (Binance: 10 s / 60 s): our own orders plus the ones only the
    server saw.

    The server's count at `t` minus our own orders in the window at `t` is taken to be other
    orders placed at `t` (the latest they can have been placed, so they are held longest).
    Orders of ours still in flight when the count was taken are not in it yet: the estimate
    may be short by up to the number of workers, which is why the configured budget sits
    below Binance's (250 of 300 per 10 s).

    `hold_until_reply` (RateLimits): an order sits in the windows from its send until its
    reply (`finished`), then for a whole window from the reply: the venue counted it at its
    arrival, which is no later than the reply.
    """

    def __init__(self, per_10s: int, per_min: int, windows_secs: tuple[float, float],
                 hold_until_reply: bool = False) -> None:
        self._limits = (per_10s, per_min)
        self._windows = windows_secs
        """(short, long) window lengths: the venue's (RateLimits.order_windows_secs)."""
        self._hold = hold_until_reply
        self._in_flight: collections.deque[float] = collections.deque()
        """hold_until_reply: send times of our orders not answered yet (in every window)."""
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
        if self._hold:
            self._in_flight.append(now)
            return
        self._sent.append(now)
        self._sent_10s.append(now)

    def finished(self, now: float) -> None:
        """One of our orders was answered at `now` (hold_until_reply: its slot runs a window
        from here; which one does not matter, only that one left the air)."""
        if self._hold and self._in_flight:
            self._in_flight.popleft()
            self._sent.append(now)
            self._sent_10s.append(now)

    def observe(self, now: float, count_10s: int | None, count_1m: int | None) -> None:
        """The server's order counts as of `now` (None: the response had no such header)."""
        self._prune(now)
        short, long = self._windows
        for window, count, own in ((short, count_10s, self._sent_10s),
                                   (long, count_1m, self._sent)):
            if count is not None:
                self._others[window] = (now, max(0, count - len(own) - len(self._in_flight)))
                self._server[window] = (now, count)

    def sent(self, now: float) -> tuple[int, int]:
        """Our own orders in the last 10 s and the last minute."""
        self._prune(now)
        held = len(self._in_flight)
        return len(self._sent_10s) + held, len(self._sent) + held

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
            excess = len(own) + len(self._in_flight) + others - allowed + 1
            if excess > len(own) + others:
                wait = max(wait, window)  # only a reply frees a slot (it dispatches anew)
            elif excess > 0:
                # window - (now - t), not t + window - now: the same float expression as the
                # pruning, so "still in the window" and "must wait" never disagree.
                wait = max(wait, window - (now - _nth_oldest(own, at, others, excess)))
        return max(wait, 0.0)

    def _prune(self, now: float) -> None:
        short, long = self._windows
        for window, own in ((long, self._sent), (short, self._sent_10s),
                            (IN_FLIGHT_MAX_SECS, self._in_flight)):
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


class CallWindow:
    """One window of calls of one kind (Bybit's cancels: 10 per second): ours, and the
    others the venue's count showed (OrderBudget's rules, one window)."""

    def __init__(self, window_secs: float, limit: int, hold_until_reply: bool = False) -> None:
        self._calls = OrderBudget(limit, limit, (window_secs, window_secs), hold_until_reply)

    def record(self, now: float) -> None:
        """Count one call sent at `now`."""
        self._calls.record(now)

    def finished(self, now: float) -> None:
        """One of our calls was answered at `now`."""
        self._calls.finished(now)

    def observe(self, now: float, count: int) -> None:
        """The venue's count of these calls in its window as of `now`."""
        self._calls.observe(now, count, None)

    def wait_secs(self, now: float) -> float:
        """0 if one more call fits the window now, else how long until one does."""
        return self._calls.wait_secs(now)


class WeightGauge:
    """Request weight of the current minute: the server's last figure plus what we sent since.

    No figure (no header yet, or the last one is a minute old) means no weight pacing. A
    venue that reports none at all (`reported` False: RateLimits.weight_reported) is paced by
    the weight we sent in the window instead.
    """

    def __init__(self, limit: int, window_secs: float, *, reported: bool = True) -> None:
        self.limit = limit
        self.window_secs = window_secs
        """The venue's weight counter window (RateLimits.weight_window_secs)."""
        self._reported = reported
        self._own: collections.deque[tuple[float, int]] = collections.deque()
        """Not reported: (when, weight) of what we sent in the window."""
        self._own_sum = 0
        """Their total."""
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
        if not self._reported and weight:
            self._own.append((now, weight))
            self._own_sum += weight
        if read:
            self._last_read = now

    def reading(self, now: float) -> int | None:
        """The server's last figure, None when there is none from the last minute."""
        if self._seen_at is None or now - self._seen_at >= self.window_secs:
            return None
        return self._used

    def estimate(self, now: float) -> int | None:
        """The minute's weight as far as we know, None when we know nothing."""
        if not self._reported:
            while self._own and now - self._own[0][0] >= self.window_secs:
                self._own_sum -= self._own.popleft()[1]
            return self._own_sum
        if self._seen_at is None or now - self._seen_at >= self.window_secs:
            return None
        return self._used + self._since

    def wait_secs(self, now: float, weight: int, *, protective: bool) -> float:
        """0 if a request of `weight` may go now, else how long to wait."""
        used = self.estimate(now)
        if used is None:
            return 0.0
        cap = (PROTECTIVE_CAP if protective else READ_CAP) * self.limit
        if used + weight > cap and not self._reported:
            return self._own_wait(now, used + weight - cap)
        if used + weight > cap and self._seen_at is not None:
            # Held until the figure is a minute old: by then the server's minute has rolled
            # over (a fresher header from any other request lifts the hold earlier).
            return max(self._seen_at + self.window_secs - now, 0.0)
        if protective or used < READ_SOFT * self.limit or self._last_read is None:
            return 0.0
        # Spread what is left of the read allowance over a whole window.
        gap = self.window_secs * weight / max(cap - used, 1.0)
        return max(self._last_read + gap - now, 0.0)

    def _own_wait(self, now: float, over: float) -> float:
        """Not reported: how long until `over` of the weight we sent has left the window."""
        freed = 0
        for at, w in self._own:
            freed += w
            if freed >= over:
                return max(self.window_secs - (now - at), 0.0)
        return 0.0  # heavier than the whole cap: never held forever
