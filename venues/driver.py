"""The gateway driver every ccxt venue shares: it runs an operation's program of ccxt calls.

A venue's operations (venues/<name>/operations.py) are generators that yield Calls and get
back each call's value (or its ExchangeError thrown in); the venue's calls module translates
a ccxt error into the ExchangeError of its remedy group, says whether and when to try again,
and keeps the operation's rate-limit report. What differs between venues is that Dialect;
this module is the rest, written once:

- SyncGateway: one blocking ccxt client, one call at a time (`posguard check`, the I/O
  bench's baseline). The report is the client's `last_response_headers` after each call.
- AsyncGateway: one ccxt.async_support client, many operations in flight on one event loop.
  With many calls in flight the client's `last_response_headers` is whatever response came
  last, so each operation's report is found through a ContextVar (each request runs in its
  own asyncio task, hence its own context) and filled by ccxt's `on_rest_response` hook,
  which ccxt calls with the headers of the very response it handles. The client must be
  created, used and closed on the loop that runs it.

Order placement is never retried (a network failure is UNKNOWN_OUTCOME: the caller looks the
order up by its client id); reads retry with the backoff the dialect's `failed` returns.
Runs only where ccxt may be imported (ccxt costs ~64 MB of memory per process).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, Protocol

import ccxt

from venue.errors import RateUsage
from venue.interface import ExchangeError, Outcome

Program = Generator[Any, Any, Any]
"""An operation: yields Calls (`.method`, `.args`), returns its reply."""


class Report(Protocol):
    """What one operation's responses said about the rate limits (venues' CallReport)."""

    headers: Any

    def usage(self) -> RateUsage | None: ...


def _no_success_hook(call: Any, report: Any) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Dialect:
    """What one venue's gateway has of its own."""

    warm_up: Callable[[Any], Program]
    """operations.warm_up: the program that loads the market list."""
    program: Callable[[Any, Any, Callable[[], int]], Program]
    """operations.program: the program of one operation (venue/requests.py)."""
    new_report: Callable[[], Report]
    """calls.CallReport."""
    failed: Callable[..., tuple[ExchangeError, float | None]]
    """calls.failed(call, error, report, attempt, attempts, backoff_base_secs): the
    ExchangeError to raise and the delay before the next try (None: raise it now)."""
    succeeded: Callable[[Any, Any], None] = _no_success_hook
    """calls.succeeded(call, report), for a venue whose success bodies carry rate counters
    (Bybit); none for Binance (its counters are headers only)."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _drive(program: Program, call: Callable[[Any], Any]) -> Any:
    value: Any = None
    error: ExchangeError | None = None
    while True:
        try:
            step = program.send(value) if error is None else program.throw(error)
        except StopIteration as done:
            return done.value
        value, error = None, None
        try:
            value = call(step)
        except ExchangeError as e:
            error = e


class SyncGateway:
    """Typed exchange operations over one blocking ccxt client, one call at a time."""

    def __init__(self, client: Any, dialect: Dialect, *, read_attempts: int = 4,
                 backoff_base_secs: float = 0.2, sleep: Callable[[float], None] = time.sleep,
                 now_ms: Callable[[], int] = _now_ms) -> None:
        self._ex = client
        self._dialect = dialect
        self._read_attempts = read_attempts
        self._backoff = backoff_base_secs
        self._sleep = sleep
        self._now_ms = now_ms
        self._report = dialect.new_report()

    def begin_call(self) -> None:
        """Forget the previous call's headers: a call that gets no response reports none."""
        self._ex.last_response_headers = None
        self._report = self._dialect.new_report()

    def rate_usage(self) -> RateUsage | None:
        """The last operation's counters, and its rate-limit refusal if it was one."""
        return self._report.usage()

    def warm_up(self) -> int:
        """Load the market list (once, before the first order); its size."""
        return _drive(self._dialect.warm_up(self._ex), self._call)

    def execute(self, op: Any) -> Any:
        """Run one operation message (venue/requests.py); raise ExchangeError."""
        return _drive(self._dialect.program(self._ex, op, self._now_ms), self._call)

    def _call(self, call: Any) -> Any:
        fn = getattr(self._ex, call.method)
        attempt = 0
        while True:
            attempt += 1
            try:
                value = fn(*call.args)
            except ccxt.BaseError as e:
                self._saw_response()
                err, delay = self._dialect.failed(call, e, self._report, attempt,
                                                  self._read_attempts, self._backoff)
                if delay is None:
                    raise err from e
                self._sleep(delay)
                continue
            self._saw_response()
            self._dialect.succeeded(call, self._report)
            return value

    def _saw_response(self) -> None:
        # A call that got no response leaves the headers of this operation's latest one
        # (begin_call cleared the previous operation's): as the async gateway reports.
        if self._ex.last_response_headers is not None:
            self._report.headers = self._ex.last_response_headers


_REPORT: contextvars.ContextVar[Report | None] = contextvars.ContextVar(
    "posguard_call_report", default=None)
"""The report of the operation the current asyncio task runs."""


def _hooked(original: Callable[..., Any]) -> Callable[..., Any]:
    """ccxt's on_rest_response, also recording the response's headers in the report of the
    operation whose call this response answers."""
    def on_rest_response(code: Any, reason: Any, url: Any, method: Any, headers: Any,
                         body: Any, request_headers: Any, request_body: Any) -> Any:
        report = _REPORT.get()
        if report is not None:
            report.headers = headers
        return original(code, reason, url, method, headers, body, request_headers, request_body)
    return on_rest_response


class AsyncGateway:
    """Typed exchange operations over one ccxt.async_support client, concurrently."""

    def __init__(self, client: Any, dialect: Dialect, *, read_attempts: int = 4,
                 backoff_base_secs: float = 0.2,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 now_ms: Callable[[], int] = _now_ms) -> None:
        self._ex = client
        self._dialect = dialect
        self._read_attempts = read_attempts
        self._backoff = backoff_base_secs
        self._sleep = sleep
        self._now_ms = now_ms
        # An instance attribute shadows the method: ccxt calls self.on_rest_response(...).
        client.on_rest_response = _hooked(client.on_rest_response)

    async def warm_up(self) -> int:
        """Load the market list (once, before the first order); its size."""
        return await self._drive(self._dialect.warm_up(self._ex))

    async def run(self, op: Any) -> Outcome:
        """Run one operation (venue/requests.py): its reply or its failure, and what this
        operation's responses said about the rate limits. Exceptions other than the venue's
        (a bug, an unparseable reply) propagate; TypeError for an unknown operation."""
        program = self._dialect.program(self._ex, op, self._now_ms)
        report = self._dialect.new_report()
        token = _REPORT.set(report)
        try:
            result = await self._drive(program)
        except ExchangeError as e:
            return Outcome(None, e.failure, report.usage())
        finally:
            _REPORT.reset(token)
        return Outcome(result, None, report.usage())

    async def close(self) -> None:
        """Close the client's session and connections."""
        await self._ex.close()

    async def _drive(self, program: Program) -> Any:
        # As _drive, with each call awaited.
        value: Any = None
        error: ExchangeError | None = None
        while True:
            try:
                call = program.send(value) if error is None else program.throw(error)
            except StopIteration as done:
                return done.value
            value, error = None, None
            try:
                value = await self._call(call)
            except ExchangeError as e:
                error = e

    async def _call(self, call: Any) -> Any:
        fn = getattr(self._ex, call.method)
        report = _REPORT.get() or self._dialect.new_report()
        attempt = 0
        while True:
            attempt += 1
            try:
                value = await fn(*call.args)
            except ccxt.BaseError as e:
                err, delay = self._dialect.failed(call, e, report, attempt,
                                                  self._read_attempts, self._backoff)
                if delay is None:
                    raise err from e
                await self._sleep(delay)
                continue
            self._dialect.succeeded(call, report)
            return value
