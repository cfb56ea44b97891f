"""How operations become Bybit v5 request bodies, and Bybit's orders as OrderInfo.

Bodies go through ccxt's implicit v5 methods (privatePostV5OrderCreate, ...), so what is sent
is exactly what is written here (ccxt's edit_order would send the trigger unrounded and
default triggerBy to LastPrice: protocol/bybit-linear.md "Rounding"):
- PlaceMarket: a Market order, reduceOnly for closes, orderLinkId = our client id.
- PlaceStop STOP_MARKET: the decision of issue 16, a separate reduce-only conditional market
  order: triggerPrice, triggerDirection (a SELL stop fires when the price falls: 2; a BUY
  stop when it rises: 1), triggerBy MarkPrice (MARK_PRICE) or LastPrice (CONTRACT_PRICE),
  reduceOnly, closeOnTrigger, orderLinkId.
- PlaceStop TRAILING_STOP_MARKET: the position-attached trailing stop (trading-stop,
  tpslMode Full): trailingStop = round_to_tick(reference * callback_pct / 100), activePrice.
- AmendStop: /v5/order/amend by orderId (or orderLinkId) with the new triggerPrice (and qty).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from venue.replies import OrderInfo
from venue.requests import AmendStop, PlaceMarket, PlaceStop
from venues.bybit import vocab

CATEGORY = "linear"
TRIGGER_BY = {"MARK_PRICE": "MarkPrice", "CONTRACT_PRICE": "LastPrice"}
FALLS, RISES = 2, 1


def num(value: Decimal) -> str:
    """A decimal as Bybit wants it: plain notation, no exponent."""
    return format(value, "f")


def market_body(op: PlaceMarket) -> dict[str, Any]:
    """/v5/order/create of a Market order."""
    return {"category": CATEGORY, "symbol": op.symbol, "side": _side(op.side),
            "orderType": "Market", "qty": num(op.qty), "orderLinkId": op.client_id,
            "reduceOnly": op.reduce_only, "positionIdx": 0}


def stop_body(op: PlaceStop) -> dict[str, Any]:
    """/v5/order/create of a reduce-only conditional market order (STOP_MARKET)."""
    if op.trigger_price is None:
        raise ValueError(f"{op.client_id}: a STOP_MARKET needs a trigger price")
    return {"category": CATEGORY, "symbol": op.symbol, "side": _side(op.side),
            "orderType": "Market", "qty": num(op.qty), "orderLinkId": op.client_id,
            "triggerPrice": num(op.trigger_price),
            "triggerDirection": FALLS if op.side == "SELL" else RISES,
            "triggerBy": trigger_by(op.working_type), "reduceOnly": True,
            "closeOnTrigger": True, "positionIdx": 0}


def trigger_by(working_type: str) -> str:
    """Bybit's triggerBy of the engine's working type (ValueError for an unknown one)."""
    try:
        return TRIGGER_BY[working_type]
    except KeyError as e:
        raise ValueError(f"working type {working_type!r} is not one of "
                         f"{', '.join(TRIGGER_BY)}") from e


def trailing_distance(reference: Decimal, callback_pct: Decimal, tick: Decimal) -> Decimal:
    """The trailing distance Bybit takes (a price, not a percent): reference * pct / 100,
    to the nearest tick, at least one tick. It stays fixed in price afterwards."""
    raw = reference * callback_pct / Decimal(100)
    ticks = (raw / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    step = tick.normalize()  # a tick written "0.10" still means one decimal
    return (max(ticks, Decimal(1)) * step).quantize(step)


def trailing_body(op: PlaceStop, distance: Decimal) -> dict[str, Any]:
    """/v5/position/trading-stop of the position-attached trailing stop."""
    body: dict[str, Any] = {"category": CATEGORY, "symbol": op.symbol, "tpslMode": "Full",
                            "positionIdx": 0, "trailingStop": num(distance)}
    if op.activate_price is not None:
        body["activePrice"] = num(op.activate_price)
    return body


def amend_body(op: AmendStop) -> dict[str, Any]:
    """/v5/order/amend: the new trigger (and size) of a resting conditional order."""
    body: dict[str, Any] = {"category": CATEGORY, "symbol": op.symbol,
                            "triggerPrice": num(op.trigger_price)}
    if op.algo_id:
        body["orderId"] = op.algo_id
    else:
        body["orderLinkId"] = op.client_id
    if op.qty is not None:
        body["qty"] = num(op.qty)
    return body


def cancel_body(symbol: str, order_id: str | None, client_id: str) -> dict[str, Any]:
    """/v5/order/cancel by orderId (or orderLinkId); it cancels conditional orders too."""
    body: dict[str, Any] = {"category": CATEGORY, "symbol": symbol}
    if order_id:
        body["orderId"] = order_id
    else:
        body["orderLinkId"] = client_id
    return body


def _side(side: str) -> str:
    if side not in ("BUY", "SELL"):
        raise ValueError(f"side must be BUY or SELL, got {side!r}")
    return "Buy" if side == "BUY" else "Sell"


def decimal_or_none(value: Any) -> Decimal | None:
    """A decimal field of a reply; None when absent, empty or zero-as-unset ("0")."""
    if value is None or value == "":
        return None
    out = Decimal(str(value))
    return out if out else None


def order_info(symbol: str, raw: dict[str, Any]) -> OrderInfo:
    """Bybit's order row (REST /v5/order/realtime or /history) as an OrderInfo."""
    algo = vocab.is_algo(raw)
    kind = vocab.order_kind(raw, algo)
    trailing = raw.get("stopOrderType") in vocab.TRAILING_STOP_TYPES
    return OrderInfo(
        order_id=str(raw.get("orderId", "")), client_id=str(raw.get("orderLinkId") or ""),
        symbol=str(raw.get("symbol") or symbol), order_type=kind,
        side=vocab.side(raw.get("side")), status=vocab.status(raw, algo),
        qty=decimal_or_none(raw.get("qty")) or Decimal(0),
        filled_qty=decimal_or_none(raw.get("cumExecQty")) or Decimal(0),
        avg_price=decimal_or_none(raw.get("avgPrice")),
        trigger_price=decimal_or_none(raw.get("triggerPrice")),
        reduce_only=raw.get("reduceOnly") is True,
        # closeOnTrigger reduces by qty (cancelling other orders for margin); it is not
        # Binance's closePosition (the whole position, any size): posguard sends a qty.
        close_position=False, algo=algo,
        # a TrailingStop order's triggerPrice is its activation price (order.mdx)
        activate_price=decimal_or_none(raw.get("triggerPrice")) if trailing else None)


def acknowledged(op: PlaceMarket | PlaceStop, ack: dict[str, Any], *, algo: bool,
                 order_type: str) -> OrderInfo:
    """The OrderInfo of an accepted create: Bybit acknowledges with ids only (the state
    follows on the order topic), so it is what was asked, NEW, nothing filled."""
    trigger = getattr(op, "trigger_price", None)
    return OrderInfo(
        order_id=str(ack.get("orderId") or ""),
        client_id=str(ack.get("orderLinkId") or op.client_id), symbol=op.symbol,
        order_type=order_type, side=op.side, status="NEW", qty=op.qty,
        filled_qty=Decimal(0), avg_price=None, trigger_price=trigger,
        reduce_only=bool(getattr(op, "reduce_only", True)), close_position=False,
        algo=algo, callback_rate_pct=getattr(op, "callback_rate_pct", None),
        activate_price=getattr(op, "activate_price", None))
