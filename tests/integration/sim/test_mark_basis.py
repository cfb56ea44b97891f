"""The mark price over HTTP and the stream: basis, controls, which stops fire, valuations."""

from __future__ import annotations

import pytest

from tests.integration.sim.rawhttp import Raw
from tests.integration.sim.wsutil import connect, read_until

BTC = "BTCUSDT"


@pytest.fixture
def raw(sim) -> Raw:
    return Raw(sim.url)


def _stop(raw, working_type, cid):
    return raw.ok("POST", "/fapi/v1/algoOrder", {
        "symbol": BTC, "algoType": "CONDITIONAL", "side": "SELL", "type": "STOP_MARKET",
        "quantity": "0.010", "triggerPrice": "59000", "reduceOnly": "true",
        "workingType": working_type, "clientAlgoId": cid})


def test_premium_index_and_state_show_the_mark_at_the_default_basis(raw, sim_control):
    idx = raw.ok("GET", "/fapi/v1/premiumIndex", {"symbol": BTC}, signed=False)
    state = sim_control.state()

    assert idx["markPrice"] == "60012.00" and idx["indexPrice"] == "60012.00"
    assert state["prices"][BTC] == "60000.00" and state["marks"][BTC] == "60012.00"


def test_set_price_moves_the_mark_with_it_unless_a_mark_is_given(sim_control):
    follows = sim_control.set_price(BTC, "59000")
    explicit = sim_control.set_price(BTC, "59000", mark="58950")
    mark_only = sim_control.set_mark(BTC, "58900")

    assert (follows["price"], follows["mark"]) == ("59000.00", "59011.80")
    assert (explicit["price"], explicit["mark"]) == ("59000.00", "58950.00")
    assert (mark_only["price"], mark_only["mark"]) == ("59000.00", "58900.00")


def test_mark_price_and_contract_price_stops_fire_at_different_moments(raw, sim_control):
    raw.ok("POST", "/fapi/v1/order", {"symbol": BTC, "side": "BUY", "type": "MARKET",
                                       "quantity": "0.020"})
    on_mark = _stop(raw, "MARK_PRICE", "on-mark")
    on_last = _stop(raw, "CONTRACT_PRICE", "on-last")

    sim_control.set_mark(BTC, "58999")

    status = {a["clientAlgoId"]: a["algoStatus"]
              for a in raw.ok("GET", "/fapi/v1/allAlgoOrders", {"symbol": BTC})}
    assert status == {"on-mark": "FINISHED", "on-last": "NEW"}
    fill = raw.ok("GET", "/fapi/v1/algoOrder", {"algoId": on_mark["algoId"]})
    assert fill["actualPrice"] == "60000.00"  # the child is a MARKET order at the last price
    sim_control.set_price(BTC, "58990", mark="59500")
    assert raw.ok("GET", "/fapi/v1/algoOrder",
                  {"algoId": on_last["algoId"]})["algoStatus"] == "FINISHED"


def test_position_risk_values_the_position_at_the_mark(raw, sim_control):
    raw.ok("POST", "/fapi/v1/order", {"symbol": BTC, "side": "BUY", "type": "MARKET",
                                       "quantity": "0.010"})
    sim_control.set_price(BTC, "61000", mark="61100")

    row = raw.ok("GET", "/fapi/v3/positionRisk", {"symbol": BTC})[0]

    assert (row["markPrice"], row["unRealizedProfit"], row["notional"]) == (
        "61100.00", "11.00000000", "611.00000000")


def test_the_mark_stream_sends_the_mark_not_the_contract_price(sim, sim_control):
    ws = connect(sim.url, "/market/ws/btcusdt@markPrice@1s")
    try:
        sim_control.set_price(BTC, "61000", mark="61111.1")
        msgs = read_until(ws, lambda m: m.get("p") == "61111.10")
        assert "61000.00" not in {m.get("p") for m in msgs}
    finally:
        ws.close()
