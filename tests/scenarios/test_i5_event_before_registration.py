"""I-5 (SKLUSDT, amount 308): the stream reports the fill before the open is registered.

The open's REST reply is withheld (timeout_next); its fill reaches the actor first on the
stream, in every arrangement the simulator can make of the three events, and is applied: the
position is protected, nothing is rolled back. The arrangement in exchange order is
tests/integration/actors/test_symbol_actor.py
(test_account_update_before_the_open_reply_is_applied_not_dropped); an event for a symbol
with no actor at all on the running system is tests/integration/system/test_running_system.py
(test_an_event_for_a_symbol_without_an_actor_...). Here: the orders that test does not cover,
and the incident's own first event, an ACCOUNT_UPDATE for a symbol posguard never saw.

Both run on every venue (`venue` fixture). The simulator's stream faults count engine events,
which each front translates, so the arrangements are the same on Bybit: the market order's
order New, execution + order Filled, then position + wallet; "account update" is Bybit's
position push. The foreign order is placed with the venue's own unmodified ccxt client.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import pytest

from tests.fixtures.sim import bybit_ccxt_config, point_ccxt_bybit
from venues.binance.ccxt_factory import make_binanceusdm

SYM, QTY = "SKLUSDT", "308"


def _orders(sim: Any, symbol: str) -> list[tuple[str, str, bool]]:
    """Every plain order the simulator accepted for `symbol`: (client id, status, reduce)."""
    return sim.call(lambda s: [(o.client_id, o.status, o.reduce_only)
                               for o in s.engine.orders.values() if o.symbol == symbol])


def _truth(engine: Any, symbol: str) -> tuple[Decimal, list[dict], list[dict]]:
    """(position amount, resting stops, fills) on the exchange."""
    st = engine.control.state()
    amount = sum((Decimal(p["positionAmt"]) for p in st["positions"] if p["symbol"] == symbol),
                 Decimal(0))
    return (amount, [o for o in st["open_algo_orders"] if o["symbol"] == symbol],
            [f for f in st["fills"] if f["symbol"] == symbol])


def _account_update_first(control: Any) -> None:
    # NEW, TRADE_LITE, TRADE, ACCOUNT_UPDATE -> ACCOUNT_UPDATE, TRADE, TRADE_LITE, NEW
    control.reorder_events(4)


def _only_the_account_update(control: Any) -> None:
    control.drop_events(3)  # the two ORDER_TRADE_UPDATEs (and the TRADE_LITE) never arrive


def _only_the_order_events(control: Any) -> None:
    control.delay_events(3, 1)  # NEW, TRADE_LITE, TRADE as usual (a fault must cover them)
    control.drop_events(1)      # ... and the ACCOUNT_UPDATE is lost


@pytest.mark.parametrize("arrangement", [_account_update_first, _only_the_account_update,
                                         _only_the_order_events],
                         ids=["account-update-first", "only-account-update",
                              "only-order-events"])
def test_fill_events_before_the_open_reply_are_applied_and_nothing_is_rolled_back(
        engine, sim, venue, arrangement):
    engine.register(SYM)
    engine.wait_state(SYM, "FLAT")
    venue.timeout_next(engine.control, venue.place_market, hold_ms=3000)
    arrangement(engine.control)

    result = engine.open(SYM, "long", QTY, "cmd-i5")

    assert result.outcome == "accepted"
    engine.wait_state(SYM, "PROTECTED", timeout_secs=20)
    # The withheld reply times out, the open is looked up by its client id and only confirmed:
    # this is where the original bot rolled the position back.
    engine.wait_for(lambda: "open_confirmed" in engine.journal_kinds(SYM),
                    "the withheld reply to be resolved", 20)
    amount, stops, fills = _truth(engine, SYM)
    assert amount == Decimal(QTY)
    assert len(stops) == 1 and stops[0]["side"] == "SELL"
    assert len(fills) == 1, f"exactly one fill, the open: {fills}"
    assert [(status, reduce) for _, status, reduce in _orders(sim, SYM)] == [("FILLED", False)]
    rows = engine.journal(SYM)
    kinds = [r.kind for r in rows]
    filled = [r for r in rows if r.kind == "open_filled"]
    assert len(filled) == 1 and filled[0].payload["source"].startswith("stream:")
    assert kinds.index("open_filled") < kinds.index("open_outcome_unknown"), kinds
    assert not {"close_requested", "closed_at_market", "open_rejected",
                "open_not_placed"} & set(kinds), kinds
    assert engine.view(SYM).state == "PROTECTED"


def _foreign_client(sim: Any, venue: Any) -> Any:
    """The venue's own ccxt client (sync) on the simulator, markets loaded: not posguard."""
    s = sim.settings
    if venue.name == "bybit":
        ex = point_ccxt_bybit(ccxt.bybit(bybit_ccxt_config(s.api_key, s.api_secret)), sim.url)
    else:
        ex = make_binanceusdm(sim.url, s.api_key, s.api_secret, timeout_ms=5000)
    ex.load_markets()
    return ex


def test_account_update_for_a_symbol_never_seen_creates_its_actor_and_is_protected(
        engine, sim, venue):
    client = _foreign_client(sim, venue)
    assert engine.address(SYM) is None
    engine.control.reorder_events(4)  # as in the incident, the ACCOUNT_UPDATE comes first

    client.create_order("SKL/USDT:USDT", "market", "sell", int(QTY))  # not posguard's

    view = engine.wait_state(SYM, "PROTECTED", timeout_secs=20)
    assert (view.side, Decimal(view.qty)) == ("short", Decimal(QTY))
    amount, stops, fills = _truth(engine, SYM)
    assert amount == -Decimal(QTY) and len(fills) == 1
    assert [s["side"] for s in stops] == ["BUY"]
    orders = _orders(sim, SYM)
    assert len(orders) == 1 and not orders[0][0].startswith("pg-"), f"ours: {orders}"
    rows = engine.journal(SYM)
    # The stream event created the actor (no sweep, no reconnect could have: the first row
    # names it), and the position it reported was adopted and protected.
    assert rows[0].kind == "recovery_started" and rows[0].payload["reason"] == "stream event"
    assert [r.kind for r in rows].count("position_adopted") == 1
    assert next(r for r in rows if r.kind == "position_adopted").payload["amount"] == f"-{QTY}"
    user = next(s for s in engine.status().streams if s.kind == "user")
    assert user.reconnects == 0
