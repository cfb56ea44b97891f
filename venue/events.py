"""Stream events: what an exchange adapter makes of the user and market streams' frames.

Each carries the exchange's event time (`event_ms`) and when posguard read the frame
(`engine_ms`, `received_mono`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from venue.envelope import Envelope


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamEvent(Envelope):
    """What every stream event carries besides the envelope: when posguard read its frame."""

    received_mono: float = 0.0
    """time.monotonic() when posguard read the frame; 0 when not from a stream."""


@dataclass(frozen=True, slots=True)
class PositionUpdate(StreamEvent):
    """One position from ACCOUNT_UPDATE `a.P[]` (only changed positions are sent)."""

    symbol: str
    """Exchange symbol (`s`)."""
    amount: Decimal
    """Signed position amount (`pa`): > 0 long, < 0 short, 0 flat."""
    entry_price: Decimal
    """Entry price (`ep`)."""
    reason: str
    """Why the account changed (`a.m`: ORDER, FUNDING_FEE, ...)."""
    event_ms: int
    """Exchange event time (`E`)."""
    tx_ms: int
    """Exchange transaction time (`T`)."""


@dataclass(frozen=True, slots=True)
class OrderUpdate(StreamEvent):
    """ORDER_TRADE_UPDATE: a plain order (or a stop's child order) changed."""

    symbol: str
    """Exchange symbol (`o.s`)."""
    client_id: str
    """Client order id (`o.c`)."""
    order_id: str
    """Exchange order id (`o.i`)."""
    order_type: str
    """Original order type (`o.ot`)."""
    side: str
    """BUY or SELL (`o.S`)."""
    exec_type: str
    """Execution type (`o.x`): NEW, TRADE, CANCELED, ..."""
    status: str
    """Order status (`o.X`): NEW, PARTIALLY_FILLED, FILLED, ..."""
    last_qty: Decimal
    """Quantity of this fill (`o.l`)."""
    cum_qty: Decimal
    """Cumulative filled quantity (`o.z`)."""
    avg_price: Decimal
    """Average fill price (`o.ap`)."""
    realized_pnl: Decimal
    """Realized profit of this trade (`o.rp`)."""
    reduce_only: bool
    """Reduce-only flag (`o.R`)."""
    close_position: bool
    """closePosition flag (`o.cp`)."""
    event_ms: int
    """Exchange event time (`E`)."""
    tx_ms: int
    """Exchange transaction time (`T`)."""


@dataclass(frozen=True, slots=True)
class AlgoUpdate(StreamEvent):
    """ALGO_UPDATE: a conditional (stop) order changed."""

    symbol: str
    """Exchange symbol (`o.s`)."""
    client_id: str
    """Client algo id (`o.caid`)."""
    algo_id: str
    """Exchange algo id (`o.aid`)."""
    order_type: str
    """STOP_MARKET, TRAILING_STOP_MARKET, ... (`o.o`)."""
    side: str
    """BUY or SELL (`o.S`)."""
    status: str
    """NEW, CANCELED, TRIGGERING, TRIGGERED, FINISHED, REJECTED, EXPIRED (`o.X`)."""
    trigger_price: Decimal
    """Trigger price (`o.tp`)."""
    qty: Decimal
    """Quantity (`o.q`)."""
    close_position: bool
    """closePosition flag (`o.cp`)."""
    reject_reason: str
    """Reject reason (`o.rm`)."""
    event_ms: int
    """Exchange event time (`E`)."""


@dataclass(frozen=True, slots=True)
class MarkPrice(StreamEvent):
    """A mark-price tick (conflated: only the latest per symbol is delivered)."""

    symbol: str
    """Exchange symbol."""
    price: Decimal
    """Mark price."""
    event_ms: int
    """Exchange event time (`E`)."""


STREAM_EVENTS = (PositionUpdate, OrderUpdate, AlgoUpdate, MarkPrice)
