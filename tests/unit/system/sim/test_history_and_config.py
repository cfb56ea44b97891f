"""Bounded history, Binance's query horizon, trades, v3 vs v2 rows, position mode, client ids."""

from __future__ import annotations

import pytest

from system.sim.errors import SimError
from system.sim.params import Params
from system.sim.views import account, position_rows, position_rows_v2, symbol_config
from tests.unit.system.sim.helpers import d, make_engine, stop

DAY_MS = 86_400_000


def _code(fn) -> int:
    with pytest.raises(SimError) as ei:
        fn()
    return ei.value.code


def test_history_keeps_at_most_max_history_kept_closed_orders_but_every_open_one():
    eng, _ = make_engine(max_history_kept=3)
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "open", False)
    resting = eng.place_algo(stop(cid="rest"))
    for i in range(5):
        eng.place_algo(stop(cid=f"s{i}", trigger="58000"))
        eng.cancel_algo(None, None, f"s{i}")
    for i in range(4):
        eng.place_market("BTCUSDT", "BUY", d("0.002"), f"m{i}", False)

    assert len(eng.algos) == 3 and resting.algo_id in eng.algos
    assert [a.client_algo_id for a in eng.algos.values()] == ["rest", "s3", "s4"]
    assert len(eng.orders) == 3 and len(eng.trades) == 3


def test_a_cancelled_unfilled_algo_order_is_not_found_after_3_days_a_finished_one_is():
    eng, clock = make_engine()
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "open", False)
    gone = eng.place_algo(stop(cid="gone", trigger="58000"))
    eng.cancel_algo(None, gone.algo_id, None)
    filled = eng.place_algo(stop(cid="filled"))
    eng.set_price("BTCUSDT", d(58900))

    clock.advance(3 * DAY_MS + 1)

    assert _code(lambda: eng.find_algo(None, gone.algo_id, None)) == -2013
    assert eng.find_algo(None, filled.algo_id, None).status == "FINISHED"
    clock.advance(87 * DAY_MS)
    assert _code(lambda: eng.find_algo(None, filled.algo_id, None)) == -2013


def test_a_triggered_stop_leaves_a_trade_under_its_child_order_id():
    eng, _ = make_engine()
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "open", False)
    a = eng.place_algo(stop(trigger="59000"))

    eng.set_price("BTCUSDT", d(58950))

    t = eng.trades[-1]
    assert (t.order_id, t.price, t.qty, t.side) == (a.child_id, d(58950), d("0.010"), "SELL")
    assert t.realized == d("-10.500") and t.time_ms == a.trigger_ms


def test_cancel_all_algos_cancels_only_that_symbols_open_orders():
    eng, _ = make_engine()
    eng.place_algo(stop(cid="b1"))
    eng.place_algo(stop(cid="b2", trigger="58000"))
    eth = eng.place_algo(stop(symbol="ETHUSDT", qty="0.010", trigger="2900", cid="e"))

    gone = eng.cancel_all_algos("BTCUSDT")

    assert sorted(a.client_algo_id for a in gone) == ["b1", "b2"]
    assert [a.algo_id for a in eng.open_algos()] == [eth.algo_id]


def test_v3_lists_a_flat_symbol_with_an_open_algo_order_and_nothing_else():
    eng, _ = make_engine()
    assert position_rows(eng, None) == [] and account(eng)["positions"] == []

    eng.place_algo(stop(symbol="ETHUSDT", qty="0.010", trigger="2900"))
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "open", False)

    assert [(r["symbol"], r["positionAmt"]) for r in position_rows(eng, None)] == [
        ("BTCUSDT", "0.010"), ("ETHUSDT", "0.000")]
    assert [r["symbol"] for r in account(eng)["positions"]] == ["BTCUSDT", "ETHUSDT"]
    assert position_rows(eng, "SOLUSDT") == []
    assert "leverage" not in position_rows(eng, "BTCUSDT")[0]


def test_v2_lists_every_symbol_with_its_configuration_fields():
    eng, _ = make_engine()
    eng.set_leverage("BTCUSDT", 7)

    rows = position_rows_v2(eng, None)

    assert len(rows) == len(eng.markets) and rows[0]["leverage"] == "7"
    assert rows[0]["positionAmt"] == "0.000" and rows[0]["marginType"] == "cross"


def test_symbol_config_carries_what_v3_dropped():
    eng, _ = make_engine(default_leverage=20)
    eng.set_leverage("ETHUSDT", 3)

    rows = {r["symbol"]: r for r in symbol_config(eng, None)}

    assert rows["ETHUSDT"] == {"symbol": "ETHUSDT", "marginType": "CROSSED",
                               "isAutoAddMargin": False, "leverage": 3,
                               "maxNotionalValue": "50000000"}
    assert rows["BTCUSDT"]["leverage"] == 20


def test_position_mode_changes_only_when_nothing_is_open():
    eng, _ = make_engine()
    assert _code(lambda: eng.set_dual_side(False)) == -4059
    eng.place_algo(stop())
    assert _code(lambda: eng.set_dual_side(True)) == -4067
    eng.cancel_all_algos("BTCUSDT")
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "open", False)
    assert _code(lambda: eng.set_dual_side(True)) == -4068
    eng.place_market("BTCUSDT", "SELL", d("0.010"), "close", True)

    eng.set_dual_side(True)

    assert eng.dual_side is True


@pytest.mark.parametrize("cid", ["a", "pg-3-BTCUSDT-stop-12", "x-cvBPrNm9.7:b/8_", "A" * 36])
def test_client_ids_binance_allows_pass(cid):
    assert Params({"newClientOrderId": cid}).client_id("newClientOrderId") == cid


@pytest.mark.parametrize("cid", ["A" * 37, "a b", "a+b", "é", "a\nb", "a#b", "a%b", "a,b"])
def test_client_ids_outside_binances_rule_are_minus_1100(cid):
    with pytest.raises(SimError) as ei:
        Params({"clientAlgoId": cid}).client_id("clientAlgoId")

    assert ei.value.code == -1100
    assert ei.value.msg == ("Illegal characters found in parameter 'clientAlgoId'; legal "
                            "range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")
