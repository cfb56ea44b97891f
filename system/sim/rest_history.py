"""History reads: GET /fapi/v1/allAlgoOrders and GET /fapi/v1/userTrades.

What happened while a client was away: every algo order (open, cancelled, triggered,
finished, expired) with the child order it became (`actualOrderId`), and every fill with
its order id, so a stop's fill price and time are found from its algo order. Both are
bounded by `max_history_kept` and by Binance's visibility rules (engine.visible).
"""

from __future__ import annotations

from system.sim import rest_common as rc
from system.sim.errors import SimError
from system.sim.params import Params
from system.sim.replies import algo_reply, trade_reply

TRADES_HORIZON_MS = 90 * rc.DAY_MS
"""userTrades reaches back 3 months."""


def h_all_algo_orders(sim, p: Params):
    """GET /fapi/v1/allAlgoOrders: algoId anchors (>= it, oldest first), else most recent."""
    sym = rc.symbol(sim, p)
    aid = p.integer("algoId", required=False)
    w = rc.window(sim, p, default_recent=aid is None)
    e = sim.engine
    rows = [a for a in e.algos.values()
            if a.symbol == sym and w.start_ms <= a.create_ms <= w.end_ms
            and (aid is None or a.algo_id >= aid)
            and e.visible(a.create_ms, a.status, a.fill_qty > 0)]
    rows = rows[:w.limit] if aid is not None else rows[-w.limit:]
    m = e.markets[sym]
    return [algo_reply(a, m, "list") for a in rows]


def h_user_trades(sim, p: Params):
    """GET /fapi/v1/userTrades: fills of a symbol (by orderId, fromId or time window)."""
    sym = rc.symbol(sim, p)
    oid = p.integer("orderId", required=False)
    from_id = p.integer("fromId", required=False)
    if from_id is not None and (p.has("startTime") or p.has("endTime")):
        raise SimError(-1128, "Combination of optional parameters invalid.")
    anchored = from_id is not None or oid is not None
    w = rc.window(sim, p, default_recent=not anchored)
    oldest = sim.clock.now_ms() - TRADES_HORIZON_MS
    rows = [t for t in sim.engine.trades
            if t.symbol == sym and t.time_ms >= oldest
            and w.start_ms <= t.time_ms <= w.end_ms
            and (oid is None or t.order_id == oid)
            and (from_id is None or t.trade_id >= from_id)]
    rows = rows[:w.limit] if from_id is not None else rows[-w.limit:]
    m = sim.engine.markets[sym]
    return [trade_reply(t, m) for t in rows]
