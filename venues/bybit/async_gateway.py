"""The Bybit gateway over `ccxt.async_support.bybit`: many calls in flight on one event loop.

The same programs, translation and retries as the blocking gateway (gateway.py); each
operation's rate-limit report is found through a ContextVar and filled by ccxt's
on_rest_response hook (as venues/binance/async_gateway.py explains).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt

from venue.interface import ExchangeError, Outcome
from venues.bybit import operations
from venues.bybit.calls import Call, CallReport, failed, succeeded
from venues.bybit.operations import Program

_REPORT: contextvars.ContextVar[CallReport | None] = contextvars.ContextVar(
    "posguard_bybit_call_report", default=None)


def _hooked(original: Callable[..., Any]) -> Callable[..., Any]:
    def on_rest_response(code: Any, reason: Any, url: Any, method: Any, headers: Any,
                         body: Any, request_headers: Any, request_body: Any) -> Any:
        report = _REPORT.get()
        if report is not None:
            report.headers = headers
        return original(code, reason, url, method, headers, body, request_headers, request_body)
    return on_rest_response


class AsyncGateway:
    """Typed exchange operations over one ccxt.async_support.bybit, concurrently."""

    def __init__(self, client: Any, *, read_attempts: int = 4, backoff_base_secs: float = 0.2,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._ex = client
        self._read_attempts = read_attempts
        self._backoff = backoff_base_secs
        self._sleep = sleep
        self._now_ms = now_ms
        client.on_rest_response = _hooked(client.on_rest_response)

    async def warm_up(self) -> int:
        """Load the market list (once, before the first order); its size."""
        return await self._drive(operations.warm_up(self._ex))

    async def run(self, op: Any) -> Outcome:
        """Run one operation: its reply or its failure, and what its responses said about
        the rate limits. TypeError for an unknown operation; bugs propagate."""
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
                value = await fn(*call.args)
            except ccxt.BaseError as e:
                err, delay = failed(call, e, report, attempt, self._read_attempts,
                                    self._backoff)
                if delay is None:
                    raise err from e
                await self._sleep(delay)
                continue
            succeeded(call, report)
            return value


async def open_async_gateway(*, venue: str, base_url: str | None, api_key: str, secret: str,
                             timeout_ms: int) -> AsyncGateway:
    """An AsyncGateway on a new ccxt.async_support.bybit (call on the loop that runs it)."""
    from venues.bybit.gateway import build_client
    return AsyncGateway(build_client(venue=venue, base_url=base_url, api_key=api_key,
                                     secret=secret, timeout_ms=timeout_ms, asynchronous=True))
