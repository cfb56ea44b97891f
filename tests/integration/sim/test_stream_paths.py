"""Market-data entry points as Binance lays them out since 2026-04-23: /market, /public, retired.

/market serves markPrice in ws mode (raw frames, streams in the path or SUBSCRIBEd) and stream
mode (`?streams=`, frames wrapped {"stream","data"}); /public has the same layout but no
mark price; the legacy /ws and /stream paths accept, acknowledge and never push.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.sim.wsutil import connect, read_for, read_until

BTC_MARK = "btcusdt@markPrice@1s"
SILENCE_SECS = 0.4
"""Eight mark intervals of the test settings (50 ms): a pushing stream would have ticked."""


def _request(ws, method, params=None, rid=1):
    msg = {"method": method, "id": rid}
    if params is not None:
        msg["params"] = params
    ws.send(json.dumps(msg))
    return read_until(ws, lambda m: isinstance(m, dict) and m.get("id") == rid)[-1]


def test_market_ws_mode_pushes_raw_frames_for_every_stream_in_the_path(sim):
    ws = connect(sim.url, f"/market/ws/{BTC_MARK}/ethusdt@markPrice")
    try:
        frames = read_for(ws, 0.3)
    finally:
        ws.close()

    assert frames and all("stream" not in f for f in frames)
    assert {f["s"] for f in frames} == {"BTCUSDT", "ETHUSDT"}
    assert {f["e"] for f in frames} == {"markPriceUpdate"}


def test_market_ws_starts_empty_then_follows_subscribe_list_and_unsubscribe(sim):
    ws = connect(sim.url, "/market/ws")
    try:
        assert read_for(ws, 0.2) == []

        assert _request(ws, "SUBSCRIBE", ["BTCUSDT@markprice@1s"], 1) == {"result": None,
                                                                        "id": 1}
        tick = read_until(ws, lambda m: m.get("e") == "markPriceUpdate")[-1]
        listed = _request(ws, "LIST_SUBSCRIPTIONS", rid=2)
        assert _request(ws, "UNSUBSCRIBE", [BTC_MARK], 3) == {"result": None, "id": 3}
        read_for(ws, 0.1)  # a tick already on its way
        after = read_for(ws, SILENCE_SECS)
    finally:
        ws.close()

    assert tick["s"] == "BTCUSDT" and "stream" not in tick
    assert listed["result"] == [BTC_MARK], "echoed in Binance's spelling"
    assert after == []


def test_market_stream_mode_wraps_frames_and_takes_subscribe(sim):
    ws = connect(sim.url, f"/market/stream?streams={BTC_MARK}/!markPrice@arr@1s")
    try:
        first = read_for(ws, 0.2)
        assert _request(ws, "SUBSCRIBE", ["ethusdt@markPrice"], 5)["result"] is None
        eth = read_until(ws, lambda m: m.get("stream") == "ethusdt@markPrice")[-1]
    finally:
        ws.close()

    by_stream = {f["stream"]: f["data"] for f in first}
    assert set(by_stream) == {BTC_MARK, "!markPrice@arr@1s"}
    assert by_stream[BTC_MARK]["s"] == "BTCUSDT"
    assert {r["s"] for r in by_stream["!markPrice@arr@1s"]} >= {"BTCUSDT", "ETHUSDT"}
    assert eth["data"]["s"] == "ETHUSDT"


def test_the_combined_property_switches_wrapping_on_a_ws_mode_connection(sim):
    ws = connect(sim.url, f"/market/ws/{BTC_MARK}")
    try:
        assert _request(ws, "GET_PROPERTY", ["combined"], 1) == {"result": False, "id": 1}
        assert _request(ws, "SET_PROPERTY", ["combined", True], 2) == {"result": None, "id": 2}
        wrapped = read_until(ws, lambda m: "stream" in m)[-1]
        assert _request(ws, "GET_PROPERTY", ["combined"], 3)["result"] is True
        bad = _request(ws, "SET_PROPERTY", ["combined", "yes"], 4)
    finally:
        ws.close()

    assert wrapped["stream"] == BTC_MARK and wrapped["data"]["s"] == "BTCUSDT"
    assert bad["error"] == {"code": 1, "msg": "Invalid value type: expected Boolean"}


@pytest.mark.parametrize("path", ["/public/ws", f"/public/ws/{BTC_MARK}",
                                  f"/public/stream?streams={BTC_MARK}"])
def test_public_acknowledges_mark_price_but_never_pushes_it(sim, path):
    ws = connect(sim.url, path)
    try:
        acks = [_request(ws, "SUBSCRIBE", [BTC_MARK], 1),
                _request(ws, "SUBSCRIBE", ["btcusdt@depth20@100ms", "!bookTicker"], 2)]
        listed = _request(ws, "LIST_SUBSCRIPTIONS", rid=3)
        frames = read_for(ws, SILENCE_SECS)
    finally:
        ws.close()

    assert [a["result"] for a in acks] == [None, None]
    assert listed["result"] == [BTC_MARK, "btcusdt@depth20@100ms", "!bookTicker"]
    assert frames == [], "markPrice lives on /market; /public has no data for it"


@pytest.mark.parametrize("path", ["/market/ws", "/public/ws"])
def test_bad_requests_get_binances_errors_and_the_connection_stays(sim, path):
    ws = connect(sim.url, path)
    try:
        ws.send("{not json")
        invalid_json = read_until(ws, lambda m: "error" in m)[-1]
        replies = [_request(ws, "SUBSCRIBE", ["not a stream"], 1),
                   _request(ws, "SUBSCRIBE", ["btcusdt@markPrice@3s"], 2),
                   _request(ws, "PING", [], 3),
                   _request(ws, "SET_PROPERTY", ["speed", 1], 4)]
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": [BTC_MARK], "id": -1}))
        bad_id = read_until(ws, lambda m: "error" in m)[-1]
        still = _request(ws, "LIST_SUBSCRIPTIONS", rid=9)
    finally:
        ws.close()

    assert invalid_json["error"]["code"] == 3
    assert invalid_json["error"]["msg"].startswith("Invalid JSON")
    assert [r["error"] for r in replies[:2]] == [
        {"code": 2, "msg": "Invalid request: invalid stream"}] * 2
    assert replies[2]["error"]["msg"].startswith("Invalid request: unknown variant `PING`")
    assert replies[3]["error"] == {"code": 0, "msg": "Unknown property"}
    assert bad_id["error"]["msg"] == "Invalid request: request ID must be an unsigned integer"
    assert still == {"result": [], "id": 9}


def test_the_sdks_string_request_ids_are_answered(sim):
    ws = connect(sim.url, "/market/ws")
    try:
        reply = _request(ws, "SUBSCRIBE", [BTC_MARK], "0b7f1e2c-5d6a-4c8e-9f10-1a2b3c4d5e6f")
    finally:
        ws.close()

    assert reply == {"result": None, "id": "0b7f1e2c-5d6a-4c8e-9f10-1a2b3c4d5e6f"}


RETIRED = ["/ws", f"/ws/{BTC_MARK}", f"/ws/{BTC_MARK}/!markPrice@arr@1s",
           f"/stream?streams={BTC_MARK}", "/stream"]


@pytest.mark.parametrize("path", RETIRED)
def test_retired_paths_complete_the_handshake_acknowledge_and_never_push(
        sim, sim_control, ccxt_sync, path):
    live = connect(sim.url, f"/market/ws/{BTC_MARK}")
    retired = connect(sim.url, path)
    try:
        ack = _request(retired, "SUBSCRIBE", [BTC_MARK], 1)
        sim_control.set_price("BTCUSDT", 61000)
        ccxt_sync.create_order("BTC/USDT:USDT", "market", "buy", 0.01)
        pushed = read_for(retired, SILENCE_SECS)
        control = read_for(live, 0.1)
    finally:
        retired.close()
        live.close()

    assert ack == {"result": None, "id": 1}
    assert pushed == [], f"{path} is retired: Binance sends nothing there"
    assert control, "the same stream on /market did tick meanwhile"


def test_a_retired_user_stream_path_is_silent_too(sim, ccxt_sync):
    key = ccxt_sync.fapiPrivatePostListenKey()["listenKey"]
    retired = [connect(sim.url, f"/ws/{key}"), connect(sim.url, f"/stream?streams={key}")]
    live = connect(sim.url, f"/private/ws?listenKey={key}")
    try:
        ccxt_sync.create_order("BTC/USDT:USDT", "market", "buy", 0.01)
        got_live = read_until(live, lambda m: m["e"] == "ACCOUNT_UPDATE")
        pushed = [read_for(ws, 0.2) for ws in retired]
    finally:
        for ws in [*retired, live]:
            ws.close()

    assert got_live and pushed == [[], []]


def test_an_upgrade_on_a_path_that_is_no_stream_is_refused_with_404(sim):
    import websocket

    for path in ("/markets/ws", "/market/stream/btcusdt@markPrice", "/private/stream/abc"):
        with pytest.raises(websocket.WebSocketBadStatusException) as e:
            connect(sim.url, path)
        assert e.value.status_code == 404, path
