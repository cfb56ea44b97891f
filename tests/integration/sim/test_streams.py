"""User-data and mark-price streams over websocket-client on /private and /market."""

from __future__ import annotations

import json

import pytest

from tests.integration.sim import samples
from tests.integration.sim.wsutil import closes_within, connect, read_for, read_until

BTC = "BTC/USDT:USDT"


@pytest.fixture
def user_ws(sim, ccxt_sync):
    key = ccxt_sync.fapiPrivatePostListenKey()["listenKey"]
    ws = connect(sim.url, f"/private/ws?listenKey={key}")
    yield ws
    ws.close()


def _kinds(msgs):
    return [(m["e"], m["o"]["X"] if "o" in m else "") for m in msgs]


def test_stop_market_fill_emits_algo_order_and_account_updates(user_ws, ccxt_sync,
                                                                sim_control):
    ccxt_sync.create_order(BTC, "market", "buy", 0.01)
    ccxt_sync.create_order(BTC, "market", "sell", None, None,
                           {"stopPrice": 59000, "closePosition": True})
    read_until(user_ws, lambda m: m["e"] == "ALGO_UPDATE" and m["o"]["X"] == "NEW")
    sim_control.set_price("BTCUSDT", 58990)
    msgs = read_until(user_ws, lambda m: m["e"] == "ALGO_UPDATE" and m["o"]["X"] == "FINISHED")
    assert _kinds(msgs) == [("ALGO_UPDATE", "TRIGGERING"), ("ALGO_UPDATE", "TRIGGERED"),
                            ("ORDER_TRADE_UPDATE", "NEW"), ("TRADE_LITE", ""),
                            ("ORDER_TRADE_UPDATE", "FILLED"), ("ACCOUNT_UPDATE", ""),
                            ("ALGO_UPDATE", "FINISHED")]
    lite, trade, account, finished = msgs[3], msgs[4], msgs[5], msgs[6]
    samples.assert_same_shape(samples.TRADE_LITE, lite)
    assert (lite["i"], lite["t"], lite["L"], lite["l"]) == (
        trade["o"]["i"], trade["o"]["t"], trade["o"]["L"], trade["o"]["l"])
    samples.assert_same_shape(samples.ORDER_TRADE_UPDATE, trade)
    samples.assert_same_shape(samples.ACCOUNT_UPDATE, account)
    samples.assert_same_shape(samples.ALGO_UPDATE, finished)
    o = trade["o"]
    assert (o["x"], o["ot"], o["o"], o["cp"], o["S"], float(o["L"])) == (
        "TRADE", "STOP_MARKET", "MARKET", True, "SELL", 58990.0)
    assert finished["o"]["ai"] == str(o["i"]) and finished["o"]["aq"] == "0.010"
    assert account["a"]["P"][0]["pa"] == "0" and account["a"]["m"] == "ORDER"
    assert float(account["a"]["P"][0]["cr"]) == pytest.approx(-10.1, abs=0.01)


def test_every_order_change_is_streamed(user_ws, ccxt_sync):
    o = ccxt_sync.create_order(BTC, "market", "sell", 0.01)
    msgs = read_until(user_ws, lambda m: m["e"] == "ACCOUNT_UPDATE")
    assert _kinds(msgs) == [("ORDER_TRADE_UPDATE", "NEW"), ("TRADE_LITE", ""),
                            ("ORDER_TRADE_UPDATE", "FILLED"), ("ACCOUNT_UPDATE", "")]
    assert msgs[0]["o"]["i"] == int(o["id"]) and msgs[3]["a"]["P"][0]["pa"] == "-0.010"
    for m in (msgs[0], msgs[2]):
        samples.assert_same_shape(samples.ORDER_TRADE_UPDATE, m)
    s = ccxt_sync.create_order(BTC, "market", "buy", 0.01, None,
                               {"stopPrice": 61000, "reduceOnly": True})
    ccxt_sync.cancel_order(s["id"], BTC, {"trigger": True})
    msgs = read_until(user_ws, lambda m: m["o"]["X"] == "CANCELED")
    assert _kinds(msgs) == [("ALGO_UPDATE", "NEW"), ("ALGO_UPDATE", "CANCELED")]
    samples.assert_same_shape(samples.ALGO_UPDATE, msgs[1])


def test_listen_key_post_returns_same_key_put_extends_delete_removes(sim, ccxt_sync):
    k1 = ccxt_sync.fapiPrivatePostListenKey()["listenKey"]
    k2 = ccxt_sync.fapiPrivatePostListenKey()["listenKey"]
    assert k1 == k2 and len(k1) > 20
    assert ccxt_sync.fapiPrivatePutListenKey()["listenKey"] == k1
    ws = connect(sim.url, f"/private/ws?listenKey={k1}")
    try:
        assert ccxt_sync.fapiPrivateDeleteListenKey() == {}
        assert closes_within(ws, 2.0)
    finally:
        ws.close()
    with pytest.raises(Exception, match="-1125"):
        ccxt_sync.fapiPrivatePutListenKey()


def test_listen_key_expires_on_the_sim_clock(sim, ccxt_sync):
    key = ccxt_sync.fapiPrivatePostListenKey()["listenKey"]
    ws = connect(sim.url, f"/private/ws?listenKey={key}")
    try:
        sim.call(lambda s: setattr(s.users, "expires_ms", 0))  # as if 60 min passed
        msgs = read_until(ws, lambda m: m["e"] == "listenKeyExpired")
        assert msgs[-1]["listenKey"] == key and isinstance(msgs[-1]["E"], int)
        assert not closes_within(ws, 0.3), "Binance leaves the socket open, silent"
    finally:
        ws.close()


def test_mark_price_single_stream(sim, sim_control):
    ws = connect(sim.url, "/market/ws/btcusdt@markPrice@1s")
    try:
        sim_control.set_price("BTCUSDT", 61234.5)
        mark = sim.call(lambda s: s._mark("BTCUSDT"))  # the contract price plus the basis
        msgs = read_until(ws, lambda m: m["p"] == mark)
        samples.assert_same_shape(samples.MARK_PRICE, msgs[-1])
        assert msgs[-1]["s"] == "BTCUSDT"
    finally:
        ws.close()


def test_combined_stream_with_live_subscribe_and_unsubscribe(sim):
    ws = connect(sim.url, "/market/stream?streams=btcusdt@markPrice@1s")
    try:
        first = read_until(ws, lambda m: "stream" in m)[-1]
        assert first["stream"] == "btcusdt@markPrice@1s" and first["data"]["s"] == "BTCUSDT"
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@markPrice@1s"],
                            "id": 7}))
        read_until(ws, lambda m: m.get("id") == 7 and m.get("result") is None)
        read_until(ws, lambda m: m.get("stream") == "ethusdt@markPrice@1s")
        ws.send(json.dumps({"method": "UNSUBSCRIBE", "params": ["btcusdt@markPrice@1s"],
                            "id": 8}))
        read_until(ws, lambda m: m.get("id") == 8)
        ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 9}))
        listed = read_until(ws, lambda m: m.get("id") == 9)[-1]
        assert listed["result"] == ["ethusdt@markPrice@1s"]
        later = read_for(ws, 0.3)
        assert later and {m["stream"] for m in later} == {"ethusdt@markPrice@1s"}
    finally:
        ws.close()


def test_market_stream_rejects_a_malformed_request_without_closing(sim):
    ws = connect(sim.url, "/market/ws")
    try:
        ws.send("{not json")
        assert "error" in read_until(ws, lambda m: "error" in m)[-1]
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["!markPrice@arr@1s"], "id": 1}))
        arr = read_until(ws, lambda m: isinstance(m, list))[-1]
        assert {r["s"] for r in arr} >= {"BTCUSDT", "RSRUSDT"}
    finally:
        ws.close()


def test_leverage_change_emits_account_config_update(user_ws, ccxt_sync):
    ccxt_sync.set_leverage(7, BTC)

    msg = read_until(user_ws, lambda m: m["e"] == "ACCOUNT_CONFIG_UPDATE")[-1]

    samples.assert_same_shape(samples.ACCOUNT_CONFIG_UPDATE, msg)
    assert msg["ac"] == {"s": "BTCUSDT", "l": 7}


def test_algo_update_reports_the_actual_type_only_once_placed_and_ia_for_trailing(
        user_ws, ccxt_sync, sim_control):
    ccxt_sync.create_order(BTC, "market", "buy", 0.01)
    ccxt_sync.create_order(BTC, "market", "sell", 0.01, None,
                           {"trailingPercent": 1, "trailingTriggerPrice": 60100,
                            "reduceOnly": True})
    new = read_until(user_ws, lambda m: m["e"] == "ALGO_UPDATE")[-1]["o"]
    assert (new["X"], new["act"], new["ia"]) == ("NEW", "0", False)

    sim_control.set_price("BTCUSDT", 60200)  # activates (no ALGO_UPDATE for that)
    sim_control.set_price("BTCUSDT", 59500)  # 1 % below the 60200 peak: fires
    msgs = read_until(user_ws, lambda m: m["e"] == "ALGO_UPDATE" and m["o"]["X"] == "FINISHED")

    algo = {m["o"]["X"]: m["o"] for m in msgs if m["e"] == "ALGO_UPDATE"}
    assert [(x, algo[x]["act"], algo[x]["ia"]) for x in ("TRIGGERING", "TRIGGERED", "FINISHED")] \
        == [("TRIGGERING", "0", True), ("TRIGGERED", "MARKET", True),
            ("FINISHED", "MARKET", True)]
    child = [m["o"] for m in msgs if m["e"] == "ORDER_TRADE_UPDATE"]
    assert {(o["ot"], float(o["AP"]), float(o["cr"])) for o in child} == {
        ("TRAILING_STOP_MARKET", 60100.0, 1.0)}
    assert "ia" not in read_stop_algo_update(user_ws, ccxt_sync)


def read_stop_algo_update(ws, ex) -> dict:
    """Place a plain reduce-only stop; its ALGO_UPDATE NEW body."""
    ex.create_order(BTC, "market", "buy", 0.01)
    ex.create_order(BTC, "market", "sell", 0.01, None, {"stopPrice": 50000, "reduceOnly": True})
    return read_until(ws, lambda m: m["e"] == "ALGO_UPDATE")[-1]["o"]
