"""The symbol actor in real processes against the simulator and a real store (issue 4).

Every test checks the exchange's truth (`/_sim/state`) and the journal, not only the actor's
own view.
"""

from __future__ import annotations


import pytest
from tests.waiting import wait_for


def _stops(state: dict, symbol: str) -> list[dict]:
    return [o for o in state["open_algo_orders"] if o["symbol"] == symbol]


def _position(state: dict, symbol: str) -> float:
    return sum(float(p["positionAmt"]) for p in state["positions"] if p["symbol"] == symbol)


def _coverage_lost_ms(state: dict, symbol: str) -> float:
    per = state["unprotected"]["per_symbol"].get(symbol, {})
    return per.get("total_ms_by_kind", {}).get("coverage_lost", 0.0)


def test_open_protect_trail_and_stop_fill_ends_flat_with_zero_unprotected_moves(engine):
    sym = "BTCUSDT"
    engine.control.set_price(sym, "60000")
    result = engine.open(sym, "long", "0.010", "cmd-trail")
    assert result.outcome == "accepted"
    first = engine.wait_state(sym, "PROTECTED")
    assert first.stop_client_id.startswith("pg-main-1-BTCUSDT-sl-")

    for price in ("60700", "61000", "61400"):  # past activation (1 %), then higher peaks
        engine.tick(sym, price)
        engine.wait(sym, lambda v, p=price: v.state == "PROTECTED" and v.peak_price is not None
                    and float(v.peak_price) >= float(p), f"peak {price}")
    moved = engine.view(sym)
    assert moved.trailing_active and float(moved.stop_price) > float(first.stop_price)
    mid = engine.control.state()
    assert [o["clientAlgoId"] for o in _stops(mid, sym)] == [moved.stop_client_id]

    engine.control.set_price(sym, "61000")  # below the trailed stop (61400 x 0.995): it fires
    engine.wait_state(sym, "FLAT")

    truth = engine.control.state()
    assert _position(truth, sym) == 0
    assert _stops(truth, sym) == []
    assert _coverage_lost_ms(truth, sym) == 0
    kinds = engine.journal_kinds(sym)
    assert kinds.count("stop_moved") >= 2
    assert "stop_filled" in kinds or "position_closed" in kinds


def test_account_update_before_the_open_reply_is_applied_not_dropped(engine):
    # I-5: the open's REST reply is withheld; the fill arrives first on the stream.
    sym = "ETHUSDT"
    engine.register(sym)
    engine.control.timeout_next("POST", "/fapi/v1/order", hold_ms=3000)

    engine.open(sym, "short", "0.100", "cmd-i5")
    engine.wait_state(sym, "PROTECTED", timeout_secs=20)

    truth = engine.control.state()
    assert _position(truth, sym) == pytest.approx(-0.1)
    assert len(_stops(truth, sym)) == 1 and _stops(truth, sym)[0]["side"] == "BUY"
    fills = [f for f in truth["fills"] if f["symbol"] == sym]
    assert len(fills) == 1, "exactly one market order: nothing was placed twice"
    rows = engine.journal(sym)
    filled = [r for r in rows if r.kind == "open_filled"]
    assert len(filled) == 1 and filled[0].payload["source"].startswith("stream")
    # the withheld reply resolves later by lookup and only confirms the open
    wait_for(lambda kinds: {"open_outcome_unknown", "open_confirmed"} <= set(kinds), 10,
             "the withheld open reply to be looked up and confirmed",
             sample=lambda: [r.kind for r in engine.journal(sym)])
    assert engine.view(sym).state == "PROTECTED"
    assert len(_stops(engine.control.state(), sym)) == 1


def test_rest_timeout_on_placing_the_stop_does_not_produce_a_second_stop(engine):
    sym = "SOLUSDT"
    engine.register(sym)
    engine.control.timeout_next("POST", "/fapi/v1/algoOrder", hold_ms=3000)
    engine.control.drop_events(count=10)  # the actor cannot learn of the stop from the stream

    engine.open(sym, "long", "1.00", "cmd-timeout")
    view = engine.wait_state(sym, "PROTECTED", timeout_secs=25)

    truth = engine.control.state()
    assert len(_stops(truth, sym)) == 1
    assert _stops(truth, sym)[0]["clientAlgoId"] == view.stop_client_id
    assert "stop_outcome_unknown" in engine.journal_kinds(sym)


@pytest.mark.engine_config("protection.on_stop_would_trigger=close")
def test_minus_2021_on_a_move_closes_at_market(engine):
    sym = "BNBUSDT"
    engine.control.set_price(sym, "600")
    engine.open(sym, "long", "1.00", "cmd-2021")
    engine.wait_state(sym, "PROTECTED")
    engine.control.fail_next("POST", "/fapi/v1/algoOrder", code=-2021, status=400,
                             msg="Order would immediately trigger.")

    engine.tick(sym, "610")  # activation: a move is attempted and refused with -2021
    engine.wait_state(sym, "FLAT")
    # FLAT is reached when the old stop's cancel is sent; the exchange drops it a moment later.
    def nothing_resting() -> dict | None:
        truth = engine.control.state()
        return truth if _stops(truth, sym) == [] else None

    truth = engine.wait_for(nothing_resting, f"{sym}: no stop resting after the close",
                            timeout_secs=5.0)

    assert _position(truth, sym) == 0
    assert "stop_would_trigger_close" in engine.journal_kinds(sym)
