"""The Binance USD-M gateway over `ccxt.async_support`: many calls in flight on one event loop.

The same operations as the blocking gateway (gateway.py) with the same results, the same
error translation and the same retries: both drive the programs of operations.py through
calls.py. Only the driver differs: a retry waits with `asyncio.sleep`, and the rate-limit
report is per operation. With many calls in flight the client's `last_response_headers` is
whatever response came last, so each operation's report is found through a ContextVar (each
request runs in its own asyncio task, hence its own context) and filled by ccxt's
`on_rest_response` hook, which ccxt calls with the headers of the very response it handles.

One client (one aiohttp session, kept-alive connections) serves every operation; it must be
created, used and closed on the loop that runs it (`open_async_gateway` runs on that loop).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt

from venue.interface import ExchangeError, Outcome
from venues.binance import operations
from venues.binance.calls import Call, CallReport, failed
from venues.binance.operations import Program

_REPORT: contextvars.ContextVar[CallReport | None] = contextvars.ContextVar(
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

    def __init__(self, client: Any, *, read_attempts: int = 4, backoff_base_secs: float = 0.2,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._ex = client
        self._read_attempts = read_attempts
        self._backoff = backoff_base_secs
        self._sleep = sleep
        self._now_ms = now_ms
        # An instance attribute shadows the method: ccxt calls self.on_rest_response(...).
        client.on_rest_response = _hooked(client.on_rest_response)

    async def warm_up(self) -> int:
        """Load the market list (once, before the first order); its size."""
        return await self._drive(operations.warm_up(self._ex))

    async def run(self, op: Any) -> Outcome:
        """Run one operation (venue/requests.py): its reply or its failure, and what this
        operation's responses said about the rate limits. Exceptions other than the venue's
        (a bug, an unparseable reply) propagate; TypeError for an unknown operation."""
        program = operations.program(self._ex, op, self._now_ms)
        report = CallReport()
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

    async def _call(self, call: Call) -> Any:
        fn = getattr(self._ex, call.method)
        report = _REPORT.get() or CallReport()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await fn(*call.args)
            except ccxt.BaseError as e:
                err, delay = failed(call, e, report, attempt, self._read_attempts,
                                    self._backoff)
                if delay is None:
                    raise err from e
                await self._sleep(delay)


async def open_async_gateway(*, venue: str, base_url: str | None, api_key: str, secret: str,
                             timeout_ms: int) -> AsyncGateway:
    """An AsyncGateway on a new ccxt.async_support.binanceusdm (call on the loop that will
    run it): the same venue switch and URLs as the blocking gateway's build_client."""
    from venues.binance.gateway import build_client
    return AsyncGateway(build_client(venue=venue, base_url=base_url, api_key=api_key,
                                     secret=secret, timeout_ms=timeout_ms, asynchronous=True))
