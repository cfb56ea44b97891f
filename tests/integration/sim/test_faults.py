"""Each control-API fault, seen from a ccxt or websocket-client client."""

from __future__ import annotations

import time

import ccxt
import pytest

from tests.integration.sim.wsutil import closes_within, connect, read_for, read_until

BTC = "BTC/USDT:USDT"


@pytest.fixture
def user_ws(sim, ccxt_sync):
    key = ccxt_sync.fapiPrivatePostListenKey()["listenKey"]
    ws = connect(sim.url, f"/private/ws?listenKey={key}")
    yield ws
    ws.close()


def _order_events(ws, n, secs=1.0):
    msgs = read_for(ws, secs)
    return [(m["e"], m["o"]["x"] if "o" in m else "") for m in msgs][:n + 2]


def test_drop_next_events(user_ws, ccxt_sync, sim_control):
    sim_control.drop_events(3)  # ORDER_TRADE_UPDATE NEW, TRADE_LITE, ORDER_TRADE_UPDATE TRADE
    ccxt_sync.create_order(BTC, "market", "buy", 0.01)
    assert [m["e"] for m in read_for(user_ws, 0.5)] == ["ACCOUNT_UPDATE"]


def test_duplicate_next_events(user_ws, ccxt_sync, sim_control):
    sim_control.duplicate_events(1)
    ccxt_sync.create_order(BTC, "market", "buy", 0.01)
    kinds = _order_events(user_ws, 5, 0.5)
    assert kinds == [("ORDER_TRADE_UPDATE", "NEW"), ("ORDER_TRADE_UPDATE", "NEW"),
                     ("TRADE_LITE", ""), ("ORDER_TRADE_UPDATE", "TRADE"),
                     ("ACCOUNT_UPDATE", "")]


def test_delay_next_events(user_ws, ccxt_sync, sim_control):
    sim_control.delay_events(1, 400)
    t0 = time.monotonic()
    ccxt_sync.create_order(BTC, "market", "buy", 0.01)
    first = read_until(user_ws, lambda m: True)[0]
    assert first["e"] == "TRADE_LITE"  # the delayed NEW comes after the others
    late = read_until(user_ws, lambda m: m.get("o", {}).get("x") == "NEW")
    assert time.monotonic() - t0 >= 0.35 and late[-1]["e"] == "ORDER_TRADE_UPDATE"


def test_reorder_next_events(user_ws, ccxt_sync, sim_control):
    sim_control.reorder_events(4)
    ccxt_sync.create_order(BTC, "market", "buy", 0.01)
    assert _order_events(user_ws, 4, 0.5) == [("ACCOUNT_UPDATE", ""),
                                              ("ORDER_TRADE_UPDATE", "TRADE"),
                                              ("TRADE_LITE", ""),
                                              ("ORDER_TRADE_UPDATE", "NEW")]


def test_close_user_stream(user_ws, sim_control):
    assert sim_control.close_user_streams()["closed"] == 1
    assert closes_within(user_ws, 2.0)
    assert sim_control.state()["user_stream"]["listen_key"] is not None


def test_expire_listen_key(user_ws, ccxt_sync, sim_control):
    sim_control.expire_listen_key()
    assert read_until(user_ws, lambda m: True)[0]["e"] == "listenKeyExpired"
    # Binance: "not related to the websocket disconnection"; the socket stays, silent.
    assert not closes_within(user_ws, 0.3)
    with pytest.raises(ccxt.BaseError, match="-1125"):
        ccxt_sync.fapiPrivatePutListenKey()


def test_fail_next_request_once(ccxt_sync, sim_control):
    sim_control.fail_next("POST", "/fapi/v1/algoOrder", code=-1001, status=400,
                          msg="Internal error; unable to process your request.")
    assert sim_control.state()["faults"]["http"][0]["path"] == "/fapi/v1/algoOrder"
    ccxt_sync.create_order(BTC, "market", "buy", 0.01)
    with pytest.raises(ccxt.BaseError, match="-1001"):
        ccxt_sync.create_order(BTC, "market", "sell", 0.01, None,
                               {"stopPrice": 59000, "reduceOnly": True})
    assert sim_control.state()["open_algo_orders"] == []
    ccxt_sync.create_order(BTC, "market", "sell", 0.01, None,
                           {"stopPrice": 59000, "reduceOnly": True})
    assert len(sim_control.state()["open_algo_orders"]) == 1


def test_timeout_places_the_order_but_never_replies(sim, sim_control):
    from venues.binance.ccxt_factory import make_binanceusdm
    ex = make_binanceusdm(sim.url, "paper-key", "paper-secret", timeout_ms=600)
    ex.load_markets()
    ex.create_order(BTC, "market", "buy", 0.01)
    sim_control.timeout_next("POST", "/fapi/v1/algoOrder", hold_ms=5000)
    t0 = time.monotonic()
    with pytest.raises(ccxt.RequestTimeout):
        ex.create_order(BTC, "market", "sell", 0.01, None,
                        {"stopPrice": 59000, "reduceOnly": True, "clientOrderId": "t-1"})
    assert time.monotonic() - t0 < 3
    algos = ex.fetch_open_orders(BTC, params={"trigger": True})
    assert [a["clientOrderId"] for a in algos] == ["t-1"]


def test_partial_fill_fills_the_rest_later(user_ws, ccxt_sync, sim_control):
    sim_control.partial_fill("BTCUSDT", 0.3, 200)
    o = ccxt_sync.create_order(BTC, "market", "buy", 0.01)
    assert o["status"] == "open" and o["filled"] == 0.003
    msgs = read_until(user_ws, lambda m: m.get("o", {}).get("X") == "FILLED", timeout=3)
    trades = [m["o"] for m in msgs if m["e"] == "ORDER_TRADE_UPDATE" and m["o"]["x"] == "TRADE"]
    assert [(t["X"], t["l"]) for t in trades] == [("PARTIALLY_FILLED", "0.003"),
                                                 ("FILLED", "0.007")]
    assert ccxt_sync.fetch_order(o["id"], BTC)["filled"] == 0.01


def test_pause_resume_and_step(sim_settings, sim, sim_control):
    sim_control.pause()
    sim.call(lambda s: s.walk_step())
    assert sim_control.state()["prices"]["BTCUSDT"] == "60000.00"
    assert sim_control.step_price("BTCUSDT", pct=1.0)["price"] == "60600.00"
    assert sim_control.step_price("BTCUSDT", delta=-600)["price"] == "60000.00"
    sim_control.resume()
    sim.call(lambda s: s.walk_step())
    assert sim_control.state()["prices"]["BTCUSDT"] != "60000.00"


def test_meter_over_http_cancel_then_create_vs_create_then_cancel(ccxt_sync, sim_control):
    ex = ccxt_sync
    ex.create_order(BTC, "market", "buy", 0.01)
    a = ex.create_order(BTC, "market", "sell", 0.01, None, {"stopPrice": 59000,
                                                             "reduceOnly": True})
    b = ex.create_order(BTC, "market", "sell", 0.01, None, {"stopPrice": 59100,
                                                             "reduceOnly": True})
    ex.cancel_order(a["id"], BTC, {"trigger": True})  # create-then-cancel: still covered
    lost = sim_control.state()["unprotected"]["per_symbol"]["BTCUSDT"]
    assert lost["count_by_kind"]["coverage_lost"] == 0
    ex.cancel_order(b["id"], BTC, {"trigger": True})  # cancel-then-create: a real gap
    ex.create_order(BTC, "market", "sell", 0.01, None, {"stopPrice": 59200,
                                                        "reduceOnly": True})
    un = sim_control.state()["unprotected"]
    sym = un["per_symbol"]["BTCUSDT"]
    assert sym["count_by_kind"]["coverage_lost"] == 1
    assert sym["total_ms_by_kind"]["coverage_lost"] > 0 and un["coverage_lost_total_ms"] > 0
    assert un["gaps"][-1]["kind"] == "coverage_lost"
