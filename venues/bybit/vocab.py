"""Bybit's words for orders mapped onto the engine's (venue/vocab.py).

Decision of issue 16 (common.md): a conditional order or a position-attached stop is, in the
engine's vocabulary, an *algo* order; its statuses map Untriggered -> NEW, Triggered and New
-> TRIGGERED, Filled -> FINISHED, Deactivated/Cancelled -> CANCELED, Rejected -> REJECTED.
A conditional order is `New` only after it fired: Bybit's enum.mdx calls Triggered "the
instantaneous state for conditional orders from Untriggered to New", and the simulator sends
Untriggered -> Triggered -> New -> Filled. Read as NEW, a fired stop would look resting again
(common.md said Untriggered/New -> NEW; the venue's words win).
Plain orders keep their fill states (New, PartiallyFilled, Filled, Cancelled, Rejected).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from venue.vocab import OrderKind, OrderStatus

PLAIN_STOP_TYPES = ("", "UNKNOWN")
"""stopOrderType of an order that is not conditional (Bybit sends "" or "UNKNOWN")."""

TRAILING_STOP_TYPES = ("TrailingStop",)
"""The position-attached trailing stop's system order."""

ALGO_STATUS = {
    "Untriggered": OrderStatus.NEW, "Active": OrderStatus.NEW,
    "Triggered": OrderStatus.TRIGGERED, "New": OrderStatus.TRIGGERED,
    "PartiallyFilled": OrderStatus.TRIGGERED,
    "Filled": OrderStatus.FINISHED, "Deactivated": OrderStatus.CANCELED,
    "Cancelled": OrderStatus.CANCELED, "PartiallyFilledCanceled": OrderStatus.CANCELED,
    "Rejected": OrderStatus.REJECTED,
}
PLAIN_STATUS = {
    "New": OrderStatus.NEW, "Created": OrderStatus.NEW, "Untriggered": OrderStatus.NEW,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED, "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELED, "PartiallyFilledCanceled": OrderStatus.CANCELED,
    "Deactivated": OrderStatus.CANCELED, "Rejected": OrderStatus.REJECTED,
}
SIDES = {"Buy": "BUY", "Sell": "SELL"}


def is_algo(row: dict[str, Any]) -> bool:
    """A conditional order (ours: stopOrderType Stop) or a position-attached stop."""
    stop_type = str(row.get("stopOrderType") or "")
    if stop_type not in PLAIN_STOP_TYPES:
        return True
    try:  # a conditional order keeps its trigger price after it fired
        return Decimal(str(row.get("triggerPrice") or "0")) != 0
    except InvalidOperation:
        return False


def order_kind(row: dict[str, Any], algo: bool) -> str:
    """STOP_MARKET, TRAILING_STOP_MARKET, MARKET, or Bybit's orderType upper-cased."""
    if algo:
        if row.get("stopOrderType") in TRAILING_STOP_TYPES:
            return OrderKind.TRAILING
        return OrderKind.STOP
    kind = str(row.get("orderType") or "")
    return OrderKind.MARKET if kind == "Market" else kind.upper()


def status(row: dict[str, Any], algo: bool) -> str:
    """The engine's status of Bybit's orderStatus (an unknown one is kept as Bybit spelt it:
    it matches none of the engine's, so nothing is decided on it)."""
    raw = str(row.get("orderStatus") or "")
    table = ALGO_STATUS if algo else PLAIN_STATUS
    return table.get(raw, raw)


def side(raw: Any) -> str:
    """BUY / SELL of Bybit's Buy / Sell."""
    return SIDES.get(str(raw), str(raw).upper())
