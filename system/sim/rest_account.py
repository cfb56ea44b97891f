"""REST handlers: market data, account and position reads, account configuration, listenKey.

Each handler takes (sim, Params) and returns the JSON reply or raises SimError.
"""

from __future__ import annotations

from system.sim import markets as mk
from system.sim import rest_common as rc
from system.sim import views
from system.sim.params import Params


def h_ping(sim, p: Params):
    """GET /fapi/v1/ping."""
    return {}


def h_time(sim, p: Params):
    """GET /fapi/v1/time."""
    return {"serverTime": sim.clock.now_ms()}


def h_exchange_info(sim, p: Params):
    """GET /fapi/v1/exchangeInfo."""
    st = sim.settings
    return mk.exchange_info(sim.engine.markets, sim.clock.now_ms(), st.request_weight_per_min,
                            st.orders_per_min, st.orders_per_10s)


def h_premium_index(sim, p: Params):
    """GET /fapi/v1/premiumIndex: the mark; the index is modelled equal to the mark."""
    sym = rc.symbol(sim, p, required=False)
    now = sim.clock.now_ms()
    e = sim.engine
    rows = []
    for s, m in e.markets.items():
        if sym in (None, s):
            mark = m.fmt_price(e.marks[s])
            rows.append({"symbol": s, "markPrice": mark, "indexPrice": mark,
                         "estimatedSettlePrice": mark, "lastFundingRate": "0.00010000",
                         "interestRate": "0.00010000", "nextFundingTime":
                         (now // 28_800_000 + 1) * 28_800_000, "time": now})
    return rows[0] if sym else rows


def h_account_v3(sim, p: Params):
    """GET /fapi/v3/account."""
    return views.account(sim.engine)


def h_account_v2(sim, p: Params):
    """GET /fapi/v2/account."""
    return views.account_v2(sim.engine, sim.settings.futures_trading_enabled)


def h_position_risk_v3(sim, p: Params):
    """GET /fapi/v3/positionRisk: live symbols only; a symbol never traded is []."""
    return views.position_rows(sim.engine, rc.symbol(sim, p, required=False))


def h_position_risk_v2(sim, p: Params):
    """GET /fapi/v2/positionRisk: every symbol (or the one asked for)."""
    return views.position_rows_v2(sim.engine, rc.symbol(sim, p, required=False))


def h_leverage_bracket(sim, p: Params):
    """GET /fapi/v1/leverageBracket (a list, also with a symbol: the SDK accepts both)."""
    sym = rc.symbol(sim, p, required=False)
    return [mk.leverage_bracket(m) for s, m in sim.engine.markets.items() if sym in (None, s)]


def h_set_leverage(sim, p: Params):
    """POST /fapi/v1/leverage."""
    sym = rc.symbol(sim, p)
    lev = p.integer("leverage")
    sim.engine.set_leverage(sym, lev)
    return {"leverage": lev, "maxNotionalValue": views.MAX_NOTIONAL, "symbol": sym}


def h_symbol_config(sim, p: Params):
    """GET /fapi/v1/symbolConfig: leverage, marginType, isAutoAddMargin, maxNotionalValue."""
    return views.symbol_config(sim.engine, rc.symbol(sim, p, required=False))


def h_account_config(sim, p: Params):
    """GET /fapi/v1/accountConfig: canTrade, dualSidePosition, multiAssetsMargin, ..."""
    return views.account_config(sim.engine, sim.settings.futures_trading_enabled)


def h_get_dual(sim, p: Params):
    """GET /fapi/v1/positionSide/dual."""
    return {"dualSidePosition": sim.engine.dual_side}


def h_set_dual(sim, p: Params):
    """POST /fapi/v1/positionSide/dual {dualSidePosition: true|false}."""
    p.text("dualSidePosition")  # -1102 when missing
    sim.engine.set_dual_side(p.boolean("dualSidePosition"))
    return {"code": 200, "msg": "success"}


def h_listen_key_new(sim, p: Params):
    """POST /fapi/v1/listenKey."""
    return {"listenKey": sim.users.create_key()}


def h_listen_key_keep(sim, p: Params):
    """PUT /fapi/v1/listenKey."""
    sim.users.extend_key()
    return {"listenKey": sim.users.key}


def h_listen_key_delete(sim, p: Params):
    """DELETE /fapi/v1/listenKey."""
    sim.users.delete_key()
    return {}
