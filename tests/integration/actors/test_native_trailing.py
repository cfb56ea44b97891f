"""Native trailing in real actor processes against the simulator and a real store (issue 4).

`protection.trailing.mode: native`: the fixed STOP_MARKET at the initial stop rests as the hard
floor and the exchange's TRAILING_STOP_MARKET rests beside it. Every test checks the
simulator's state (`/_sim/state`), not only the actor's view.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from actors.messages import ReconcileRequest
from tests.fixtures.engine import engine_config, start_engine, stop_engine
from tests.waiting import wait_for

NATIVE = "protection.trailing.mode=native"
D = Decimal


def _algos(state: dict, symbol: str) -> list[dict]:
    return [o for o in state["open_algo_orders"] if o["symbol"] == symbol]


def _by_type(state: dict, symbol: str, order_type: str) -> list[dict]:
    return [o for o in _algos(state, symbol) if o["orderType"] == order_type]


def _position(state: dict, symbol: str) -> Decimal:
    return sum((D(p["positionAmt"]) for p in state["positions"] if p["symbol"] == symbol),
               D(0))


def _wait_truth(control, pred, what: str, timeout_secs: float = 10.0) -> dict:
    """Poll the simulator's state until `pred(state)` holds."""
    return wait_for(pred, timeout_secs, f"simulator: {what}", sample=control.state)


def _open_native(engine, sym: str, qty: str, command_id: str):
    """Open a long and wait until both the fixed stop and the trailing order rest."""
    assert engine.open(sym, "long", qty, command_id).outcome == "accepted"
    return engine.wait(sym, lambda v: v.state == "PROTECTED" and v.trailing_order_id
                       is not None, "the fixed stop and the trailing order")


@pytest.mark.engine_config(NATIVE)
def test_open_rests_a_fixed_stop_and_an_exchange_trailing_stop(engine):
    sym = "BTCUSDT"
    engine.control.set_price(sym, "60000")

    view = _open_native(engine, sym, "0.010", "cmd-native-open")

    truth = engine.control.state()
    assert len(_algos(truth, sym)) == 2
    (stop,) = _by_type(truth, sym, "STOP_MARKET")
    (trail,) = _by_type(truth, sym, "TRAILING_STOP_MARKET")
    assert (stop["clientAlgoId"], str(stop["algoId"])) == (view.stop_client_id,
                                                          view.stop_order_id)
    assert D(stop["triggerPrice"]) == D("58800") and stop["reduceOnly"] is True
    assert (trail["clientAlgoId"], str(trail["algoId"])) == (view.trailing_client_id,
                                                            view.trailing_order_id)
    assert trail["clientAlgoId"].startswith("pg-main-1-BTCUSDT-tr-")
    assert trail["side"] == "SELL" and trail["reduceOnly"] is True
    assert D(trail["quantity"]) == D("0.010")
    assert D(trail["callbackRate"]) == D("0.5") == D(view.trailing_callback_pct)
    assert D(trail["activatePrice"]) == D("60600") == D(view.trailing_activate_price)
    per = truth["unprotected"]["per_symbol"][sym]
    assert per.get("total_ms_by_kind", {}).get("coverage_lost", 0) == 0


@pytest.mark.engine_config(NATIVE)
def test_price_runs_up_then_falls_by_the_callback_and_the_exchange_closes_the_position(
        engine):
    sym = "ETHUSDT"
    engine.control.set_price(sym, "3000")
    view = _open_native(engine, sym, "0.100", "cmd-native-fill")
    assert D(view.trailing_activate_price) == D("3030")

    engine.control.set_price(sym, "3040")  # past activation: the exchange starts trailing
    engine.control.set_price(sym, "3100")  # new peak: the trailing stop is at 3084.50
    engine.control.set_price(sym, "3080")  # 0.65 % below the peak: it fires

    flat = engine.wait_state(sym, "FLAT")
    truth = _wait_truth(engine.control, lambda s: _algos(s, sym) == [],
                        "the fixed stop to be cancelled")
    assert _position(truth, sym) == 0 and flat.trailing_order_id is None
    fills = [f for f in truth["fills"] if f["symbol"] == sym]
    assert len(fills) == 2, f"the open and the trailing stop's fill, nothing else: {fills}"
    kinds = engine.journal_kinds(sym)
    filled = engine.journal(sym)[kinds.index("trailing_filled")]
    assert filled.payload["client_id"] == view.trailing_client_id
    assert kinds[kinds.index("trailing_filled"):].count("stop_cancelled") == 1


def test_restart_restores_the_trailing_order_from_the_snapshot_without_a_second_one(
        tmp_path, sim, sim_control):
    sym = "SOLUSDT"
    engine = start_engine(engine_config(tmp_path, sim, NATIVE), sim_control)
    try:
        before = _open_native(engine, sym, "1.00", "cmd-native-restart")
    finally:
        stop_engine(engine)

    engine = start_engine(engine_config(tmp_path, sim, NATIVE), sim_control)  # same store
    try:
        after = engine.wait(sym, lambda v: v.state == "PROTECTED" and v.trailing_order_id
                            is not None, "recovery")
        truth = sim_control.state()
        recovery = [r for r in engine.journal(sym) if r.kind == "reconciled_protected"]
    finally:
        stop_engine(engine)

    assert (after.trailing_order_id, after.trailing_client_id, after.trailing_callback_pct,
            after.trailing_activate_price) == (before.trailing_order_id,
                                               before.trailing_client_id,
                                               before.trailing_callback_pct,
                                               before.trailing_activate_price)
    assert (after.stop_order_id, after.stop_price) == (before.stop_order_id, before.stop_price)
    (trail,) = _by_type(truth, sym, "TRAILING_STOP_MARKET")
    assert str(trail["algoId"]) == before.trailing_order_id
    assert len(_by_type(truth, sym, "STOP_MARKET")) == 1
    assert recovery and recovery[-1].payload.get("trailing") == "kept"


@pytest.mark.engine_config(NATIVE)
def test_a_trailing_order_cancelled_on_the_exchange_is_placed_again_by_reconcile(
        engine, ccxt_sync):
    sym = "BNBUSDT"
    engine.control.set_price(sym, "600")
    before = _open_native(engine, sym, "1.00", "cmd-native-lost")
    # The exchange cancels it and the actor does not hear of it (the event is lost)
    engine.control.drop_events(count=1)
    ccxt_sync.cancel_order(before.trailing_order_id, "BNB/USDT:USDT", {"trigger": True})
    assert _by_type(engine.control.state(), sym, "TRAILING_STOP_MARKET") == []

    reply = engine.kernel.asys.ask(engine.address(sym), ReconcileRequest(sym, "test"),
                                   timedelta(seconds=10))
    assert reply is not None and reply.outcome == "accepted"
    after = engine.wait(sym, lambda v: v.state == "PROTECTED" and v.trailing_order_id
                        not in (None, before.trailing_order_id), "a new trailing order")

    truth = engine.control.state()
    (trail,) = _by_type(truth, sym, "TRAILING_STOP_MARKET")
    assert trail["clientAlgoId"] == after.trailing_client_id != before.trailing_client_id
    assert D(trail["quantity"]) == D("1.00") and trail["reduceOnly"] is True
    (stop,) = _by_type(truth, sym, "STOP_MARKET")
    assert stop["clientAlgoId"] == before.stop_client_id  # the hard floor never moved
    assert "trailing_restored_on_reconcile" in engine.journal_kinds(sym)


@pytest.mark.engine_config(NATIVE)
def test_a_trailing_order_cancelled_on_the_exchange_is_placed_again_from_the_stream(
        engine, ccxt_sync):
    sym = "XRPUSDT"
    price = D(engine.control.state()["prices"][sym])
    qty = str((D(100) / price).quantize(D(1)) + 1)
    before = _open_native(engine, sym, qty, "cmd-native-stream")

    ccxt_sync.cancel_order(before.trailing_order_id, "XRP/USDT:USDT", {"trigger": True})

    after = engine.wait(sym, lambda v: v.trailing_order_id not in (None,
                                                                   before.trailing_order_id),
                        "a new trailing order")
    truth = engine.control.state()
    (trail,) = _by_type(truth, sym, "TRAILING_STOP_MARKET")
    assert trail["clientAlgoId"] == after.trailing_client_id
    assert "trailing_lost" in engine.journal_kinds(sym)
