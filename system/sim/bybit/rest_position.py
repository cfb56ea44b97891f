"""Bybit position routes: list, trading-stop (position-attached stops), leverage, mode."""

from __future__ import annotations

from decimal import Decimal

from system.sim.bybit import replies as R
from system.sim.bybit.errors import BybitError, params_error
from system.sim.bybit.rest_market import LINEAR, category, symbol
from system.sim.bybit.rest_orders import paginate
from system.sim.engine_attached import TRIGGER_BY

MAX_LEVERAGE = 100
POSITIONS_DEFAULT, POSITIONS_MAX = 20, 200
"""position/list's `limit` (position.mdx)."""


def h_positions(sim, p):
    """GET /v5/position/list: by symbol (a flat row too) or by settleCoin (size > 0 only)."""
    c = category(p)
    sym = symbol(sim, p, required=False)
    if sym is None and not p.has("settleCoin") and c == LINEAR:
        raise params_error("symbol or settleCoin is required")
    e, now = sim.engine, sim.clock.now_ms()
    if c != LINEAR:
        rows = []
    elif sym is not None:
        rows = [R.position(e, sym, now)]
    else:
        rows = [R.position(e, s, now) for s in e.markets
                if e.ledger.positions.get(s) is not None and e.ledger.positions[s].amt]
    page, cursor = paginate(p, rows, POSITIONS_DEFAULT, POSITIONS_MAX)
    return {"category": c, "list": page, "nextPageCursor": cursor}


def h_trading_stop(sim, p):
    """POST /v5/position/trading-stop, Full mode: stopLoss and trailingStop (+activePrice)."""
    category(p, allow_empty=False)
    sym = symbol(sim, p)
    if p.has("positionIdx") and p.integer("positionIdx") != 0:
        raise params_error("position idx not match position mode")
    mode = p.text("tpslMode", required=False) or "Full"
    if mode != "Full":
        raise params_error(f"tpslMode {mode} is not simulated (Full only)")
    if p.has("takeProfit") and p.decimal("takeProfit") != 0:
        raise params_error("takeProfit is not simulated")
    if (p.text("slOrderType", required=False) or "Market") != "Market":
        raise params_error("slOrderType Limit is not simulated")
    by = p.text("slTriggerBy", required=False) or "LastPrice"
    if by not in TRIGGER_BY:
        raise params_error(f"slTriggerBy {by} is not simulated (MarkPrice | LastPrice)")
    sl, ts = p.decimal("stopLoss", required=False), p.decimal("trailingStop", required=False)
    if sl is None and ts is None:
        raise params_error("stopLoss or trailingStop is required")
    active = p.decimal("activePrice", required=False)
    sim.engine.set_trading_stop(sym, sl, by, ts, active)
    return {}


def h_set_leverage(sim, p):
    """POST /v5/position/set-leverage: one-way mode, buy and sell leverage equal, whole x."""
    category(p, allow_empty=False)
    sym = symbol(sim, p)
    buy, sell = p.decimal("buyLeverage"), p.decimal("sellLeverage")
    if buy != sell:
        raise params_error("buyLeverage must equal sellLeverage in one-way mode")
    if buy != buy.to_integral_value() or not 1 <= buy <= MAX_LEVERAGE:
        raise params_error(f"leverage {buy} invalid: whole numbers 1..{MAX_LEVERAGE} "
                           "in the simulator")
    if Decimal(sim.engine.ledger.leverage_of(sym)) == buy:
        raise BybitError(110043, "Set leverage has not been modified.")
    sim.engine.set_leverage(sym, int(buy))
    return {}


def h_switch_mode(sim, p):
    """POST /v5/position/switch-mode: the simulator is one-way (mode 0) only."""
    category(p, allow_empty=False)
    mode = p.integer("mode")
    if mode == 0:
        raise BybitError(110025, "Position mode has not been modified.")
    raise params_error("hedge mode (3) is not simulated")
