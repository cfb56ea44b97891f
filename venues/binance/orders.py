"""How operations become Binance USD-M orders through ccxt, and Binance's orders as OrderInfo.

PlaceMarket is a MARKET order (reduce-only for closes, the full result in the reply);
PlaceStop a reduce-only algo order: STOP_MARKET at a trigger price, or TRAILING_STOP_MARKET
with callbackRate and an optional activationPrice, on the mark or contract price
(workingType). The client id goes as clientOrderId (ccxt sends it as clientAlgoId for algo
orders). Reads come back as Binance wrote them; `order_info` maps both the plain and the algo
shapes onto one OrderInfo.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from venue.replies import OrderInfo
from venue.requests import PlaceMarket, PlaceStop
from venue.vocab import OrderKind


def market_params(op: PlaceMarket) -> dict[str, Any]:
    """ccxt create_order params of a MARKET order."""
    params: dict[str, Any] = {"clientOrderId": op.client_id, "newOrderRespType": "RESULT"}
    if op.reduce_only:
        params["reduceOnly"] = True
    return params


def stop_params(op: PlaceStop) -> dict[str, Any]:
    """ccxt create_order params of a reduce-only STOP_MARKET or TRAILING_STOP_MARKET."""
    params: dict[str, Any] = {"clientOrderId": op.client_id, "reduceOnly": True,
                              "workingType": op.working_type}
    if op.order_type == OrderKind.TRAILING:
        params["callbackRate"] = str(op.callback_rate_pct)
        if op.activate_price is not None:
            params["activationPrice"] = str(op.activate_price)
    else:
        params["triggerPrice"] = str(op.trigger_price)
    return params


def decimal_or_none(value: Any) -> Decimal | None:
    """A decimal field of a reply; None when absent or empty."""
    if value is None or value == "":
        return None
    return Decimal(str(value))


def order_info(symbol: str, raw: dict[str, Any], *, algo: bool) -> OrderInfo:
    """Binance's raw order (plain or algo) as an OrderInfo."""
    if algo:
        return OrderInfo(
            order_id=str(raw.get("algoId", "")), client_id=str(raw.get("clientAlgoId", "")),
            symbol=raw.get("symbol", symbol), order_type=str(raw.get("orderType", "")),
            side=str(raw.get("side", "")), status=str(raw.get("algoStatus", "")),
            qty=decimal_or_none(raw.get("quantity")) or Decimal(0), filled_qty=Decimal(0),
            avg_price=None, trigger_price=decimal_or_none(raw.get("triggerPrice")),
            reduce_only=_bool(raw.get("reduceOnly")),
            close_position=_bool(raw.get("closePosition")), algo=True,
            callback_rate_pct=decimal_or_none(raw.get("callbackRate")),
            activate_price=decimal_or_none(raw.get("activatePrice")))
    return OrderInfo(
        order_id=str(raw.get("orderId", "")), client_id=str(raw.get("clientOrderId", "")),
        symbol=raw.get("symbol", symbol), order_type=str(raw.get("type", "")),
        side=str(raw.get("side", "")), status=str(raw.get("status", "")),
        qty=decimal_or_none(raw.get("origQty")) or Decimal(0),
        filled_qty=decimal_or_none(raw.get("executedQty")) or Decimal(0),
        avg_price=decimal_or_none(raw.get("avgPrice")),
        trigger_price=decimal_or_none(raw.get("stopPrice")),
        reduce_only=_bool(raw.get("reduceOnly")),
        close_position=_bool(raw.get("closePosition")), algo=False)


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"
