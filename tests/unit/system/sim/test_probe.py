"""Probe: what it records from the engine, take() and its bound."""

from __future__ import annotations

import json

import pytest

from system.sim.errors import SimError
from system.sim.probe import Probe
from tests.unit.system.sim.helpers import d, make_engine, stop, trailing


def _long_engine():
    eng, clock = make_engine()
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "open", False)
    eng.probe = Probe()
    return eng, clock


def test_engine_records_accepted_placements_and_cancels_on_its_monotonic_clock():
    eng, clock = _long_engine()
    clock.advance(1500)
    eng.place_algo(stop(trigger="59000", cid="s1"))
    clock.advance(20)
    eng.place_algo(trailing(rate="1", cid="t1"))
    clock.advance(5)
    eng.cancel_algo("BTCUSDT", None, "s1")

    got = eng.probe.take()

    assert got["placements"] == [
        {"symbol": "BTCUSDT", "t_mono": 1.5, "order_type": "STOP_MARKET",
         "trigger_price": "59000.00", "quantity": "0.010", "client_algo_id": "s1"},
        {"symbol": "BTCUSDT", "t_mono": 1.52, "order_type": "TRAILING_STOP_MARKET",
         "trigger_price": "59400.00", "quantity": "0.010", "client_algo_id": "t1"},
    ]
    assert got["cancels"] == [{"symbol": "BTCUSDT", "t_mono": 1.525, "client_algo_id": "s1"}]
    assert got["ticks"] == [] and got["dropped"] == {"ticks": 0, "placements": 0, "cancels": 0}


def test_rejected_placements_and_cancels_are_not_recorded():
    eng, _ = _long_engine()
    with pytest.raises(SimError):
        eng.place_algo(stop(trigger="61000", cid="bad"))  # would trigger at once
    with pytest.raises(SimError):
        eng.cancel_algo("BTCUSDT", None, "nope")

    got = eng.probe.take()

    assert got["placements"] == [] and got["cancels"] == []


def test_engine_without_probe_records_nothing_and_still_works():
    eng, _ = make_engine()
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "open", False)

    a = eng.place_algo(stop(cid="s1"))
    eng.cancel_algo("BTCUSDT", a.algo_id, None)

    assert eng.probe is None and a.status == "CANCELED"


def test_take_returns_json_data_and_clears():
    p = Probe()
    p.tick("BTCUSDT", "60000.00", 1.25)
    p.placed("BTCUSDT", 1.5, "STOP_MARKET", "59000.00", "0.010", "c1")
    p.cancelled("BTCUSDT", 1.75, "c0")

    first = p.take()
    second = p.take()

    assert json.loads(json.dumps(first)) == first
    assert first["ticks"] == [{"symbol": "BTCUSDT", "price": "60000.00", "t_mono": 1.25}]
    assert len(first["placements"]) == 1 and len(first["cancels"]) == 1
    assert second == {"ticks": [], "placements": [], "cancels": [],
                      "dropped": {"ticks": 0, "placements": 0, "cancels": 0}}


def test_memory_is_bounded_and_the_oldest_records_are_dropped_and_counted():
    p = Probe(max_records=3)
    for i in range(5):
        p.tick("BTCUSDT", str(i), float(i))

    got = p.take()

    assert [t["price"] for t in got["ticks"]] == ["2", "3", "4"]
    assert got["dropped"]["ticks"] == 2
    assert p.take()["dropped"]["ticks"] == 0


def test_a_probe_with_no_room_is_refused():
    with pytest.raises(ValueError, match="max_records"):
        Probe(max_records=0)
