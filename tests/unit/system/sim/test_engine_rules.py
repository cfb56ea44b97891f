"""Order rules of the engine: precision, notional, margin, reduce-only, duplicates, fills."""

from __future__ import annotations

import pytest

from system.sim.errors import SimError
from system.sim.pricepath import CsvReplay, RandomWalk
from tests.unit.system.sim.helpers import d, make_engine, stop, trailing


def _code(fn) -> int:
    with pytest.raises(SimError) as ei:
        fn()
    return ei.value.code


def test_market_order_fills_at_current_price_and_charges_the_fee():
    eng, _ = make_engine(taker_fee_pct=0.05)
    o = eng.place_market("BTCUSDT", "BUY", d("0.010"), "c", False)
    assert o.status == "FILLED" and o.avg_price == d(60000)
    assert eng.ledger.wallet == d(10000) - d("0.3")  # 600 USDT notional x 0.05 %


def test_closing_a_long_realizes_pnl():
    eng, _ = make_engine(taker_fee_pct=0.0)
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "c", False)
    eng.set_price("BTCUSDT", d(61000))
    eng.place_market("BTCUSDT", "SELL", d("0.010"), "c2", True)
    p = eng.ledger.position("BTCUSDT")
    assert p.amt == 0 and p.realized == d(10) and eng.ledger.wallet == d(10010)


@pytest.mark.parametrize("qty,code", [("0.0015", -1111), ("0", -4003), ("0.001", -4164)])
def test_bad_quantities_are_rejected(qty, code):
    eng, _ = make_engine()
    assert _code(lambda: eng.place_market("BTCUSDT", "BUY", d(qty), "c", False)) == code


def test_stop_price_off_tick_is_rejected():
    eng, _ = make_engine()
    assert _code(lambda: eng.place_algo(stop(trigger="59000.05"))) == -4014


def test_margin_insufficient_for_leverage():
    eng, _ = make_engine(starting_balance_usdt=100.0)
    eng.set_leverage("BTCUSDT", 1)
    assert _code(lambda: eng.place_market("BTCUSDT", "BUY", d("0.010"), "c", False)) == -2019


def test_reduce_only_never_increases_a_position():
    eng, _ = make_engine()
    assert _code(lambda: eng.place_market("BTCUSDT", "SELL", d("0.010"), "c", True)) == -2022
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "c", False)
    assert _code(lambda: eng.place_market("BTCUSDT", "BUY", d("0.010"), "c2", True)) == -2022
    assert _code(lambda: eng.place_algo(stop(side="BUY", trigger="61000"))) == -2022
    o = eng.place_market("BTCUSDT", "SELL", d("0.050"), "c3", True)  # trimmed, not flipped
    assert o.executed_qty == d("0.010") and eng.ledger.position("BTCUSDT").amt == 0


def test_one_close_position_stop_per_direction():
    eng, _ = make_engine()
    eng.place_algo(stop(trigger="59000", close_position=True, cid="a"))
    assert _code(lambda: eng.place_algo(stop(trigger="58000", close_position=True,
                                             cid="b"))) == -4130
    eng.place_algo(stop(side="BUY", trigger="61000", close_position=True, cid="c"))


def test_duplicate_client_algo_id_among_open_orders():
    eng, _ = make_engine()
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "c", False)
    eng.place_algo(stop(cid="same"))
    assert _code(lambda: eng.place_algo(trailing(cid="same"))) == -4116


def test_cancel_unknown_or_filled_order_is_2011():
    eng, _ = make_engine()
    o = eng.place_market("BTCUSDT", "BUY", d("0.010"), "c", False)
    assert _code(lambda: eng.cancel_order("BTCUSDT", o.order_id, None)) == -2011
    assert _code(lambda: eng.cancel_algo("BTCUSDT", 1, None)) == -2011
    assert _code(lambda: eng.find_algo("BTCUSDT", 1, None)) == -2013


def test_unknown_symbol_is_1121():
    eng, _ = make_engine()
    assert _code(lambda: eng.place_market("NOPEUSDT", "BUY", d(1), "c", False)) == -1121


def test_partial_fill_completes_after_the_delay():
    eng, clock = make_engine()
    eng.arm_partial("BTCUSDT", 0.4, 300)
    o = eng.place_market("BTCUSDT", "BUY", d("0.010"), "c", False)
    assert o.status == "PARTIALLY_FILLED" and o.executed_qty == d("0.004")
    assert [x.order_id for x in eng.open_orders()] == [o.order_id]
    clock.advance(299)
    eng.run_due()
    assert o.status == "PARTIALLY_FILLED"
    clock.advance(1)
    eng.run_due()
    assert o.status == "FILLED" and eng.ledger.position("BTCUSDT").amt == d("0.010")


def test_stop_fill_emits_events_in_documented_order():
    eng, _ = make_engine()
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "c", False)
    eng.place_algo(stop(trigger="59000"))
    eng.drain()
    eng.set_price("BTCUSDT", d(58990))
    seq = [(e["e"], e["o"]["X"] if "o" in e else e["a"]["m"] if "a" in e else "")
           for e in eng.drain()]
    assert seq == [("ALGO_UPDATE", "TRIGGERING"), ("ALGO_UPDATE", "TRIGGERED"),
                   ("ORDER_TRADE_UPDATE", "NEW"), ("TRADE_LITE", ""),
                   ("ORDER_TRADE_UPDATE", "FILLED"), ("ACCOUNT_UPDATE", "ORDER"),
                   ("ALGO_UPDATE", "FINISHED")]


def test_market_order_emits_new_trade_account_update():
    eng, _ = make_engine()
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "c", False)
    seq = [(e["e"], e["o"]["x"] if "o" in e else "") for e in eng.drain()]
    assert seq == [("ORDER_TRADE_UPDATE", "NEW"), ("TRADE_LITE", ""),
                   ("ORDER_TRADE_UPDATE", "TRADE"), ("ACCOUNT_UPDATE", "")]


def test_random_walk_is_reproducible_from_the_seed():
    prices = {"A": d(100), "B": d(5)}
    a, b = RandomWalk(7, 1.0), RandomWalk(7, 1.0)
    pa, pb = prices, prices
    for _ in range(20):
        pa, pb = a.step(pa), b.step(pb)
    assert pa == pb and pa != prices


def test_csv_replay_moves_all_symbols_by_ratio_and_sets_named_ones(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("timestamp,price,symbol\n1,100\n2,110\n3,0.5,XRPUSDT\n")
    r = CsvReplay(str(f))
    starts = {"BTCUSDT": d(60000), "XRPUSDT": d(1)}
    p1 = r.step(starts, starts)
    p2 = r.step(p1, starts)
    p3 = r.step(p2, starts)
    assert p1 == starts and p2["BTCUSDT"] == d(66000) and p3["XRPUSDT"] == d("0.5")
    assert r.step(p3, starts) == p3  # the end of the file holds the last prices
