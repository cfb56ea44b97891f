"""What the engine asks of an exchange: one frozen operation per call (the pool sends each
to a worker inside an ExchangeRequest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum, unique


@dataclass(frozen=True, slots=True)
class PlaceMarket:
    """Place a MARKET order."""

    symbol: str
    """Exchange symbol."""
    side: str
    """BUY or SELL."""
    qty: Decimal
    """Base quantity."""
    client_id: str
    """Deterministic client order id."""
    reduce_only: bool
    """True for closes: never increases the position."""


@unique
class StopPurpose(Enum):
    """Why a stop is placed: the exchange pool schedules by it (actors/dispatch.py). Only a
    MOVE (the managed trail tightening a stop that rests) may be deferred or wait for budget
    behind protection; every other purpose protects a position that has no stop of its size."""

    FIRST = "first"      # a position's first stop (none rests)
    RESTORE = "restore"  # the resting stop was lost, refused or missing at a reconcile
    RESIZE = "resize"    # the position changed size: its stop is re-placed for the new size
    AGAIN = "again"      # the same order re-sent after an unknown outcome (same client id)
    MOVE = "move"        # the trail tightens a stop that rests


@dataclass(frozen=True, slots=True)
class PlaceStop:
    """Place a reduce-only STOP_MARKET or a TRAILING_STOP_MARKET (algo order)."""

    symbol: str
    """Exchange symbol."""
    side: str
    """BUY or SELL (the closing side)."""
    qty: Decimal
    """Base quantity: the full position."""
    client_id: str
    """Deterministic client algo id."""
    order_type: str
    """STOP_MARKET or TRAILING_STOP_MARKET."""
    trigger_price: Decimal | None
    """Stop trigger price (STOP_MARKET)."""
    working_type: str
    """MARK_PRICE or CONTRACT_PRICE."""
    callback_rate_pct: Decimal | None = None
    """TRAILING_STOP_MARKET callback rate, percent."""
    activate_price: Decimal | None = None
    """TRAILING_STOP_MARKET activation price."""
    purpose: StopPurpose = field(default=StopPurpose.FIRST, compare=False)
    """Why it is placed (scheduling only: not part of the order, so not compared)."""


@dataclass(frozen=True, slots=True)
class AmendStop:
    """Move a resting stop's trigger in place (Capabilities.amend_in_place; Bybit's
    POST /v5/order/amend): the order keeps its exchange and client ids and rests throughout,
    so a move opens no window and spends one order instead of two. The reply is the stop as
    amended (venue/replies.py OrderInfo). A refusal leaves the old trigger resting; an unknown
    outcome is settled by a LookupOrder(algo=True) of `client_id`, whose trigger price says
    which of the two rests."""

    symbol: str
    """Exchange symbol."""
    algo_id: str | None
    """Exchange id of the resting stop, if known."""
    client_id: str
    """Its client id (used when the exchange id is unknown; unchanged by the amend)."""
    trigger_price: Decimal
    """The new trigger price."""
    qty: Decimal | None = None
    """A new quantity (the position's size); None leaves it unchanged."""
    purpose: StopPurpose = field(default=StopPurpose.MOVE, compare=False)
    """Why it is amended (scheduling only, as PlaceStop.purpose)."""


@dataclass(frozen=True, slots=True)
class CancelStop:
    """Cancel an algo (stop) order."""

    symbol: str
    """Exchange symbol."""
    algo_id: str | None
    """Exchange algo id, if known."""
    client_id: str
    """Client algo id (used when the algo id is unknown)."""


@dataclass(frozen=True, slots=True)
class LookupOrder:
    """Find an order by client id after an unknown outcome."""

    symbol: str
    """Exchange symbol."""
    client_id: str
    """Client order id to look for."""
    algo: bool
    """True: an algo (stop) order; False: a plain order."""


@dataclass(frozen=True, slots=True)
class FetchSymbol:
    """Fetch the symbol's position, open orders and open algo orders (reconcile)."""

    symbol: str
    """Exchange symbol."""
    explain: tuple[StopRef, ...] = ()
    """Our stops that could have closed the position: if it is flat, read their history."""


@dataclass(frozen=True, slots=True)
class StopRef:
    """One of our stops, named for a history lookup."""

    client_id: str
    """Client algo id (deterministic, always known)."""
    algo_id: str | None
    """Exchange algo id, if it was accepted."""
    order_type: str
    """STOP_MARKET or TRAILING_STOP_MARKET."""


@dataclass(frozen=True, slots=True)
class FetchPositions:
    """Fetch every non-flat position on the account (the periodic reconciler)."""

    reason: str = "sweep"
    """Why the sweep runs."""


@dataclass(frozen=True, slots=True)
class FetchAccount:
    """The sweep with its stop check: every non-flat position and every open algo order of
    the account (GET positionRisk and one GET openAlgoOrders without a symbol: weight 5+40)."""

    reason: str = "sweep"
    """Why the sweep runs."""


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Read the exchange's published rate limits (exchangeInfo `rateLimits`)."""

    reason: str = "start"
    """Why (the pool asks once at start, again after a failure)."""
