"""The Bybit gateway over a blocking ccxt.bybit: one call at a time (`posguard check`).

The same driver as venues/binance/gateway.py over this adapter's programs (operations.py):
placements and amends are one attempt (a network failure is UNKNOWN_OUTCOME: the caller
looks the order up by its orderLinkId), reads retry with jittered backoff but never into a
10006 / 403. Runs only where ccxt may be imported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import ccxt

from venue.errors import RateUsage
from venue.interface import ExchangeError
from venues.bybit import operations
from venues.bybit.calls import Call, CallReport, failed, succeeded
from venues.bybit.hosts import VENUES
from venues.bybit.operations import Program


def build_client(*, venue: str, base_url: str | None, api_key: str, secret: str,
                 timeout_ms: int, asynchronous: bool = False) -> Any:
    """A ccxt.bybit (or its async twin) for `venue`, at `base_url` instead of its hosts
    when given. The venue switch is ccxt's own (demo: enable_demo_trading, testnet: sandbox
    mode), so its maintainers keep the hosts current."""
    if venue not in (*VENUES, "simulator"):
        raise ValueError(f"unknown venue {venue!r}")
    from venues.bybit.ccxt_factory import new_bybit, point_at
    client = new_bybit(api_key, secret, timeout_ms, asynchronous=asynchronous)
    if venue == "demo":
        client.enable_demo_trading(True)
    elif venue == "testnet":
        client.set_sandbox_mode(True)
    if base_url is not None:
        point_at(client, base_url)
    if venue == "simulator":
        # ccxt's throttle would only queue in paper mode: the pool's budget paces the engine.
        client.enableRateLimit = False
    return client


class Gateway:
    """Typed exchange operations over one sync ccxt.bybit, one call at a time."""

    def __init__(self, client: Any, *, read_attempts: int = 4,
                 backoff_base_secs: float = 0.2, sleep: Callable[[float], None] = time.sleep,
                 now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._ex = client
        self._read_attempts = read_attempts
        self._backoff = backoff_base_secs
        self._sleep = sleep
        self._now_ms = now_ms
        self._report = CallReport()

    def begin_call(self) -> None:
        """Forget the previous call's headers: a call that gets no response reports none."""
        self._ex.last_response_headers = None
        self._report = CallReport()

    def rate_usage(self) -> RateUsage | None:
        """The last response's endpoint counter, and its 10006 / 403 refusal if it was one."""
        return self._report.usage()

    def warm_up(self) -> int:
        """Load the market list (once, before the first order); its size."""
        return self._drive(operations.warm_up(self._ex))

    def execute(self, op: Any) -> Any:
        """Run one operation message (venue/requests.py); raise ExchangeError."""
        return self._drive(operations.program(self._ex, op, self._now_ms))

    def _drive(self, program: Program) -> Any:
        value: Any = None
        error: ExchangeError | None = None
        while True:
            try:
                call = program.send(value) if error is None else program.throw(error)
            except StopIteration as done:
                return done.value
            value, error = None, None
            try:
                value = self._call(call)
            except ExchangeError as e:
                error = e

    def _call(self, call: Call) -> Any:
        fn = getattr(self._ex, call.method)
        attempt = 0
        while True:
            attempt += 1
            try:
                value = fn(*call.args)
            except ccxt.BaseError as e:
                self._saw_response()
                err, delay = failed(call, e, self._report, attempt, self._read_attempts,
                                    self._backoff)
                if delay is None:
                    raise err from e
                self._sleep(delay)
                continue
            self._saw_response()
            succeeded(call, self._report)
            return value

    def _saw_response(self) -> None:
        if self._ex.last_response_headers is not None:
            self._report.headers = self._ex.last_response_headers
