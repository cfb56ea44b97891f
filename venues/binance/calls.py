"""One ccxt call as data, what a call's response said, and what to do when a call fails.

Shared by the blocking gateway (gateway.py: one call at a time) and the asynchronous one
(async_gateway.py: many calls in flight on one event loop), so that retries and error
translation exist once. An operation (operations.py) is a program that yields Calls; a
driver runs each Call on its client and feeds the result back (or throws the translated
ExchangeError in). Only the drivers differ: blocking sleep vs `await asyncio.sleep`, and
where a response's headers come from (sync ccxt's `last_response_headers`; per call through
ccxt's `on_rest_response` hook on the event loop, where many responses interleave).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from venue.errors import ExchangeFailure, FailureKind, RateUsage
from venue.interface import ExchangeError
from venues.binance.errors import rate_usage, translate


def _log() -> logging.Logger:
    # Looked up per call: an actor process replaces the logging manager (actors/log.py).
    return logging.getLogger("venues.binance.gateway")


@dataclass(frozen=True, slots=True)
class Call:
    """One ccxt method call an operation needs."""

    method: str
    """The ccxt method's name (the same on ccxt and ccxt.async_support)."""
    args: tuple[Any, ...] = ()
    """Its positional arguments."""
    placing: bool = False
    """It creates an order: exactly one attempt, a network failure is UNKNOWN_OUTCOME."""


@dataclass(slots=True)
class CallReport:
    """What the responses of one operation said about the rate limits: the headers of its
    latest response and its 429/418 refusal, if it got one. One per operation, never shared
    between operations in flight."""

    headers: Mapping[str, Any] | None = None
    refusal: ExchangeFailure | None = None

    def usage(self) -> RateUsage | None:
        """The venue's counters (X-MBX-*) and refusal, as the pool paces by them."""
        return rate_usage(self.headers, self.refusal)


def failed(call: Call, e: Exception, report: CallReport, attempt: int, attempts: int,
           backoff_base_secs: float) -> tuple[ExchangeError, float | None]:
    """A call raised the ccxt error `e` on its `attempt`-th try: the ExchangeError to raise,
    and the delay before the next try (None: raise it now).

    A placement is never retried (it may have landed: the caller looks it up by client id).
    A read is retried on TEMPORARY and UNKNOWN_OUTCOME with jittered exponential backoff,
    but never into a 429/418 (the pool pauses for its Retry-After: one more request into a
    429 is how an IP earns a 418 ban).
    """
    err = translate(e, placing=call.placing, headers=report.headers)
    f = err.failure
    if f.http_status is not None:
        report.refusal = f
    if call.placing or f.kind not in (FailureKind.TEMPORARY, FailureKind.UNKNOWN_OUTCOME) \
            or f.http_status is not None or attempt >= attempts:
        return err, None
    delay = backoff_base_secs * (2 ** (attempt - 1)) * (0.5 + random.random())
    _log().warning("exchange read failed (%s), retry %d in %.2fs", err, attempt, delay)
    return err, delay
