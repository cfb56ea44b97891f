"""The Binance USD-M gateway: the only place that talks to ccxt.

- Paper mode points an unmodified `ccxt.binanceusdm` at the simulator; live mode at Binance
  with keys from the environment.
- ccxt errors are translated once (venues/binance/errors.py) into errors grouped by
  remedy (FailureKind); which calls an operation makes, and its reply, are written once too
  (venues/binance/operations.py), shared with the asynchronous gateway (async_gateway.py).
  This one runs one call at a time (`posguard check`, the I/O bench's baseline).
- Order placement is never retried: a timeout becomes UNKNOWN_OUTCOME and the caller looks
  the order up by its deterministic client id. Reads retry with jittered exponential backoff.
- Account-wide order budgets are enforced by the caller (the exchange pool), not here; the
  gateway reports what the venue said about them after every call (rate_usage: the
  X-MBX-* headers, and a 429/418 with its Retry-After), and never retries into a 429/418.
Runs only where ccxt may be imported (ccxt costs ~64 MB of memory per process).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import ccxt

from venue.errors import RateUsage
from venue.interface import ExchangeError
from venues.binance import operations
from venues.binance.calls import Call, CallReport, failed
from venues.binance.hosts import VENUES
from venues.binance.operations import Program


def build_client(*, venue: str, base_url: str | None, api_key: str, secret: str,
                 timeout_ms: int, asynchronous: bool = False) -> ccxt.binanceusdm:
    """A sync ccxt.binanceusdm (or its ccxt.async_support twin) for `venue`, at `base_url`
    instead of its hosts when given.

    The venue switch is ccxt's own (demo: `enable_demo_trading`, testnet: sandbox mode), so
    the hosts are the ones ccxt's maintainers keep current; `base_url` (the simulator, or
    exchange.rest_url) then replaces only the host of each USD-M URL.
    """
    if venue not in (*VENUES, "simulator"):
        raise ValueError(f"unknown venue {venue!r}")
    from venues.binance.ccxt_factory import new_binanceusdm, point_at
    client = new_binanceusdm(api_key, secret, timeout_ms, asynchronous=asynchronous)
    if venue == "demo":
        client.enable_demo_trading(True)
    elif venue == "testnet":
        # ccxt 4.5.90 refuses signed calls on the futures testnet unless told otherwise: it
        # calls it deprecated in favour of Demo Trading. Binance still serves it, so posguard
        # still reaches it when asked to (and `posguard check` says which venue it is on).
        client.set_sandbox_mode(True)
        client.options["disableFuturesSandboxWarning"] = True
    if base_url is not None:
        point_at(client, base_url)
    if venue == "simulator":
        # ccxt's throttle spaces a client's requests 50 ms apart (Binance's request weight);
        # in paper mode it would only add queueing (one client = 20 requests/s): the pool's
        # order budget and the server's own rate-limit headers pace the engine instead.
        client.enableRateLimit = False
    return client


class Gateway:
    """Typed exchange operations over one sync ccxt client, one call at a time."""

    def __init__(self, client: ccxt.binanceusdm, *, read_attempts: int = 4,
                 backoff_base_secs: float = 0.2, sleep: Callable[[float], None] = time.sleep,
                 now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._ex = client
        self._read_attempts = read_attempts
        self._backoff = backoff_base_secs
        self._sleep = sleep
        self._now_ms = now_ms
        self._report = CallReport()

    # ---- the venue's rate-limit counters (read by the caller after every operation)

    def begin_call(self) -> None:
        """Forget the previous call's headers: a call that gets no response reports none."""
        self._ex.last_response_headers = None
        self._report = CallReport()

    def rate_usage(self) -> RateUsage | None:
        """The last response's counters, and its 429/418 refusal if it was one."""
        return self._report.usage()

    # ---- operations

    def warm_up(self) -> int:
        """Load the market list (once, before the first order); its size."""
        return self._drive(operations.warm_up(self._ex))

    def execute(self, op: Any) -> Any:
        """Run one operation message (venue/requests.py); raise ExchangeError."""
        return self._drive(operations.program(self._ex, op, self._now_ms))

    # ---- the driver

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
            return value

    def _saw_response(self) -> None:
        # A call that got no response leaves the headers of this operation's latest one
        # (begin_call cleared the previous operation's): as the async gateway reports.
        if self._ex.last_response_headers is not None:
            self._report.headers = self._ex.last_response_headers
