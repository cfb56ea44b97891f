"""REST renderings of orders, algo orders and trades, one key set per endpoint.

Binance does not answer every order endpoint with the same object: the key sets below are
those of the response models of Binance's SDK (binance-sdk-derivatives-trading-usds-futures
18.1.0, `rest_api/models`), e.g. POST /fapi/v1/order carries no avgPrice / cumQuote (removed
in the SDK's 14.0.0) while GET /fapi/v1/order does. Fields the SDK documents as present only
for some orders ("only return with TRAILING_STOP_MARKET order", "only present when
triggered") are left out otherwise. tests/integration/sim/test_sdk_rest_conformance.py
checks every reply against the SDK models themselves.
"""

from __future__ import annotations

from system.sim.markets import Market
from system.sim.model import AlgoOrder, Order, Trade

_ORDER_COMMON = ("clientOrderId", "executedQty", "orderId", "origQty", "price", "reduceOnly",
                 "side", "positionSide", "status", "stopPrice", "closePosition", "symbol",
                 "timeInForce", "type", "origType", "updateTime", "workingType",
                 "priceProtect", "priceMatch", "selfTradePreventionMode", "goodTillDate")
ORDER_KEYS = {
    "new": _ORDER_COMMON + ("cumQty",),  # NewOrderResponse
    "cancel": _ORDER_COMMON + ("cumQty", "activatePrice", "priceRate"),  # CancelOrderResponse
    "query": _ORDER_COMMON + ("avgPrice", "cumQuote", "time", "activatePrice", "priceRate"),
}
"""Keys per reply kind; `query` is GET /fapi/v1/order and every row of openOrders."""
TRAILING_ONLY = ("activatePrice", "priceRate")
"""Order keys Binance sends only for TRAILING_STOP_MARKET orders."""

_ALGO_COMMON = ("algoId", "clientAlgoId", "algoType", "orderType", "symbol", "side",
                "positionSide", "timeInForce", "quantity", "algoStatus", "triggerPrice",
                "price", "icebergQuantity", "selfTradePreventionMode", "workingType",
                "priceMatch", "closePosition", "priceProtect", "reduceOnly", "createTime",
                "updateTime", "triggerTime", "goodTillDate")
_ALGO_LIST = _ALGO_COMMON + ("actualOrderId", "actualPrice", "tpTriggerPrice", "tpPrice",
                             "slTriggerPrice", "slPrice", "tpOrderType")
ALGO_KEYS = {
    "new": _ALGO_COMMON + ("activatePrice", "callbackRate"),  # NewAlgoOrderResponse
    "query": _ALGO_COMMON + ("actualOrderId", "actualPrice", "actualType", "actualQty",
                             "tpOrderType"),  # QueryAlgoOrderResponse
    "list": _ALGO_LIST,  # openAlgoOrders and allAlgoOrders rows
    # /_sim/state is the simulator's truth, not a Binance reply: a list row plus the
    # trailing parameters Binance's list rows do not carry.
    "state": _ALGO_LIST + ("activatePrice", "callbackRate"),
}


def order_reply(o: Order, m: Market, kind: str) -> dict:
    """A plain order (or a triggered algo order's child) as endpoint `kind` renders it."""
    full = {
        "orderId": o.order_id, "symbol": o.symbol, "status": o.status,
        "clientOrderId": o.client_id, "price": "0",
        "avgPrice": m.fmt_price(o.avg_price) if o.executed_qty else "0.00",
        "origQty": m.fmt_qty(o.orig_qty), "executedQty": m.fmt_qty(o.executed_qty),
        "cumQty": m.fmt_qty(o.executed_qty), "cumQuote": f"{o.cum_quote:.8f}",
        "timeInForce": "GTC", "type": "MARKET",  # a triggered child is a MARKET order
        "reduceOnly": o.reduce_only, "closePosition": o.close_position, "side": o.side,
        "positionSide": "BOTH",
        "stopPrice": m.fmt_price(o.stop_price) if o.stop_price else "0",
        "workingType": o.working_type, "priceProtect": o.price_protect,
        "origType": o.orig_type, "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": 0, "time": o.time_ms,
        "updateTime": o.update_ms or o.time_ms,
        "activatePrice": m.fmt_price(o.activate_price) if o.activate_price else "0",
        "priceRate": str(o.price_rate),
    }
    keys = ORDER_KEYS[kind]
    if o.orig_type != "TRAILING_STOP_MARKET":
        keys = tuple(k for k in keys if k not in TRAILING_ONLY)
    return {k: full[k] for k in keys}


def algo_reply(a: AlgoOrder, m: Market, kind: str) -> dict:
    """An algo order as endpoint `kind` renders it (new, query, list)."""
    trailing = a.order_type == "TRAILING_STOP_MARKET"
    full = {
        "algoId": a.algo_id, "clientAlgoId": a.client_algo_id, "algoType": "CONDITIONAL",
        "orderType": a.order_type, "symbol": a.symbol, "side": a.side,
        "positionSide": "BOTH", "timeInForce": "GTC", "quantity": m.fmt_qty(a.quantity),
        "algoStatus": a.status, "actualOrderId": str(a.child_id) if a.child_id else "",
        "actualPrice": m.fmt_price(a.fill_price) if a.fill_price else "0",
        "actualType": "MARKET", "actualQty": m.fmt_qty(a.fill_qty),
        "triggerPrice": m.fmt_price(a.trigger_price) if a.trigger_price else "0",
        "price": "0", "icebergQuantity": None, "tpTriggerPrice": "0", "tpPrice": "0",
        "slTriggerPrice": "0", "slPrice": "0", "tpOrderType": "",
        "selfTradePreventionMode": "EXPIRE_MAKER", "workingType": a.working_type,
        "priceMatch": "NONE", "closePosition": a.close_position,
        "priceProtect": a.price_protect, "reduceOnly": a.reduce_only,
        "activatePrice": m.fmt_price(a.activate_price) if a.activate_price else "",
        "callbackRate": str(a.callback_rate), "createTime": a.create_ms,
        "updateTime": a.update_ms or a.create_ms, "triggerTime": a.trigger_ms,
        "goodTillDate": 0,
    }
    keys = ALGO_KEYS[kind]
    if kind == "new" and not trailing:
        keys = tuple(k for k in keys if k not in ("activatePrice", "callbackRate"))
    if kind == "query":
        # Documented as present only once triggered (actualType) / filled (actualQty).
        keys = tuple(k for k in keys if (k != "actualType" or a.child_id)
                     and (k != "actualQty" or a.fill_qty))
    return {k: full[k] for k in keys}


def trade_reply(t: Trade, m: Market) -> dict:
    """One row of GET /fapi/v1/userTrades (AccountTradeListResponseInner)."""
    return {
        "buyer": t.side == "BUY", "commission": f"{t.fee:.8f}", "commissionAsset": "USDT",
        "id": t.trade_id, "maker": False, "orderId": t.order_id, "price": m.fmt_price(t.price),
        "qty": m.fmt_qty(t.qty), "quoteQty": f"{t.price * t.qty:.8f}",
        "baseQty": m.fmt_qty(t.qty), "marginAsset": "USDT", "realizedPnl": f"{t.realized:.8f}",
        "side": t.side, "positionSide": "BOTH", "symbol": t.symbol, "pair": t.symbol,
        "time": t.time_ms,
    }
