"""What Bybit's history says about a stop of ours: did it fire, at what price, when.

A Bybit conditional order and its execution are one order (the same orderId runs from
Untriggered to Filled), so one read answers: /v5/order/realtime by orderLinkId (open orders
and the last 500 closed), else /v5/order/history (Cancelled / Rejected / Deactivated kept
24 h: order-list.mdx). Its avgPrice, cumExecQty, cumExecFee and updatedTime are the fill;
the trades' realised PnL is not read (None: not reported). Nothing is invented: a stop that
cannot be found comes back with found False and no price.
"""

from __future__ import annotations

from collections.abc import Generator
from decimal import Decimal
from typing import Any

from venue.errors import FailureKind
from venue.interface import ExchangeError
from venue.replies import StopOutcome
from venue.requests import StopRef
from venues.bybit.calls import Call
from venues.bybit.orders import CATEGORY, decimal_or_none
from venues.bybit.vocab import ALGO_STATUS


def stop_outcome(symbol: str, ref: StopRef) -> Generator[Call, Any, StopOutcome]:
    """The history of one stop, as a program of reads; a 10006 / 403 is raised (the whole
    fetch waits and is retried)."""
    key = {"orderId": ref.algo_id} if ref.algo_id else {"orderLinkId": ref.client_id}
    row: dict[str, Any] | None = None
    try:
        for method in ("privateGetV5OrderRealtime", "privateGetV5OrderHistory"):
            reply = yield Call(method, ({"category": CATEGORY, "symbol": symbol, **key},))
            found = (reply.get("result") or {}).get("list") or []
            if found:
                row = found[0]
                break
    except ExchangeError as e:
        if e.failure.http_status is not None:
            raise
        error = None if e.failure.kind is FailureKind.NOT_FOUND else f"order: {e.failure.message}"
        return StopOutcome(ref.client_id, ref.algo_id, ref.order_type, False, error=error)
    if row is None:
        return StopOutcome(ref.client_id, ref.algo_id, ref.order_type, False)
    qty = decimal_or_none(row.get("cumExecQty")) or Decimal(0)
    status = ALGO_STATUS.get(str(row.get("orderStatus")), str(row.get("orderStatus")))
    fee = decimal_or_none(row.get("cumExecFee"))
    return StopOutcome(
        ref.client_id, str(row.get("orderId") or ref.algo_id or "") or None, ref.order_type,
        True, status=status, child_order_id=str(row.get("orderId") or "") or None,
        fill_qty=qty, fill_price=decimal_or_none(row.get("avgPrice")) if qty else None,
        commission=fee, commission_asset="USDT" if fee is not None else None,
        fill_time_ms=int(row["updatedTime"]) if qty and row.get("updatedTime") else None,
        trades=0)  # the order row does not say how many trades it took
