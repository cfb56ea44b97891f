"""Mark vs contract price: the basis, which price each workingType fires on, priceProtect."""

from __future__ import annotations

import dataclasses

import pytest

from system.sim.errors import SimError
from system.sim.model import ZERO
from system.sim.views import account, position_rows
from tests.unit.system.sim.helpers import d, make_engine, stop, trailing


def _mark_stop(**kw):
    return dataclasses.replace(stop(**kw), working_type="MARK_PRICE")


def test_the_mark_sits_at_the_configured_basis_above_the_contract_price():
    eng, _ = make_engine(mark_basis_pct=0.02)

    assert eng.prices["BTCUSDT"] == d(60000) and eng.marks["BTCUSDT"] == d("60012.0")
    eng.set_price("BTCUSDT", d(59000))
    assert eng.marks["BTCUSDT"] == d("59011.8")


def test_a_negative_basis_puts_the_mark_below_and_zero_makes_them_equal():
    below, _ = make_engine(mark_basis_pct=-0.1)
    equal, _ = make_engine(mark_basis_pct=0.0)

    assert below.marks["BTCUSDT"] == d("59940.0") and equal.marks["BTCUSDT"] == d(60000)


def test_set_price_with_an_explicit_mark_sets_both():
    eng, _ = make_engine()

    eng.set_price("BTCUSDT", d(59000), mark=d("58990.05"))

    assert eng.prices["BTCUSDT"] == d(59000) and eng.marks["BTCUSDT"] == d("58990.0")


def test_mark_price_and_contract_price_stops_fire_at_different_moments():
    eng, _ = make_engine()
    eng.place_market("BTCUSDT", "BUY", d("0.020"), "open", False)
    on_mark = eng.place_algo(_mark_stop(qty="0.010", trigger="59000", cid="m"))
    on_last = eng.place_algo(stop(qty="0.010", trigger="59000", cid="c"))

    eng.set_price("BTCUSDT", d(59100), mark=d(58999))  # the mark crosses, the contract not
    assert on_mark.status == "FINISHED" and on_last.status == "NEW"
    assert on_mark.fill_price == d(59100)  # the child is a MARKET order: the last price

    eng.set_price("BTCUSDT", d(58990), mark=d(58990))
    assert on_last.status == "FINISHED"


def test_a_mark_only_move_is_no_tick_for_a_contract_price_order():
    eng, _ = make_engine()
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "open", False)
    on_last = eng.place_algo(stop(trigger="59000"))

    eng.set_mark("BTCUSDT", d(58000))

    assert on_last.status == "NEW" and eng.prices["BTCUSDT"] == d(60000)


def test_placement_checks_minus_2021_against_the_working_type_price():
    eng, _ = make_engine()
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "open", False)
    eng.set_price("BTCUSDT", d(60000), mark=d(59000))

    eng.place_algo(stop(trigger="59500", cid="c"))  # contract 60000 is above: rests
    with pytest.raises(SimError) as ei:  # the mark 59000 is already below
        eng.place_algo(_mark_stop(trigger="59500", cid="m"))

    assert ei.value.code == -2021


def test_a_trailing_stop_on_the_mark_tracks_the_mark_peak():
    eng, _ = make_engine()
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "open", False)
    tr = dataclasses.replace(trailing(rate="1"), working_type="MARK_PRICE")
    a = eng.place_algo(tr)

    eng.set_price("BTCUSDT", d(61000), mark=d(62000))

    assert a.extreme == d(62000) and a.trigger_price == d(61380)
    eng.set_price("BTCUSDT", d(61500), mark=d(61390))
    assert a.status == "NEW"
    eng.set_mark("BTCUSDT", d(61380))
    assert a.status == "FINISHED" and a.fill_price == d(61500)


def test_price_protect_holds_the_trigger_while_mark_and_last_diverge_past_trigger_protect():
    eng, _ = make_engine()
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "open", False)
    a = eng.place_algo(dataclasses.replace(stop(trigger="59000"), price_protect=True))

    eng.set_price("BTCUSDT", d(58000), mark=d(61500))  # 6 % apart, triggerProtect 5 %
    assert a.status == "NEW"
    eng.set_price("BTCUSDT", d(58000), mark=d(58100))
    assert a.status == "FINISHED"


def test_unrealized_pnl_notional_and_margin_are_valued_at_the_mark():
    eng, _ = make_engine(taker_fee_pct=0.0)
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "open", False)

    eng.set_price("BTCUSDT", d(61000), mark=d(61100))

    row = position_rows(eng, "BTCUSDT")[0]
    assert row["markPrice"] == "61100.00" and row["unRealizedProfit"] == "11.00000000"
    assert row["notional"] == "611.00000000"
    assert account(eng)["totalUnrealizedProfit"] == "11.00000000"
    assert eng.ledger.unrealized(eng.marks) == d(11) != ZERO


def test_the_mark_rounds_the_same_whatever_decimal_context_ccxt_left_behind():
    # ccxt's number formatting sets the thread's context to ROUND_HALF_UP; the simulator
    # runs in the same process as ccxt clients (tests, the bench) and must not depend on it.
    import decimal
    eng, _ = make_engine()
    with decimal.localcontext() as ctx:
        ctx.rounding = decimal.ROUND_HALF_UP
        eng.set_price("BTCUSDT", d(59000), mark=d("58990.05"))
    assert eng.marks["BTCUSDT"] == d("58990.0")
