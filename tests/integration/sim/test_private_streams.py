"""The /private entry point: listenKeys in the URL or SUBSCRIBEd, `events=` filters, both modes.

Binance refuses nothing at the handshake: an unknown, deleted or expired listenKey gets a
connection that stays silent; an expiring key sends listenKeyExpired and then nothing.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.sim.wsutil import closes_within, connect, read_for, read_until

BTC = "BTC/USDT:USDT"
BOGUS = "A" * 64


@pytest.fixture
def key(ccxt_sync) -> str:
    """The account's live listenKey."""
    return ccxt_sync.fapiPrivatePostListenKey()["listenKey"]


def _buy(ex):
    ex.create_order(BTC, "market", "buy", 0.01)


def _data(frames):
    return [f["data"] for f in frames]


def test_listen_keys_look_like_binances(key):
    assert len(key) == 64 and key.isalnum()


def test_ws_mode_with_an_events_filter_sends_only_those_events(sim, ccxt_sync, key):
    ws = connect(sim.url, f"/private/ws?listenKey={key}&events=ACCOUNT_UPDATE/ALGO_UPDATE")
    try:
        _buy(ccxt_sync)
        frames = read_for(ws, 0.3)
    finally:
        ws.close()

    assert [f["e"] for f in frames] == ["ACCOUNT_UPDATE"]


def test_stream_mode_wraps_every_event_with_its_listen_key(sim, ccxt_sync, key):
    ws = connect(sim.url, f"/private/stream?listenKey={key}")
    try:
        _buy(ccxt_sync)
        frames = read_until(ws, lambda m: m["data"]["e"] == "ACCOUNT_UPDATE")
    finally:
        ws.close()

    assert {f["stream"] for f in frames} == {key}
    assert [d["e"] for d in _data(frames)] == ["ORDER_TRADE_UPDATE", "TRADE_LITE",
                                               "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"]


def test_several_listen_keys_each_with_its_own_events(sim, ccxt_sync, key):
    url = (f"/private/stream?listenKey={BOGUS}&events=ORDER_TRADE_UPDATE"
           f"&listenKey={key}&events=TRADE_LITE/ACCOUNT_UPDATE")
    ws = connect(sim.url, url)
    try:
        _buy(ccxt_sync)
        frames = read_for(ws, 0.3)
    finally:
        ws.close()

    assert [(f["stream"], f["data"]["e"]) for f in frames] == [
        (key, "TRADE_LITE"), (key, "ACCOUNT_UPDATE")], "the bogus key gets nothing"


def test_subscribing_the_listen_key_on_private_stream_like_binances_sdk(sim, ccxt_sync, key):
    ws = connect(sim.url, "/private/stream")
    try:
        assert read_for(ws, 0.1) == []
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": [key], "id": "uuid-1"}))
        ack = read_until(ws, lambda m: m.get("id") == "uuid-1")[-1]
        _buy(ccxt_sync)
        frames = read_until(ws, lambda m: m.get("data", {}).get("e") == "ACCOUNT_UPDATE")
        ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}))
        listed = read_until(ws, lambda m: m.get("id") == 2)[-1]
        ws.send(json.dumps({"method": "UNSUBSCRIBE", "params": [key], "id": 3}))
        read_until(ws, lambda m: m.get("id") == 3)
        _buy(ccxt_sync)
        after = read_for(ws, 0.3)
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["no such key!"], "id": 4}))
        bad = read_until(ws, lambda m: m.get("id") == 4)[-1]
    finally:
        ws.close()

    assert ack == {"result": None, "id": "uuid-1"}
    assert {f["stream"] for f in frames} == {key}
    assert listed["result"] == [key]
    assert after == []
    assert bad["error"] == {"code": 2, "msg": "Invalid request: invalid stream"}


def test_the_path_form_takes_the_key_and_an_events_filter(sim, ccxt_sync, key):
    ws = connect(sim.url, f"/private/ws/{key}?events=TRADE_LITE")
    try:
        _buy(ccxt_sync)
        frames = read_for(ws, 0.3)
    finally:
        ws.close()

    assert [f["e"] for f in frames] == ["TRADE_LITE"]


@pytest.mark.parametrize("path", [f"/private/ws?listenKey={BOGUS}", f"/private/ws/{BOGUS}",
                                  f"/private/stream?listenKey={BOGUS}", "/private/ws"])
def test_an_unknown_listen_key_is_accepted_and_stays_silent(sim, ccxt_sync, key, path):
    ws = connect(sim.url, path)
    try:
        _buy(ccxt_sync)
        frames = read_for(ws, 0.3)
        open_still = not closes_within(ws, 0.1)
    finally:
        ws.close()

    assert frames == [] and open_still


def test_an_expired_key_sends_listen_key_expired_then_nothing_and_stays_open(
        sim, ccxt_sync, key, sim_control):
    ws = connect(sim.url, f"/private/ws?listenKey={key}")
    try:
        sim.call(lambda s: setattr(s.users, "expires_ms", 0))  # as if 60 min passed
        expired = read_until(ws, lambda m: m["e"] == "listenKeyExpired")[-1]
        new_key = ccxt_sync.fapiPrivatePostListenKey()["listenKey"]
        _buy(ccxt_sync)
        after = read_for(ws, 0.3)
        open_still = not closes_within(ws, 0.1)
        stale = connect(sim.url, f"/private/ws?listenKey={key}")
        fresh = connect(sim.url, f"/private/ws?listenKey={new_key}")
        _buy(ccxt_sync)
        got = [read_for(stale, 0.3), read_until(fresh, lambda m: m["e"] == "ACCOUNT_UPDATE")]
        stale.close()
        fresh.close()
    finally:
        ws.close()

    assert expired == {"e": "listenKeyExpired", "E": expired["E"], "listenKey": key}
    assert new_key != key
    assert after == [] and open_still
    assert got[0] == [] and got[1][-1]["e"] == "ACCOUNT_UPDATE"
    assert sim_control.state()["user_stream"]["listen_key"] == new_key


def test_delete_closes_the_keys_connections(sim, ccxt_sync, key):
    bound = connect(sim.url, f"/private/ws?listenKey={key}")
    other = connect(sim.url, f"/private/ws?listenKey={BOGUS}")
    try:
        ccxt_sync.fapiPrivateDeleteListenKey()
        closed = [closes_within(bound, 2.0), closes_within(other, 0.2)]
    finally:
        bound.close()
        other.close()

    assert closed == [True, False]
