"""Bybit's /v5/private and /v5/public/linear, frame by frame over websocket-client (loopback).

Orders are made on the simulator's engine directly (server.call): these tests are about what
the sockets push for them, not about the REST front.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal

import pytest

from system.sim.engine_algos import AlgoRequest
from tests.integration.sim.wsutil import closes_within, connect, read_for, read_until

pytestmark = pytest.mark.timeout(60)


def _auth_frame(key: str, secret: str, expires: int | str) -> str:
    sig = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(),
                   hashlib.sha256).hexdigest()
    return json.dumps({"req_id": "a1", "op": "auth", "args": [key, expires, sig]})


def _op(ws, **req) -> dict:
    ws.send(json.dumps(req))
    return read_until(ws, lambda m: m.get("op") in (req["op"], "pong"))[-1]


@pytest.fixture
def private(bybit_sim):
    """An authenticated /v5/private connection subscribed to the four topics."""
    s = bybit_sim.settings
    ws = connect(bybit_sim.url, "/v5/private")
    try:
        ws.send(_auth_frame(s.api_key, s.api_secret, int(time.time() * 1000) + 10_000))
        assert read_until(ws, lambda m: m.get("op") == "auth")[-1]["success"] is True
        ack = _op(ws, req_id="s1", op="subscribe",
                  args=["position", "order", "execution", "wallet"])
        assert ack["success"] is True and ack["req_id"] == "s1"
        yield ws
    finally:
        ws.close()


def _pushes(ws, until_topic: str, pred=lambda row: True, timeout: float = 5.0) -> list[dict]:
    return [m for m in read_until(
        ws, lambda m: m.get("topic") == until_topic and pred(m["data"][0]), timeout)
        if "topic" in m]


def test_auth_with_a_wrong_signature_is_refused_and_subscribe_then_needs_auth(bybit_sim):
    s = bybit_sim.settings
    ws = connect(bybit_sim.url, "/v5/private")
    try:
        ws.send(_auth_frame(s.api_key, "not-the-secret", int(time.time() * 1000) + 10_000))
        reply = read_until(ws, lambda m: m.get("op") == "auth")[-1]
        assert reply["success"] is False and reply["ret_msg"] == "Params Error"
        assert reply["req_id"] == "a1" and reply["conn_id"]
        sub = _op(ws, op="subscribe", args=["order"])
        assert sub["success"] is False and sub["ret_msg"] == "Request not authorized"
    finally:
        ws.close()


def test_auth_whose_expires_has_passed_is_refused(bybit_sim):
    s = bybit_sim.settings
    ws = connect(bybit_sim.url, "/v5/private")
    try:
        ws.send(_auth_frame(s.api_key, s.api_secret, str(int(time.time() * 1000) - 1)))
        assert read_until(ws, lambda m: m.get("op") == "auth")[-1]["success"] is False
        ws.send(_auth_frame(s.api_key, s.api_secret, str(int(time.time() * 1000) + 5000)))
        assert read_until(ws, lambda m: m.get("op") == "auth")[-1]["success"] is True
    finally:
        ws.close()


def test_ping_is_answered_with_pong_and_unknown_topics_are_refused(private):
    pong = _op(private, req_id="p7", op="ping")
    assert pong["op"] == "pong" and pong["req_id"] == "p7"
    assert int(pong["args"][0]) > 0
    bad = _op(private, op="subscribe", args=["tickers.BTCUSDT"])
    assert bad["success"] is False and "tickers.BTCUSDT" in bad["ret_msg"]
    again = _op(private, op="subscribe", args=["order"])
    assert again["success"] is False and "already subscribed" in again["ret_msg"]


def test_market_order_pushes_order_execution_position_wallet_in_bybit_order(bybit_sim,
                                                                             private):
    o = bybit_sim.call(lambda sim: sim.engine.place_market(
        "BTCUSDT", "BUY", Decimal("0.010"), "open-1", False))
    msgs = _pushes(private, "wallet")
    topics = [m["topic"] for m in msgs]
    assert topics == ["order", "execution", "order", "position", "wallet"]
    new, execution, filled, position, wallet = (m["data"][0] for m in msgs)
    oid = str(uuid.UUID(int=o.order_id))
    assert (new["orderId"], new["orderStatus"], new["side"]) == (oid, "New", "Buy")
    assert new["orderLinkId"] == "open-1"
    assert execution["orderId"] == oid and execution["execQty"] == "0.010"
    assert execution["execType"] == "Trade" and Decimal(execution["execFee"]) > 0
    assert filled["orderStatus"] == "Filled" and filled["cumExecQty"] == "0.010"
    assert filled["leavesQty"] == "0"
    assert (position["side"], position["size"], position["positionIdx"]) == ("Buy", "0.010", 0)
    assert Decimal(position["entryPrice"]) == Decimal("60000.0")
    assert wallet["accountType"] == "UNIFIED" and wallet["coin"][0]["coin"] == "USDT"
    for m in msgs:
        assert set(m) == {"id", "topic", "creationTime", "data"}


def test_conditional_stop_keeps_one_order_id_from_untriggered_to_filled(bybit_sim, private):
    bybit_sim.call(lambda sim: sim.engine.place_market(
        "BTCUSDT", "BUY", Decimal("0.010"), "open-1", False))
    _pushes(private, "wallet")
    a = bybit_sim.call(lambda sim: sim.engine.place_algo(AlgoRequest(
        "BTCUSDT", "SELL", "STOP_MARKET", Decimal("0.010"), Decimal("59000.0"), True, False,
        "sl-1", working_type="MARK_PRICE", trigger_direction=2)))
    placed = _pushes(private, "position")
    assert [m["topic"] for m in placed] == ["order", "position"]
    row = placed[0]["data"][0]
    oid = str(uuid.UUID(int=a.algo_id))
    assert (row["orderId"], row["orderLinkId"], row["orderStatus"]) == (oid, "sl-1",
                                                                       "Untriggered")
    assert (row["stopOrderType"], row["triggerDirection"], row["triggerBy"]) == (
        "Stop", 2, "MarkPrice")
    assert Decimal(row["triggerPrice"]) == 59000 and row["reduceOnly"] is True
    bybit_sim.call(lambda sim: sim.engine.set_price("BTCUSDT", Decimal("58900")))
    fired = _pushes(private, "position", lambda r: r["size"] == "0.000")
    orders = [m["data"][0] for m in fired if m["topic"] == "order"]
    assert [r["orderStatus"] for r in orders] == ["Triggered", "New", "Filled"]
    assert {r["orderId"] for r in orders} == {oid}
    execution = next(m["data"][0] for m in fired if m["topic"] == "execution")
    assert execution["orderId"] == oid and execution["closedSize"] == "0.010"
    flat = fired[-1]["data"][0]
    assert flat["side"] == "" and flat["size"] == "0.000"


def test_cancelled_conditional_is_deactivated_and_categorised_topic_is_echoed(bybit_sim):
    s = bybit_sim.settings
    ws = connect(bybit_sim.url, "/v5/private")
    try:
        ws.send(_auth_frame(s.api_key, s.api_secret, int(time.time() * 1000) + 10_000))
        read_until(ws, lambda m: m.get("op") == "auth")
        mixed = _op(ws, op="subscribe", args=["order", "position.linear"])
        assert mixed["success"] is False
        assert _op(ws, op="subscribe", args=["order.linear"])["success"] is True
        a = bybit_sim.call(lambda sim: sim.engine.place_algo(AlgoRequest(
            "BTCUSDT", "SELL", "STOP_MARKET", Decimal("0.010"), Decimal("59000.0"), False,
            False, "sl-2", trigger_direction=2)))
        bybit_sim.call(lambda sim: sim.engine.cancel_algo("BTCUSDT", a.algo_id, None))
        msgs = read_until(ws, lambda m: m.get("topic") == "order.linear"
                          and m["data"][0]["orderStatus"] == "Deactivated")
        rows = [m for m in msgs if "topic" in m]
        assert {m["topic"] for m in rows} == {"order.linear"}  # no position topic asked for
        assert rows[-1]["data"][0]["cancelType"] == "CancelByUser"
    finally:
        ws.close()


def test_control_api_stream_faults_reach_bybit_private_connections(bybit_sim, private):
    from system.sim.client import SimControl
    ctl = SimControl(bybit_sim.url)
    assert ctl.inject_frame('{"hello":1}')["sent"] == 1
    assert read_until(private, lambda m: m.get("hello") == 1)
    ctl.drop_events(4)  # the market order's NEW, TRADE_LITE, TRADE and ACCOUNT_UPDATE
    bybit_sim.call(lambda sim: sim.engine.place_market(
        "BTCUSDT", "BUY", Decimal("0.010"), "open-2", False))
    assert [m for m in read_for(private, 0.5) if "topic" in m] == []
    ctl.silence_user_streams(0.6)
    private.send(json.dumps({"op": "ping"}))
    assert read_for(private, 0.3) == []  # stalled: no pong yet
    assert read_until(private, lambda m: m.get("op") == "pong", timeout=3)
    assert ctl.close_user_streams()["closed"] == 1
    assert closes_within(private, 3)


def test_a_connection_that_sends_nothing_is_closed_after_its_idle_time(bybit_sim):
    from system.sim.bybit.ws_private import private_streams
    bybit_sim.call(lambda sim: setattr(private_streams(sim), "idle_secs", 0.4))
    pinged = connect(bybit_sim.url, "/v5/private")
    quiet = connect(bybit_sim.url, "/v5/private")
    try:
        for _ in range(4):
            pinged.send(json.dumps({"op": "ping"}))
            time.sleep(0.15)
        assert closes_within(quiet, 2)
        assert read_until(pinged, lambda m: m.get("op") == "pong")
    finally:
        pinged.close()
        quiet.close()


# ---- public -----------------------------------------------------------------------------
def test_tickers_snapshot_then_deltas_carry_only_changed_fields(bybit_sim):
    ws = connect(bybit_sim.url, "/v5/public/linear")
    try:
        ws.send(json.dumps({"req_id": "t1", "op": "subscribe", "args": ["tickers.BTCUSDT"]}))
        ack, snap = read_until(ws, lambda m: m.get("type") == "snapshot")[-2:]
        assert ack == {"success": True, "ret_msg": "", "conn_id": ack["conn_id"],
                       "req_id": "t1", "op": "subscribe"}
        assert snap["topic"] == "tickers.BTCUSDT" and snap["data"]["symbol"] == "BTCUSDT"
        for f in ("lastPrice", "markPrice", "indexPrice", "openInterestValue", "fundingRate"):
            assert f in snap["data"]
        quiet = read_until(ws, lambda m: m.get("type") == "delta")[-1]
        assert quiet["data"] == {"symbol": "BTCUSDT"}  # nothing moved
        bybit_sim.call(lambda sim: sim.engine.set_mark("BTCUSDT", Decimal("60100.0")))
        moved = read_until(ws, lambda m: "markPrice" in m.get("data", {}))[-1]
        assert moved["type"] == "delta" and Decimal(moved["data"]["markPrice"]) == 60100
        assert "lastPrice" not in moved["data"]  # the contract price did not move
        assert moved["cs"] > snap["cs"] and moved["ts"] >= snap["ts"]
    finally:
        ws.close()


def test_public_ping_unknown_symbol_and_unsubscribe(bybit_sim):
    ws = connect(bybit_sim.url, "/v5/public/linear")
    try:
        ws.send(json.dumps({"op": "ping"}))
        pong = read_until(ws, lambda m: m.get("op") == "ping")[-1]
        assert (pong["success"], pong["ret_msg"]) == (True, "pong")
        ws.send(json.dumps({"op": "subscribe", "args": ["tickers.NOPEUSDT"]}))
        assert read_until(ws, lambda m: m.get("op") == "subscribe")[-1]["success"] is False
        ws.send(json.dumps({"op": "subscribe", "args": ["tickers.ETHUSDT"]}))
        read_until(ws, lambda m: m.get("type") == "snapshot")
        ws.send(json.dumps({"op": "unsubscribe", "args": ["tickers.ETHUSDT"]}))
        read_until(ws, lambda m: m.get("op") == "unsubscribe")
        assert [m for m in read_for(ws, 0.3) if "topic" in m] == []
    finally:
        ws.close()


def test_the_stream_latency_model_delays_both_bybit_sockets_both_ways(bybit_settings):
    import dataclasses

    from system.sim.latency import Latency
    from system.sim.server import SimServer
    settings = dataclasses.replace(bybit_settings,
                                   latency=Latency(stream_delay_ms=100.0, handshake_rtts=0))
    with SimServer(settings) as server:
        for path, ping, is_pong in (
                ("/v5/private", {"op": "ping"}, lambda m: m.get("op") == "pong"),
                ("/v5/public/linear", {"op": "ping"}, lambda m: m.get("ret_msg") == "pong")):
            ws = connect(server.url, path)
            try:
                t0 = time.monotonic()
                ws.send(json.dumps(ping))
                read_until(ws, is_pong)
                assert time.monotonic() - t0 >= 0.19  # 100 ms there, 100 ms back
            finally:
                ws.close()


def test_ticker_deltas_come_at_the_mark_stream_interval(bybit_sim):
    interval = bybit_sim.settings.mark_stream_interval_ms / 1000  # 50 ms in tests
    ws = connect(bybit_sim.url, "/v5/public/linear")
    try:
        ws.send(json.dumps({"op": "subscribe", "args": ["tickers.BTCUSDT", "tickers.ETHUSDT"]}))
        read_until(ws, lambda m: m.get("type") == "snapshot")
        got = [m for m in read_for(ws, 20 * interval) if m.get("type") == "delta"]
        per_topic = {t: sum(m["topic"] == t for m in got)
                     for t in ("tickers.BTCUSDT", "tickers.ETHUSDT")}
        assert all(14 <= n <= 21 for n in per_topic.values()), per_topic
    finally:
        ws.close()


def test_public_connections_can_be_stalled_and_closed_and_are_counted(bybit_sim, private):
    from system.sim.bybit.ws_public import describe, public_streams
    ws = connect(bybit_sim.url, "/v5/public/linear")
    try:
        ws.send(json.dumps({"op": "subscribe", "args": ["tickers.BTCUSDT"]}))
        read_until(ws, lambda m: m.get("type") == "snapshot")
        assert bybit_sim.call(describe) == {"private_connections": 1,
                                            "private_authenticated": 1,
                                            "public_connections": 1}
        assert bybit_sim.call(lambda sim: public_streams(sim).silence(0.5)) == 1
        ws.send(json.dumps({"op": "ping"}))
        assert read_for(ws, 0.3) == []  # neither deltas nor the pong while stalled
        assert read_until(ws, lambda m: m.get("ret_msg") == "pong", timeout=3)
        assert bybit_sim.call(lambda sim: public_streams(sim).close_all()) == 1
        assert closes_within(ws, 3)
    finally:
        ws.close()


def test_a_subscribe_repeating_a_topic_names_it_and_still_takes_the_others(bybit_sim):
    ws = connect(bybit_sim.url, "/v5/public/linear")
    try:
        ws.send(json.dumps({"op": "subscribe", "args": ["tickers.ETHUSDT"]}))
        read_until(ws, lambda m: m.get("type") == "snapshot")
        ws.send(json.dumps({"op": "subscribe", "args": ["tickers.ETHUSDT", "tickers.SOLUSDT"]}))
        got = read_until(ws, lambda m: m.get("type") == "snapshot")
        ack = next(m for m in got if m.get("op") == "subscribe")
        assert ack["success"] is False and ack["ret_msg"].endswith("tickers.ETHUSDT")
        assert got[-1]["topic"] == "tickers.SOLUSDT"
    finally:
        ws.close()
