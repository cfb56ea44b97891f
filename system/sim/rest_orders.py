"""REST handlers for plain orders and algo (conditional) orders. Pure of aiohttp.

Each handler takes (sim, Params) and returns the JSON reply or raises SimError.
"""

from __future__ import annotations

from system.sim import errors as E
from system.sim import rest_common as rc
from system.sim.engine import AlgoRequest
from system.sim.errors import SimError, err, not_required
from system.sim.model import ZERO
from system.sim.params import Params
from system.sim.replies import algo_reply, order_reply

ALGO_TYPES = ("STOP_MARKET", "TRAILING_STOP_MARKET")
CONDITIONAL = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
               "TRAILING_STOP_MARKET")
WORKING_TYPES = ("CONTRACT_PRICE", "MARK_PRICE")


def h_new_order(sim, p: Params):
    """POST /fapi/v1/order: MARKET only; conditional types belong to the algo API."""
    sym = rc.symbol(sim, p)
    side = rc.side(p)
    otype = p.text("type")
    if otype in CONDITIONAL:
        raise err(E.USE_ALGO_API)
    if otype != "MARKET":
        raise SimError(-1116, "Invalid orderType.")
    rc.position_side(sim, p)
    if p.boolean("closePosition"):
        raise not_required("closePosition")
    qty = p.decimal("quantity")
    cid = rc.new_client_id(p, "newClientOrderId")
    o = sim.engine.place_market(sym, side, qty, cid, p.boolean("reduceOnly"))
    return order_reply(o, sim.engine.market(sym), "new")


def h_get_order(sim, p: Params):
    """GET /fapi/v1/order."""
    sym = rc.symbol(sim, p)
    oid, cid = rc.order_ref(p, "orderId", "origClientOrderId")
    return order_reply(sim.engine.find_order(sym, oid, cid), sim.engine.market(sym), "query")


def h_cancel_order(sim, p: Params):
    """DELETE /fapi/v1/order."""
    sym = rc.symbol(sim, p)
    oid, cid = rc.order_ref(p, "orderId", "origClientOrderId")
    o = sim.engine.cancel_order(sym, oid, cid)
    return order_reply(o, sim.engine.market(sym), "cancel")


def h_open_orders(sim, p: Params):
    """GET /fapi/v1/openOrders."""
    sym = rc.symbol(sim, p, required=False)
    e = sim.engine
    return [order_reply(o, e.markets[o.symbol], "query") for o in e.open_orders(sym)]


def _algo_request(sim, p: Params) -> AlgoRequest:
    sym = rc.symbol(sim, p)
    if p.text("algoType") != "CONDITIONAL":
        raise SimError(-1116, "Invalid algoType.")
    side = rc.side(p)
    otype = p.text("type")
    if otype not in ALGO_TYPES:
        raise SimError(-1116, "Invalid orderType.")
    rc.position_side(sim, p)
    close = p.boolean("closePosition")
    reduce = p.boolean("reduceOnly")
    if close and p.has("quantity"):
        raise not_required("quantity")
    if close and reduce:
        raise not_required("reduceOnly")
    trailing = otype == "TRAILING_STOP_MARKET"
    if close and trailing:
        raise not_required("closePosition")
    wt = p.choice("workingType", WORKING_TYPES, -1100,
                  "Illegal characters found in parameter 'workingType'.", required=False)
    return AlgoRequest(
        symbol=sym, side=side, order_type=otype,
        quantity=ZERO if close else p.decimal("quantity"),
        trigger_price=ZERO if trailing else p.decimal("triggerPrice"),
        reduce_only=reduce, close_position=close,
        client_algo_id=rc.new_client_id(p, "clientAlgoId"),
        working_type=wt or "CONTRACT_PRICE",  # Binance's default
        activate_price=(p.decimal("activatePrice", required=False) or ZERO)
        if trailing else ZERO,
        callback_rate=p.decimal("callbackRate") if trailing else ZERO,
        price_protect=p.boolean("priceProtect"),
    )


def h_new_algo(sim, p: Params):
    """POST /fapi/v1/algoOrder."""
    a = sim.engine.place_algo(_algo_request(sim, p))
    return algo_reply(a, sim.engine.market(a.symbol), "new")


def h_get_algo(sim, p: Params):
    """GET /fapi/v1/algoOrder: by algoId or clientAlgoId; symbol not needed."""
    sym = rc.symbol(sim, p, required=False)
    aid, cid = rc.order_ref(p, "algoId", "clientAlgoId")
    a = sim.engine.find_algo(sym, aid, cid)
    return algo_reply(a, sim.engine.market(a.symbol), "query")


def h_cancel_algo(sim, p: Params):
    """DELETE /fapi/v1/algoOrder: by algoId or clientAlgoId; symbol not needed."""
    sym = rc.symbol(sim, p, required=False)
    aid, cid = rc.order_ref(p, "algoId", "clientAlgoId")
    a = sim.engine.cancel_algo(sym, aid, cid)
    return {"algoId": a.algo_id, "clientAlgoId": a.client_algo_id, "code": "200",
            "msg": "success"}


def h_cancel_all_algos(sim, p: Params):
    """DELETE /fapi/v1/algoOpenOrders: every open algo order of a symbol."""
    sim.engine.cancel_all_algos(rc.symbol(sim, p))
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def h_open_algos(sim, p: Params):
    """GET /fapi/v1/openAlgoOrders (optional algoType / algoId filters)."""
    sym = rc.symbol(sim, p, required=False)
    algo_type = p.text("algoType", required=False)
    if algo_type not in (None, "CONDITIONAL"):
        raise SimError(-1116, "Invalid algoType.")
    aid = p.integer("algoId", required=False)
    e = sim.engine
    return [algo_reply(a, e.markets[a.symbol], "list") for a in e.open_algos(sym)
            if aid in (None, a.algo_id)]
