"""Bybit order routes: create (market or conditional), amend, cancel, realtime, history.

A conditional order (`triggerPrice` on /v5/order/create) is the engine's AlgoOrder; its Bybit
orderId names it for its whole life, its triggered MARKET child is never shown apart
(bybit-linear.md: "The same orderId runs through").
"""

from __future__ import annotations

import re

from system.sim.bybit import replies as R
from system.sim.bybit.errors import BybitError, params_error
from system.sim.bybit.ids import parse_order_id
from system.sim.bybit.rest_market import LINEAR, category, symbol
from system.sim.engine import AlgoRequest
from system.sim.engine_attached import TRIGGER_BY

LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
MAX_CONDITIONAL = 10
"""Active conditional orders per symbol (create-order.mdx); 110009 past it."""
NOT_FOUND_CANCEL = (110001, "order not exists or too late to cancel")
NOT_FOUND = (110001, "Order does not exist.")
OPEN = ("New", "PartiallyFilled", "Untriggered")
HISTORY_DEFAULT, HISTORY_MAX = 20, 50
REALTIME_CLOSED_KEPT = 500
"""Closed orders /v5/order/realtime still finds (open-order.mdx); older ones: history only."""
_UNSIMULATED = ("price", "takeProfit", "stopLoss", "tpTriggerBy", "slTriggerBy",
                "tpLimitPrice", "slLimitPrice", "tpOrderType", "slOrderType")


def _side(p) -> str:
    return "BUY" if p.choice("side", ("Buy", "Sell")) == "Buy" else "SELL"


def _position_idx(p) -> None:
    if p.has("positionIdx") and p.integer("positionIdx") != 0:
        raise params_error("position idx not match position mode")


def _link(p) -> str:
    link = p.text("orderLinkId", required=False) or ""
    if link and not LINK_ID.match(link):
        raise params_error("orderLinkId invalid: at most 36 of A-Z a-z 0-9 - _")
    return link


def _working_type(p) -> str:
    by = p.text("triggerBy", required=False) or "LastPrice"
    if by not in TRIGGER_BY:
        raise params_error(f"triggerBy {by} is not simulated (MarkPrice | LastPrice)")
    return TRIGGER_BY[by]


def h_create(sim, p):
    """POST /v5/order/create: Market orders, optionally conditional (triggerPrice)."""
    category(p, allow_empty=False)
    sym = symbol(sim, p)
    side = _side(p)
    if p.text("orderType") != "Market":
        raise params_error("orderType: the simulator fills Market orders only")
    _position_idx(p)
    for name in ("takeProfit", "stopLoss"):
        if p.has(name):
            raise params_error(f"{name} on create is not simulated: use trading-stop")
    qty, link, e = p.decimal("qty"), _link(p), sim.engine
    if not p.has("triggerPrice"):
        o = e.place_market(sym, side, qty, link, p.boolean("reduceOnly"))
        return {"orderId": R.order_id(o.order_id), "orderLinkId": o.client_id}
    direction = p.integer("triggerDirection", required=False)
    if direction not in (1, 2):
        raise params_error("TriggerDirection invalid")
    if sum(1 for a in e.open_algos(sym) if not a.attached) >= MAX_CONDITIONAL:
        raise BybitError(110009, "The number of stop orders exceeds the maximum allowable "
                                 "limit")
    a = e.place_algo(AlgoRequest(
        symbol=sym, side=side, order_type="STOP_MARKET", quantity=qty,
        trigger_price=p.decimal("triggerPrice"), reduce_only=p.boolean("reduceOnly"),
        close_position=False, client_algo_id=link, working_type=_working_type(p),
        trigger_direction=direction))
    return {"orderId": R.order_id(a.algo_id), "orderLinkId": a.client_algo_id}


def _ref(p) -> tuple[int | None, str | None]:
    """(engine id, orderLinkId) of the order a request names; 10001 when it names none."""
    oid_text = p.text("orderId", required=False)
    link = p.text("orderLinkId", required=False)
    if oid_text is None and link is None:
        raise params_error("orderId or orderLinkId is required")
    oid = parse_order_id(oid_text) if oid_text is not None else None
    if oid_text is not None and oid is None:
        raise BybitError(*NOT_FOUND)
    return oid, link


def h_amend(sim, p):
    """POST /v5/order/amend: a resting conditional order's triggerPrice and/or qty."""
    category(p, allow_empty=False)
    sym = symbol(sim, p)
    for name in _UNSIMULATED:
        if p.has(name):
            raise params_error(f"amending {name} is not simulated")
    trigger, qty = p.decimal("triggerPrice", required=False), p.decimal("qty", required=False)
    if trigger is None and qty is None:
        raise params_error("nothing to amend: triggerPrice or qty")
    oid, link = _ref(p)
    wt = _working_type(p) if p.has("triggerBy") else None
    a = sim.engine.amend_algo(sym, oid, link, trigger, qty, wt)
    return {"orderId": R.order_id(a.algo_id), "orderLinkId": a.client_algo_id}


def h_cancel(sim, p):
    """POST /v5/order/cancel: a resting conditional order or a working market order."""
    category(p, allow_empty=False)
    sym = symbol(sim, p)
    oid, link = _ref(p)
    e = sim.engine
    a = next((a for a in e.open_algos(sym) if a.algo_id == oid or (
        link is not None and a.client_algo_id == link)), None)
    if a is not None:
        e.cancel_algo(sym, a.algo_id, None)
        return {"orderId": R.order_id(a.algo_id), "orderLinkId": a.client_algo_id}
    o = next((o for o in e.open_orders(sym) if o.order_id == oid or (
        link is not None and o.client_id == link)), None)
    if o is None:
        raise BybitError(*NOT_FOUND_CANCEL)
    e.cancel_order(sym, o.order_id, None)
    return {"orderId": R.order_id(o.order_id), "orderLinkId": o.client_id}


def _rows(sim, sym: str | None, order_filter: str | None) -> list[dict]:
    """Every visible order of the account in Bybit's shape, newest first."""
    e = sim.engine
    fee = e.ledger.fee_pct
    children = {a.child_id for a in e.algos.values() if a.child_id}
    rows: list[tuple[int, dict]] = []
    if order_filter in (None, "Order"):
        rows += [(o.time_ms, R.plain_order(o, e.markets[o.symbol], fee))
                 for o in e.orders.values() if o.order_id not in children
                 and sym in (None, o.symbol)
                 and e.visible(o.time_ms, o.status, o.executed_qty > 0)]
    for a in e.algos.values():
        kind = "tpslOrder" if a.attached else "StopOrder"
        if order_filter not in (None, kind) or sym not in (None, a.symbol):
            continue
        if e.visible(a.create_ms, a.status, a.fill_qty > 0):
            rows.append((a.create_ms, R.conditional_order(
                a, e.markets[a.symbol], e.orders.get(a.child_id), fee)))
    rows.sort(key=lambda r: r[0], reverse=True)
    return [r for _, r in rows]


def _select(sim, p) -> tuple[list[dict], str]:
    c = category(p)
    sym = symbol(sim, p, required=False)
    if sym is None and not p.has("settleCoin") and c == LINEAR and not (
            p.has("orderId") or p.has("orderLinkId")):
        raise params_error("symbol or settleCoin or baseCoin is required")
    f = p.choice("orderFilter", ("Order", "StopOrder", "tpslOrder"), required=False)
    rows = [] if c != LINEAR else _rows(sim, sym, f)
    oid, link = p.text("orderId", required=False), p.text("orderLinkId", required=False)
    rows = [r for r in rows if oid in (None, r["orderId"]) and link in (None, r["orderLinkId"])]
    return rows, c


def h_realtime(sim, p):
    """GET /v5/order/realtime: open orders, and the account's 500 newest closed ones.

    open-order.mdx: openOnly 0 (default) lists open orders, 1 the recent closed ones (500
    kept); an orderId / orderLinkId finds its order in either (ccxt's fetch_order relies on
    it: "can only access an order if it is in last 500 orders (of any status)").
    """
    named = p.has("orderId") or p.has("orderLinkId")
    open_only = p.integer("openOnly", required=False) or 0
    if open_only not in (0, 1):
        raise params_error("openOnly invalid")
    rows, c = _select(sim, p)
    opened = [r for r in rows if r["orderStatus"] in OPEN]
    closed = [r for r in rows if r["orderStatus"] not in OPEN][:REALTIME_CLOSED_KEPT]
    rows = opened + closed if named else (closed if open_only else opened)
    page, cursor = paginate(p, rows, HISTORY_DEFAULT, HISTORY_MAX)
    return {"category": c, "list": page, "nextPageCursor": cursor}


def h_history(sim, p):
    """GET /v5/order/history: orders of every state, newest first, `limit` of them."""
    rows, c = _select(sim, p)
    start, end = p.integer("startTime", required=False), p.integer("endTime", required=False)
    status = p.text("orderStatus", required=False)
    rows = [r for r in rows if (start is None or int(r["createdTime"]) >= start)
            and (end is None or int(r["createdTime"]) <= end)
            and status in (None, r["orderStatus"])]
    page, cursor = paginate(p, rows, HISTORY_DEFAULT, HISTORY_MAX)
    return {"category": c, "list": page, "nextPageCursor": cursor}


def paginate(p, rows: list, default: int, most: int) -> tuple[list, str]:
    """One page of `rows` (`limit`, Bybit's default and maximum) from `cursor` on, and the
    cursor of the next page ("" after the last). The cursor is the offset, as a string."""
    limit = p.integer("limit", required=False) or default
    if not 1 <= limit <= most:
        raise params_error(f"limit {limit} out of range [1, {most}]")
    cursor = p.text("cursor", required=False) or "0"
    if not cursor.isdigit():
        raise params_error("cursor invalid")
    start = int(cursor)
    end = start + limit
    return rows[start:end], (str(end) if end < len(rows) else "")
