"""What the exchange's history says about a stop of ours: did it fire, at what price, when.

Binance USD-M (checked against ccxt 4.5.90 and Binance's SDK):
- GET /fapi/v1/algoOrder by algoId or clientAlgoId (ccxt: fetch_order(id, symbol,
  {"trigger": True[, "clientAlgoId"]})): algoStatus and actualOrderId, the market order the
  stop became when it triggered. Not found once purged: CANCELED/EXPIRED without a fill after
  3 days, anything after 90 days.
- GET /fapi/v1/userTrades?symbol&orderId (ccxt: fetch_my_trades(symbol, params={"orderId"})):
  that order's trades with price, qty, realizedPnl, commission and the exchange's time. Only
  the last 3 months are kept.
Nothing is invented: a stop that cannot be found, or whose trades cannot be read, comes back
with what is known and no price (the symbol actor journals that close as unexplained).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from venue.errors import FailureKind
from venue.interface import ExchangeError
from venue.replies import StopOutcome
from venue.requests import StopRef
from venues.binance.calls import Call


def stop_outcome(unified: str, ref: StopRef) -> Generator[Call, Any, StopOutcome]:
    """The history of one stop, as a program of reads (venues/binance/operations.py); a
    429/418 is raised (the whole fetch waits and is retried)."""
    params: dict[str, Any] = {"trigger": True}
    if ref.algo_id is None:
        params["clientAlgoId"] = ref.client_id
    try:
        order = yield Call("fetch_order", (ref.algo_id, unified, params))
    except ExchangeError as e:
        return _unread(ref, e, "algo order")
    raw = order.get("info") or {}
    child = str(raw.get("actualOrderId") or "") or None
    known = StopOutcome(ref.client_id, str(raw.get("algoId") or ref.algo_id or "") or None,
                        str(raw.get("orderType") or ref.order_type), True,
                        status=raw.get("algoStatus"), child_order_id=child)
    if child is None:
        return known
    try:
        trades = yield Call("fetch_my_trades", (unified, None, None, {"orderId": child}))
    except ExchangeError as e:
        failed = _unread(ref, e, f"trades of order {child}")
        return _with(known, error=failed.error)
    return _filled(known, [t.get("info") or {} for t in trades])


def _unread(ref: StopRef, e: ExchangeError, what: str) -> StopOutcome:
    f = e.failure
    if f.http_status is not None:
        raise e  # rate limited: retried as a whole once the pool's pause has passed
    error = None if f.kind is FailureKind.NOT_FOUND else f"{what}: {f.message}"
    return StopOutcome(ref.client_id, ref.algo_id, ref.order_type, False, error=error)


def _filled(known: StopOutcome, trades: list[dict[str, Any]]) -> StopOutcome:
    """`known` with the sums of its child order's trades (none: no price)."""
    rows = [t for t in trades if t.get("qty") not in (None, "")]
    if not rows:
        return known
    qty = sum((Decimal(str(t["qty"])) for t in rows), Decimal(0))
    quote = sum((Decimal(str(t["qty"])) * Decimal(str(t["price"])) for t in rows), Decimal(0))
    pnls = [Decimal(str(t["realizedPnl"])) for t in rows if t.get("realizedPnl") is not None]
    fees = [Decimal(str(t["commission"])) for t in rows if t.get("commission") is not None]
    times = [int(t["time"]) for t in rows if t.get("time") is not None]
    return _with(known, fill_qty=qty, fill_price=_average(rows, quote, qty),
                 realized_pnl=sum(pnls, Decimal(0)) if pnls else None,
                 commission=sum(fees, Decimal(0)) if fees else None,
                 commission_asset=rows[0].get("commissionAsset"),
                 fill_time_ms=max(times) if times else None, trades=len(rows))


def _average(rows: list[dict[str, Any]], quote: Decimal, qty: Decimal) -> Decimal | None:
    """One trade: its price as the exchange wrote it. Several: the quantity-weighted
    average, with two decimals more than the trades' prices."""
    prices = [Decimal(str(t["price"])) for t in rows]
    if len(prices) == 1 or not qty:
        return prices[0] if qty else None
    places = max(max(0, -int(p.as_tuple().exponent)) for p in prices) + 2
    # Explicit rounding: ccxt changes this process's decimal context whenever it formats.
    return (quote / qty).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def _with(o: StopOutcome, **changes: Any) -> StopOutcome:
    return replace(o, **changes)
