"""One ccxt call as data, what a call's responses said, and what to do when a call fails
(the same driver contract as venues/binance/calls.py, with Bybit's error translation)."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from venue.errors import ExchangeFailure, FailureKind, RateUsage
from venue.interface import ExchangeError
from venues.bybit.errors import rate_usage, translate

ORDER_METHODS = ("privatePostV5OrderCreate", "privatePostV5OrderAmend",
                 "privatePostV5OrderCancel", "privatePostV5PositionTradingStop")
"""The calls Bybit counts on its order endpoints (10/s each per UID)."""


def _log() -> logging.Logger:
    return logging.getLogger("venues.bybit.gateway")


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
    """What the responses of one operation said about the rate limits."""

    headers: Mapping[str, Any] | None = None
    """The latest response's headers."""
    refusal: ExchangeFailure | None = None
    """Its 10006 / 403 refusal, if it got one."""
    orders: bool = False
    """The latest call was on an order endpoint."""

    def usage(self) -> RateUsage | None:
        """The venue's counters and refusal, as the pool paces by them."""
        return rate_usage(self.headers, self.refusal, orders=self.orders)


def failed(call: Call, e: Exception, report: CallReport, attempt: int, attempts: int,
           backoff_base_secs: float) -> tuple[ExchangeError, float | None]:
    """A call raised the ccxt error `e` on its `attempt`-th try: the ExchangeError to raise,
    and the delay before the next try (None: raise it now). Placements and amends (placing) are
    never retried; reads and cancels are retried on TEMPORARY / UNKNOWN_OUTCOME, never
    into a 10006 / 403."""
    err = translate(e, placing=call.placing, headers=report.headers)
    f = err.failure
    report.orders = call.method in ORDER_METHODS
    if f.http_status is not None:
        report.refusal = f
    if call.placing or f.kind not in (FailureKind.TEMPORARY, FailureKind.UNKNOWN_OUTCOME) \
            or f.http_status is not None or attempt >= attempts:
        return err, None
    delay = backoff_base_secs * (2 ** (attempt - 1)) * (0.5 + random.random())
    _log().warning("exchange read failed (%s), retry %d in %.2fs", err, attempt, delay)
    return err, delay


def succeeded(call: Call, report: CallReport) -> None:
    """A call answered: note whether it was an order call (its counter is the order one)."""
    report.orders = call.method in ORDER_METHODS
