"""The two user-stream faults for the engine's scenario suite: raw frames and a silent peer."""

from __future__ import annotations

import pytest
import websocket

from system.sim.client import SimControlError
from tests.integration.sim.wsutil import connect, frames_for, read_for, read_until
from tests.waiting import wait_for

BTC = "BTC/USDT:USDT"


@pytest.fixture
def listen_key(ccxt_sync) -> str:
    return ccxt_sync.fapiPrivatePostListenKey()["listenKey"]


@pytest.fixture
def user_ws(sim, listen_key):
    ws = connect(sim.url, f"/private/ws?listenKey={listen_key}")
    yield ws
    ws.close()


def _pong_within(ws: websocket.WebSocket, secs: float) -> bool:
    """Ping; True if a pong comes back within `secs` (other frames are skipped)."""
    ws.ping(b"are-you-there")
    pong = (websocket.ABNF.OPCODE_PONG, b"are-you-there")
    return pong in frames_for(ws, secs, until=lambda *f: f == pong)


def test_injected_frame_reaches_every_user_stream_unchanged(sim, user_ws, listen_key,
                                                            sim_control):
    second = connect(sim.url, f"/private/ws?listenKey={listen_key}")
    try:
        raw = '{"e":"ACCOUNT_UPDATE","a": [1, 2' + "\u00e9\x00 not json"

        assert sim_control.inject_frame(raw) == {"sent": 2}

        for ws in (user_ws, second):
            ws.settimeout(5)
            assert ws.recv() == raw
    finally:
        second.close()


def test_injected_frame_bypasses_stream_faults_and_counts_no_events(user_ws, sim_control):
    sim_control.drop_events(5)
    before = sim_control.state()["user_stream"]["events_sent"]

    sim_control.inject_frame("x")

    user_ws.settimeout(5)
    assert user_ws.recv() == "x"
    state = sim_control.state()
    assert state["user_stream"]["events_sent"] == before
    assert state["faults"]["stream"][0]["count"] == 5


def test_inject_frame_without_connections_sends_nothing_and_needs_raw_text(sim_control):
    assert sim_control.inject_frame("{}") == {"sent": 0}
    with pytest.raises(SimControlError, match="'raw' must be str"):
        sim_control._call("POST", "fault/inject_frame", {"raw": 5})


def test_silenced_stream_sends_nothing_and_answers_no_ping_until_the_silence_ends(
        user_ws, ccxt_sync, sim_control):
    assert _pong_within(user_ws, 2.0), "pings are answered before the silence"

    assert sim_control.silence_user_streams(1.5) == {"silenced": 1, "secs": 1.5}
    ccxt_sync.create_order(BTC, "market", "buy", 0.01)

    assert not _pong_within(user_ws, 0.5)
    assert read_for(user_ws, 0.3) == []
    held = read_until(user_ws, lambda m: m["e"] == "ACCOUNT_UPDATE", timeout=5)
    assert [m["e"] for m in held] == ["ORDER_TRADE_UPDATE", "TRADE_LITE", "ORDER_TRADE_UPDATE",
                                      "ACCOUNT_UPDATE"], "held events go out when it ends"
    assert _pong_within(user_ws, 2.0)


def test_a_connection_opened_during_the_silence_is_not_silenced(sim, user_ws, listen_key,
                                                                  sim_control, ccxt_sync):
    sim_control.silence_user_streams(30)
    fresh = connect(sim.url, f"/private/ws/{listen_key}")
    try:
        ccxt_sync.create_order(BTC, "market", "buy", 0.01)

        assert read_until(fresh, lambda m: m["e"] == "ACCOUNT_UPDATE", timeout=5)
        assert _pong_within(fresh, 2.0)
        assert read_for(user_ws, 0.3) == []
    finally:
        fresh.close()


def test_closing_a_silenced_connection_frees_it_at_once(user_ws, sim_control):
    sim_control.silence_user_streams(30)

    user_ws.close(timeout=0.5)

    wait_for(lambda n: n == 0, 5, "the stalled connection to be released",
             sample=lambda: sim_control.state()["user_stream"]["connections"])


@pytest.mark.parametrize("secs", [0, -1, 3601, "2"])
def test_silence_rejects_a_bad_duration(sim_control, secs):
    with pytest.raises(SimControlError, match="secs"):
        sim_control._call("POST", "fault/silence", {"secs": secs})
