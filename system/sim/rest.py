"""Binance REST handlers: parameter validation and engine calls. Pure of aiohttp.

Each handler takes (sim, Params) and returns the JSON reply or raises SimError.
"""

from __future__ import annotations

import secrets

from system.sim import errors as E
from system.sim import markets as mk
from system.sim import views
from system.sim.engine import AlgoRequest
from system.sim.errors import SimError, err, not_required
from system.sim.model import ZERO, algo_json, order_json
from system.sim.params import Params

SIDES = ("BUY", "SELL")
ALGO_TYPES = ("STOP_MARKET", "TRAILING_STOP_MARKET")
CONDITIONAL = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
               "TRAILING_STOP_MARKET")


def _symbol(sim, p: Params, required: bool = True) -> str | None:
    sym = p.text("symbol", required)
    if sym is not None:
        sim.engine.market(sym)
    return sym


def _side(p: Params) -> str:
    return p.choice("side", SIDES, -1117, "Invalid side.")


def _position_side(p: Params) -> None:
    if p.text("positionSide", required=False) not in (None, "BOTH"):
        raise SimError(-4061, "Order's position side does not match user's setting.")


def h_ping(sim, p):
    """GET /fapi/v1/ping."""
    return {}


def h_time(sim, p):
    """GET /fapi/v1/time."""
    return {"serverTime": sim.clock.now_ms()}


def h_exchange_info(sim, p):
    """GET /fapi/v1/exchangeInfo."""
    return mk.exchange_info(sim.engine.markets, sim.clock.now_ms())


def h_premium_index(sim, p):
    """GET /fapi/v1/premiumIndex (mark = index = contract price)."""
    sym = _symbol(sim, p, required=False)
    now = sim.clock.now_ms()
    rows = []
    for s, m in sim.engine.markets.items():
        if sym in (None, s):
            price = m.fmt_price(sim.engine.prices[s])
            rows.append({"symbol": s, "markPrice": price, "indexPrice": price,
                         "estimatedSettlePrice": price, "lastFundingRate": "0.00010000",
                         "interestRate": "0.00010000", "nextFundingTime":
                         (now // 28_800_000 + 1) * 28_800_000, "time": now})
    return rows[0] if sym else rows


def h_account(sim, p):
    """GET /fapi/v2|v3/account."""
    return views.account(sim.engine)


def h_position_risk(sim, p):
    """GET /fapi/v2|v3/positionRisk."""
    return views.position_rows(sim.engine, _symbol(sim, p, required=False))


def h_leverage_bracket(sim, p):
    """GET /fapi/v1/leverageBracket."""
    sym = _symbol(sim, p, required=False)
    return [mk.leverage_bracket(m) for s, m in sim.engine.markets.items() if sym in (None, s)]


def h_set_leverage(sim, p):
    """POST /fapi/v1/leverage."""
    sym = _symbol(sim, p)
    lev = p.integer("leverage")
    sim.engine.set_leverage(sym, lev)
    return {"leverage": lev, "maxNotionalValue": "50000000", "symbol": sym}


def h_new_order(sim, p):
    """POST /fapi/v1/order: MARKET only; conditional types belong to the algo API."""
    sym = _symbol(sim, p)
    side = _side(p)
    otype = p.text("type")
    if otype in CONDITIONAL:
        raise err(E.USE_ALGO_API)
    if otype != "MARKET":
        raise SimError(-1116, "Invalid orderType.")
    _position_side(p)
    if p.boolean("closePosition"):
        raise not_required("closePosition")
    qty = p.decimal("quantity")
    cid = p.text("newClientOrderId", required=False) or _client_id()
    o = sim.engine.place_market(sym, side, qty, cid, p.boolean("reduceOnly"))
    return order_json(o, sim.engine.market(sym))


def _order_ref(p: Params, id_name: str, cid_name: str) -> tuple[int | None, str | None]:
    oid = p.integer(id_name, required=False)
    cid = p.text(cid_name, required=False)
    if oid is None and cid is None:
        raise SimError(-1102, f"Param '{cid_name}' or '{id_name}' must be sent, "
                              "but both were empty/null!")
    return oid, cid


def h_get_order(sim, p):
    """GET /fapi/v1/order."""
    sym = _symbol(sim, p)
    oid, cid = _order_ref(p, "orderId", "origClientOrderId")
    return order_json(sim.engine.find_order(sym, oid, cid), sim.engine.market(sym))


def h_cancel_order(sim, p):
    """DELETE /fapi/v1/order."""
    sym = _symbol(sim, p)
    oid, cid = _order_ref(p, "orderId", "origClientOrderId")
    return order_json(sim.engine.cancel_order(sym, oid, cid), sim.engine.market(sym))


def h_open_orders(sim, p):
    """GET /fapi/v1/openOrders."""
    sym = _symbol(sim, p, required=False)
    e = sim.engine
    return [order_json(o, e.markets[o.symbol]) for o in e.open_orders(sym)]


def h_new_algo(sim, p):
    """POST /fapi/v1/algoOrder."""
    sym = _symbol(sim, p)
    if p.text("algoType") != "CONDITIONAL":
        raise SimError(-1116, "Invalid algoType.")
    side = _side(p)
    otype = p.text("type")
    if otype not in ALGO_TYPES:
        raise SimError(-1116, "Invalid orderType.")
    _position_side(p)
    close = p.boolean("closePosition")
    reduce = p.boolean("reduceOnly")
    if close and p.has("quantity"):
        raise not_required("quantity")
    if close and reduce:
        raise not_required("reduceOnly")
    if close and otype == "TRAILING_STOP_MARKET":
        raise not_required("closePosition")
    wt = p.choice("workingType", ("CONTRACT_PRICE", "MARK_PRICE"), -1100,
                  "Illegal characters found in parameter 'workingType'.", required=False)
    trailing = otype == "TRAILING_STOP_MARKET"
    r = AlgoRequest(
        symbol=sym, side=side, order_type=otype,
        quantity=ZERO if close else p.decimal("quantity"),
        trigger_price=ZERO if trailing else p.decimal("triggerPrice"),
        reduce_only=reduce, close_position=close,
        client_algo_id=p.text("clientAlgoId", required=False) or _client_id(),
        working_type=wt or "CONTRACT_PRICE",
        activate_price=(p.decimal("activatePrice", required=False) or ZERO)
        if trailing else ZERO,
        callback_rate=p.decimal("callbackRate") if trailing else ZERO,
    )
    a = sim.engine.place_algo(r)
    return algo_json(a, sim.engine.market(sym))


def h_get_algo(sim, p):
    """GET /fapi/v1/algoOrder."""
    sym = _symbol(sim, p, required=False)
    aid, cid = _order_ref(p, "algoId", "clientAlgoId")
    a = sim.engine.find_algo(sym, aid, cid)
    return algo_json(a, sim.engine.market(a.symbol))


def h_cancel_algo(sim, p):
    """DELETE /fapi/v1/algoOrder."""
    sym = _symbol(sim, p)
    aid, cid = _order_ref(p, "algoId", "clientAlgoId")
    a = sim.engine.cancel_algo(sym, aid, cid)
    return {"algoId": a.algo_id, "clientAlgoId": a.client_algo_id, "code": "200",
            "msg": "success"}


def h_open_algos(sim, p):
    """GET /fapi/v1/openAlgoOrders."""
    sym = _symbol(sim, p, required=False)
    e = sim.engine
    return [algo_json(a, e.markets[a.symbol]) for a in e.open_algos(sym)]


def h_listen_key_new(sim, p):
    """POST /fapi/v1/listenKey."""
    return {"listenKey": sim.users.create_key()}


def h_listen_key_keep(sim, p):
    """PUT /fapi/v1/listenKey."""
    sim.users.extend_key()
    return {"listenKey": sim.users.key}


def h_listen_key_delete(sim, p):
    """DELETE /fapi/v1/listenKey."""
    sim.users.delete_key()
    return {}


def _client_id() -> str:
    return "sim" + secrets.token_hex(10)


# (method, path) -> (handler, auth) with auth: "none" | "key" (API key) | "signed"
ROUTES = {
    ("GET", "/fapi/v1/ping"): (h_ping, "none"),
    ("GET", "/fapi/v1/time"): (h_time, "none"),
    ("GET", "/fapi/v1/exchangeInfo"): (h_exchange_info, "none"),
    ("GET", "/fapi/v1/premiumIndex"): (h_premium_index, "none"),
    ("GET", "/fapi/v2/account"): (h_account, "signed"),
    ("GET", "/fapi/v3/account"): (h_account, "signed"),
    ("GET", "/fapi/v2/positionRisk"): (h_position_risk, "signed"),
    ("GET", "/fapi/v3/positionRisk"): (h_position_risk, "signed"),
    ("GET", "/fapi/v1/leverageBracket"): (h_leverage_bracket, "signed"),
    ("POST", "/fapi/v1/leverage"): (h_set_leverage, "signed"),
    ("POST", "/fapi/v1/order"): (h_new_order, "signed"),
    ("GET", "/fapi/v1/order"): (h_get_order, "signed"),
    ("DELETE", "/fapi/v1/order"): (h_cancel_order, "signed"),
    ("GET", "/fapi/v1/openOrders"): (h_open_orders, "signed"),
    ("POST", "/fapi/v1/algoOrder"): (h_new_algo, "signed"),
    ("GET", "/fapi/v1/algoOrder"): (h_get_algo, "signed"),
    ("DELETE", "/fapi/v1/algoOrder"): (h_cancel_algo, "signed"),
    ("GET", "/fapi/v1/openAlgoOrders"): (h_open_algos, "signed"),
    ("POST", "/fapi/v1/listenKey"): (h_listen_key_new, "key"),
    ("PUT", "/fapi/v1/listenKey"): (h_listen_key_keep, "key"),
    ("DELETE", "/fapi/v1/listenKey"): (h_listen_key_delete, "key"),
}
