"""The exchange pool's traffic: a request for a worker, its reply, the pool's notices."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from venue.envelope import now_ms
from venue.errors import ExchangeFailure, RateUsage
from venue.replies import AccountLimits, AccountSnapshot, OrderInfo, PositionInfo, SymbolSnapshot
from venue.requests import (
    AmendStop,
    CancelStop,
    FetchAccount,
    FetchLimits,
    FetchPositions,
    FetchSymbol,
    LookupOrder,
    PlaceMarket,
    PlaceStop,
)


@dataclass(frozen=True, slots=True)
class ExchangeRequest:
    """An exchange call for a worker: one operation, replied to `reply_to`."""

    request_id: str
    """Id the reply carries back."""
    op: (PlaceMarket | PlaceStop | AmendStop | CancelStop | LookupOrder | FetchSymbol
         | FetchPositions | FetchAccount | FetchLimits)
    """The operation."""
    reply_to: Any
    """ActorAddress that gets the ExchangeReply."""
    engine_ms: int = field(default_factory=now_ms)
    """When the request was made."""
    held_notices: bool = False
    """True: the requester keeps a deadline for it (actors/deadlines.py) and wants a
    RequestHeld from the pool every few seconds while the pool still holds it."""


@dataclass(frozen=True, slots=True)
class RequestHeld:
    """The pool still holds a request (queued, or in a worker's call): the requester's
    deadline for it starts again."""

    request_id: str
    """The request."""
    queued: bool
    """True while it waits in the pool's queue (a 429/418 pause, the order budget, busy
    workers); False while a worker runs it."""
    held_secs: float
    """How long the pool has held it so far."""


@dataclass(frozen=True, slots=True)
class ExchangeReply:
    """The outcome of an ExchangeRequest: a result or a failure, never both."""

    request_id: str
    """The request this answers."""
    op: (PlaceMarket | PlaceStop | AmendStop | CancelStop | LookupOrder | FetchSymbol
         | FetchPositions | FetchAccount | FetchLimits)
    """The operation that was attempted."""
    result: (OrderInfo | SymbolSnapshot | tuple[PositionInfo, ...] | AccountSnapshot
             | AccountLimits | None)
    """The result (LookupOrder: None when not found)."""
    failure: ExchangeFailure | None
    """The failure, if the call failed."""
    engine_ms: int = field(default_factory=now_ms)
    """When the worker finished the call."""


@dataclass(frozen=True, slots=True)
class WorkerIdle:
    """A worker finished one request (one slot free again), or warmed up ("warm-up")."""

    request_id: str
    """The request it finished."""
    usage: RateUsage | None = None
    """The exchange's rate-limit counters from THAT request's last response (None: no
    reply), whatever else the worker had in flight."""
    markets: int | None = None
    """After the warm-up: how many markets the worker's client loaded (None: none, or not a
    warm-up)."""


@dataclass(frozen=True, slots=True)
class WorkerDone:
    """A worker finished these requests (all the completions one wake-up of its loop found),
    each with the rate usage of ITS responses: one message to the pool for many requests, so
    the hop's cost per request falls as the load rises (system/bench/io.py)."""

    done: tuple[tuple[str, RateUsage | None], ...]
    """(request id, its usage), in the order they finished."""


@dataclass(frozen=True, slots=True)
class WorkerDrain:
    """The pool is exiting: answer every call in flight, then stop the I/O loop. Sent by the
    pool's own exit handler, so it reaches the worker before Thespian's ActorExitRequest:
    replies sent from a worker's ActorExitRequest handler were measured never to arrive."""
