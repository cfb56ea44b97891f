"""Engine additions for the Bybit front: amend in place, position-attached stops, the marks."""

from __future__ import annotations

import dataclasses

import pytest

from system.sim.errors import SimError
from tests.unit.system.sim.helpers import d, make_engine, stop


def _bybit():
    e, clock = make_engine(venue="bybit")
    e.place_market("BTCUSDT", "BUY", d("0.010"), "open", False)
    e.drain()
    return e, clock


def _algo_events(events):
    return [x for x in events if x["e"] == "ALGO_UPDATE"]


def test_amend_moves_the_trigger_in_place_and_marks_the_event():
    e, _ = _bybit()
    a = e.place_algo(dataclasses.replace(stop(), trigger_direction=2))
    e.drain()
    e.amend_algo("BTCUSDT", a.algo_id, None, d("59500"), None)
    [ev] = e.drain()
    assert ev["_amended"] is True and ev["o"]["tp"] == "59500.00" and ev["o"]["X"] == "NEW"
    assert ev["o"]["aid"] == a.algo_id and ev["_trigger_direction"] == 2
    assert e.meter.report(0)["max_gap_ms"] == 0.0


def test_amend_of_an_order_that_no_longer_rests_is_110001_and_changes_nothing():
    e, _ = _bybit()
    a = e.place_algo(dataclasses.replace(stop(), trigger_direction=2))
    e.cancel_algo("BTCUSDT", a.algo_id, None)
    e.drain()
    with pytest.raises(SimError) as exc:
        e.amend_algo("BTCUSDT", a.algo_id, None, d("59500"), None)
    assert exc.value.code == 110001
    assert e.drain() == [] and a.trigger_price == d("59000")


def test_amend_to_a_trigger_behind_the_price_is_110093():
    e, _ = _bybit()
    a = e.place_algo(dataclasses.replace(stop(), trigger_direction=2))
    with pytest.raises(SimError) as exc:
        e.amend_algo("BTCUSDT", a.algo_id, None, d("61000"), None)
    assert exc.value.code == 110093


def test_attached_stop_loss_follows_the_position_and_goes_with_it():
    e, _ = _bybit()
    e.set_trading_stop("BTCUSDT", d("59000"), "MarkPrice", None, None)
    [new, acct] = e.drain()
    assert new["_attached"] == "StopLoss" and new["o"]["q"] == "0.010"
    assert acct["_tpsl"]["BTCUSDT"]["stopLoss"] == "59000.00"
    e.place_market("BTCUSDT", "BUY", d("0.005"), "more", False)
    resized = [x for x in _algo_events(e.drain()) if x.get("_attached")]
    assert [x["o"]["q"] for x in resized] == ["0.015"]
    assert e.meter.report(0)["per_symbol"]["BTCUSDT"]["count_by_kind"] == {
        "opened_uncovered": 1, "coverage_lost": 0}  # only the very first open
    e.place_market("BTCUSDT", "SELL", d("0.015"), "close", True)
    gone = [x for x in _algo_events(e.drain()) if x.get("_attached")]
    assert gone[-1]["o"]["X"] == "CANCELED"
    assert gone[-1]["_cancel_type"] == "CancelByTpSlTsClear"


def test_attached_trailing_stop_trails_by_a_fixed_distance_and_fires():
    e, _ = _bybit()
    e.set_trading_stop("BTCUSDT", None, "", d("300"), None)
    [a] = e.attached_stops("BTCUSDT")
    assert a.trigger_price == d("59700")
    e.set_price("BTCUSDT", d("61000"))
    assert a.trigger_price == d("60700")
    e.drain()
    e.set_price("BTCUSDT", d("60600"))
    assert e.ledger.position("BTCUSDT").amt == 0 and a.status == "FINISHED"
    fills = [x for x in e.drain() if x["e"] == "ORDER_TRADE_UPDATE"]
    assert fills and all(x["_algo_id"] == a.algo_id for x in fills)
    assert all(x["_attached"] == "TrailingStop" for x in fills)


def test_stop_loss_on_the_wrong_side_and_on_a_flat_position_are_refused():
    e, _ = _bybit()
    with pytest.raises(SimError) as exc:
        e.set_trading_stop("BTCUSDT", d("61000"), "LastPrice", None, None)
    assert exc.value.code == 10001 and "should lower base_price" in exc.value.msg
    with pytest.raises(SimError) as exc:
        e.set_trading_stop("ETHUSDT", d("2000"), "LastPrice", None, None)
    assert exc.value.code == 10001
    e.set_trading_stop("BTCUSDT", d("59000"), "LastPrice", None, None)
    with pytest.raises(SimError) as exc:
        e.set_trading_stop("BTCUSDT", d("59000"), "LastPrice", None, None)
    assert exc.value.code == 34040


def test_binance_events_carry_no_marks():
    e, _ = make_engine()
    e.place_market("BTCUSDT", "BUY", d("0.010"), "open", False)
    e.place_algo(stop())
    assert not [k for x in e.drain() for k in x if k.startswith("_")]


def test_an_attached_stop_cancelled_by_an_earlier_trigger_on_the_same_tick_does_not_fire():
    e, _ = _bybit()
    e.place_algo(dataclasses.replace(stop(trigger="59500"), working_type="MARK_PRICE",
                                     trigger_direction=2))
    e.set_trading_stop("BTCUSDT", None, "", d("300"), None)
    [trailing] = e.attached_stops("BTCUSDT")
    e.drain()
    e.set_price("BTCUSDT", d("59400"))
    mine = [x["o"]["X"] for x in e.drain()
            if x["e"] == "ALGO_UPDATE" and x["o"]["aid"] == trailing.algo_id]
    assert mine == ["CANCELED"] and trailing.cancel_type == "CancelByTpSlTsClear"


def test_attached_stops_are_changed_through_trading_stop_not_amend():
    e, _ = _bybit()
    e.set_trading_stop("BTCUSDT", d("59000"), "LastPrice", d("300"), None)
    sl, ts = sorted(e.attached_stops("BTCUSDT"), key=lambda a: a.attached)
    e.amend_algo("BTCUSDT", sl.algo_id, None, d("59100"), None)  # a StopLoss trigger: fine
    assert e.tpsl("BTCUSDT")["stopLoss"] == "59100.00"
    for aid, qty in ((sl.algo_id, d("0.005")), (ts.algo_id, None)):
        with pytest.raises(SimError) as exc:
            e.amend_algo("BTCUSDT", aid, None, d("59200"), qty)
        assert exc.value.code == 10001 and "trading-stop" in exc.value.msg
