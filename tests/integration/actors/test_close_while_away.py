"""A stop fires while posguard is stopped: after the restart the journal says which, at what
price and when, from the exchange's history (real actor processes, simulator, SQLite)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from tests.fixtures.engine import engine_config, start_engine, stop_engine
from tests.waiting import wait_for

FIRED, CLOSED_BY_HAND = "BTCUSDT", "ETHUSDT"


def _closing_fill(control: Any, symbol: str, side: str) -> dict | None:
    return next((f for f in control.state()["fills"]
                 if f["symbol"] == symbol and f["side"] == side), None)


def test_a_stop_that_fired_while_posguard_was_stopped_is_journaled_with_its_fill(
        tmp_path, sim, sim_control, ccxt_sync):
    sim_control.set_price(FIRED, "60000")
    sim_control.set_price(CLOSED_BY_HAND, "3000")
    engine = start_engine(engine_config(tmp_path, sim), sim_control)
    try:
        engine.open(FIRED, "long", "0.010", "cmd-fired")
        engine.open(CLOSED_BY_HAND, "short", "0.100", "cmd-by-hand")
        fired = engine.wait_state(FIRED, "PROTECTED")
        by_hand = engine.wait_state(CLOSED_BY_HAND, "PROTECTED")
    finally:
        stop_engine(engine)

    # While posguard is stopped: BTCUSDT falls through its stop, which fires on the exchange;
    # ETHUSDT is closed by someone else (a market buy), so none of our stops explains it.
    sim_control.set_price(FIRED, str(Decimal(fired.stop_price) - 100))
    fill = wait_for(lambda: _closing_fill(sim_control, FIRED, "SELL"), 20, "the stop's fill")
    ccxt_sync.create_order("ETH/USDT:USDT", "market", "buy", 0.1, None, {"reduceOnly": True})

    engine = start_engine(engine_config(tmp_path, sim), sim_control)
    try:
        engine.wait_state(FIRED, "FLAT")
        engine.wait_state(CLOSED_BY_HAND, "FLAT")
        rows = {s: wait_for(lambda s=s: [r for r in engine.journal(s)
                                         if r.kind == "closed_while_away"], 20, f"{s}'s close")
                for s in (FIRED, CLOSED_BY_HAND)}
        # ETHUSDT's stop, left resting by the close, is cancelled by the reconcile.
        wait_for(lambda: not [o for o in sim_control.state()["open_algo_orders"]
                              if o["symbol"] == CLOSED_BY_HAND], 20, "the leftover stop's cancel")
    finally:
        stop_engine(engine)

    (row,) = rows[FIRED]
    p = row.payload
    assert p["explained"] is True and p["cause"] == "stop_filled", p
    assert p["client_id"] == fired.stop_client_id and p["algo_id"] == fired.stop_order_id
    assert Decimal(p["price"]) == Decimal(fill["price"]), (p, fill)
    assert Decimal(p["qty"]) == Decimal(fill["qty"]) and p["fill_time_ms"] == fill["time"]
    assert Decimal(p["pnl"]) == Decimal(fill["realized_pnl"])
    assert (p["had_side"], p["had_qty"]) == ("LONG", "0.010")

    (row,) = rows[CLOSED_BY_HAND]
    p = row.payload
    assert p["explained"] is False and p["cause"] == "unexplained", p
    assert "price" not in p and "pnl" not in p and "fill_time_ms" not in p
    assert by_hand.stop_client_id in p["why"] and "NEW" in p["why"], p["why"]
