"""Stop and trailing-stop triggering over price paths, long and short (engine, manual clock)."""

from __future__ import annotations

import pytest

from tests.unit.system.sim.helpers import d, make_engine, stop, trailing

# (name, position side, order builder kwargs, price path, index that fires or None, fill price)
STOP_CASES = [
    ("long stop fires when price falls to trigger", "BUY", {"side": "SELL", "trigger": "59000"},
     [59500, 59100, 59000, 58000], 2, "59000.0"),
    ("long stop fires on a gap through trigger at the gap price", "BUY",
     {"side": "SELL", "trigger": "59000"}, [59800, 58500], 1, "58500.0"),
    ("long stop does not fire above trigger", "BUY", {"side": "SELL", "trigger": "59000"},
     [59900, 59000.1, 61000], None, None),
    ("short stop fires when price rises to trigger", "SELL", {"side": "BUY", "trigger": "61000"},
     [60500, 61000], 1, "61000.0"),
    ("short stop does not fire below trigger", "SELL", {"side": "BUY", "trigger": "61000"},
     [60999.9, 59000], None, None),
]

TRAILING_CASES = [
    # long: peak 62000, 1 % callback -> fires at <= 61380
    ("long trail follows the peak then fires", "BUY", {"side": "SELL", "rate": "1"},
     [61000, 62000, 61500, 61380, 60000], 3, "61380.0"),
    ("long trail never fires while price makes new highs", "BUY", {"side": "SELL", "rate": "1"},
     [60500, 61000, 62000, 63000], None, None),
    ("long trail from entry fires 1 % below start", "BUY", {"side": "SELL", "rate": "1"},
     [59500, 59400], 1, "59400.0"),
    ("long trail with activatePrice waits for activation", "BUY",
     {"side": "SELL", "rate": "1", "activate": "61000"},
     [59000, 58000, 61000, 61500, 60885], 4, "60885.0"),
    # short: trough 58000, 2 % callback -> fires at >= 59160
    ("short trail follows the trough then fires", "SELL", {"side": "BUY", "rate": "2"},
     [59000, 58000, 59000, 59160], 3, "59160.0"),
    ("short trail with activatePrice below market", "SELL",
     {"side": "BUY", "rate": "0.5", "activate": "59000"},
     [61000, 62000, 59000, 59295], 3, "59295.0"),
    ("short trail never fires while price keeps falling", "SELL", {"side": "BUY", "rate": "2"},
     [59000, 58000, 57000], None, None),
]


def _run(pos_side, request, path, fires_at, fill):
    eng, clock = make_engine()
    eng.place_market("BTCUSDT", pos_side, d("0.010"), "open", False)
    a = eng.place_algo(request)
    for i, price in enumerate(path):
        clock.advance(100)
        eng.set_price("BTCUSDT", d(price))
        if fires_at is not None and i == fires_at:
            assert a.status == "FINISHED", f"did not fire at step {i} ({price})"
            assert a.fill_price == d(fill)
            assert eng.ledger.position("BTCUSDT").amt == 0
            return
        assert a.status == "NEW", f"fired early at step {i} ({price})"
    assert fires_at is None


@pytest.mark.parametrize("name,pos,kw,path,fires_at,fill", STOP_CASES,
                         ids=[c[0] for c in STOP_CASES])
def test_stop_market_triggering(name, pos, kw, path, fires_at, fill):
    _run(pos, stop(**kw), path, fires_at, fill)


@pytest.mark.parametrize("name,pos,kw,path,fires_at,fill", TRAILING_CASES,
                         ids=[c[0] for c in TRAILING_CASES])
def test_trailing_stop_triggering(name, pos, kw, path, fires_at, fill):
    _run(pos, trailing(**kw), path, fires_at, fill)


@pytest.mark.parametrize("side,trigger", [("SELL", "60000"), ("SELL", "60500"),
                                          ("BUY", "60000"), ("BUY", "59000")])
def test_stop_that_would_trigger_at_once_is_rejected_with_2021(side, trigger):
    eng, _ = make_engine()
    eng.place_market("BTCUSDT", "BUY" if side == "SELL" else "SELL", d("0.010"), "o", False)
    with pytest.raises(Exception) as ei:
        eng.place_algo(stop(side=side, trigger=trigger))
    assert ei.value.code == -2021


@pytest.mark.parametrize("side,activate", [("SELL", "59000"), ("BUY", "61000")])
def test_trailing_activation_on_wrong_side_of_market_is_rejected_with_2021(side, activate):
    eng, _ = make_engine()
    eng.place_market("BTCUSDT", "BUY" if side == "SELL" else "SELL", d("0.010"), "o", False)
    with pytest.raises(Exception) as ei:
        eng.place_algo(trailing(side=side, activate=activate))
    assert ei.value.code == -2021


@pytest.mark.parametrize("rate", ["0.05", "10.1", "0"])
def test_callback_rate_outside_0_1_to_10_is_rejected(rate):
    eng, _ = make_engine()
    with pytest.raises(Exception) as ei:
        eng.place_algo(trailing(rate=rate))
    assert ei.value.code == -1102


def test_second_stop_after_the_first_closed_the_position_expires_without_a_fill():
    eng, _ = make_engine()
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "o", False)
    a = eng.place_algo(stop(trigger="59000", cid="a"))
    b = eng.place_algo(stop(trigger="59500", cid="b"))
    eng.set_price("BTCUSDT", d(58000))
    assert {a.status, b.status} == {"FINISHED", "EXPIRED"}
    assert eng.ledger.position("BTCUSDT").amt == 0


def test_close_position_stop_closes_the_whole_position():
    eng, _ = make_engine()
    eng.place_market("ETHUSDT", "SELL", d("0.500"), "o", False)
    eng.place_market("ETHUSDT", "SELL", d("0.250"), "o2", False)
    a = eng.place_algo(stop("ETHUSDT", "BUY", trigger="3100", close_position=True))
    eng.set_price("ETHUSDT", d(3100))
    assert a.status == "FINISHED" and a.fill_qty == d("0.750")
    assert eng.ledger.position("ETHUSDT").amt == 0
