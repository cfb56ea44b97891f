"""The latency model seen by real clients: ccxt over REST, websocket-client on the streams."""

from __future__ import annotations

import dataclasses
import http.client
import json
import statistics
import time
from urllib.parse import urlsplit

import pytest

from system.sim.client import SimControl
from system.sim.latency import Latency
from system.sim.probe import Probe
from system.sim.server import SimServer
from tests.fixtures.sim import TEST_SETTINGS
from tests.integration.sim.wsutil import connect, read_until

BTC = "BTC/USDT:USDT"
RTT = 0.100
STREAM = 0.050
JITTER = 0.010
MARGIN = 0.150
"""Generous: the machine is shared; the lower bounds are the guarantees, exact."""
LATENCY = Latency(rest_rtt_ms=RTT * 1000, stream_delay_ms=STREAM * 1000,
                  jitter_ms=JITTER * 1000, handshake_rtts=2)


@pytest.fixture
def sim_settings():
    return dataclasses.replace(TEST_SETTINGS, latency=LATENCY)


def _timed(fn):
    t = time.monotonic()
    fn()
    return time.monotonic() - t


def test_rest_call_on_a_kept_alive_connection_pays_one_round_trip(ccxt_sync):
    ccxt_sync.fetch_time()  # the connection is open and kept alive from here

    times = [_timed(ccxt_sync.fetch_time) for _ in range(5)]

    assert min(times) >= RTT
    assert statistics.median(times) < RTT + 2 * JITTER + MARGIN


def test_a_new_connection_pays_the_handshake_round_trips_first(sim):
    u = urlsplit(sim.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)

    def get():
        conn.request("GET", "/fapi/v1/time")
        assert conn.getresponse().read()

    try:
        first = _timed(get)
        again = _timed(get)  # same socket, kept alive
    finally:
        conn.close()

    assert first >= 3 * RTT  # 2 handshake round trips + the request's own
    assert RTT <= again < 3 * RTT


def test_an_order_reaches_the_venue_half_a_round_trip_after_it_is_sent(sim, ccxt_sync):
    ccxt_sync.create_order(BTC, "market", "buy", 0.01)
    sim.call(lambda s: setattr(s, "probe", Probe()))

    sent = time.monotonic()
    ccxt_sync.create_order(BTC, "market", "sell", 0.01, None,
                           {"stopPrice": 59000, "reduceOnly": True})
    replied = time.monotonic()

    [placed] = sim.call(lambda s: s.probe.take())["placements"]
    assert placed["t_mono"] - sent >= RTT / 2
    assert replied - placed["t_mono"] >= RTT / 2


def test_control_api_is_never_delayed_and_reports_the_latency(sim):
    control = SimControl(sim.url, timeout_secs=5.0)

    times = [_timed(control.state) for _ in range(3)]  # each on a new connection

    # Delayed, each call would take >= 3 x RTT (handshake + its own round trip).
    assert statistics.median(times) < RTT
    assert control.state()["latency"] == dataclasses.asdict(LATENCY)


def test_market_frames_arrive_a_stream_delay_after_emission_in_order(sim):
    opened = time.monotonic()
    ws = connect(sim.url, "/market/ws/btcusdt@markPrice@1s")
    connected = time.monotonic() - opened
    try:
        arrivals = []
        frames = read_until(ws, lambda m: arrivals.append(time.time() * 1000) or
                            len(arrivals) >= 12, timeout=5)
    finally:
        ws.close()

    assert connected >= 3 * 2 * STREAM  # TCP, TLS and the upgrade on the stream path
    lags = [at - f["E"] for at, f in zip(arrivals, frames, strict=True)]
    assert min(lags) >= STREAM * 1000
    events = [f["E"] for f in frames]
    assert events == sorted(events) and len(set(events)) == len(events)
    # Frames are pipelined: 12 ticks 50 ms apart are not held up one delay each.
    assert arrivals[-1] - arrivals[0] < 11 * (TEST_SETTINGS.mark_stream_interval_ms
                                              + STREAM * 1000)


def test_subscribe_takes_effect_after_the_request_arrives_and_replies_a_delay_later(sim):
    ws = connect(sim.url, "/market/ws")
    try:
        sent = time.monotonic()
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@markPrice@1s"],
                            "id": 7}))
        msgs = read_until(ws, lambda m: m.get("id") == 7, timeout=5)
        acked = time.monotonic()
        first = read_until(ws, lambda m: m.get("e") == "markPriceUpdate", timeout=5)[-1]
    finally:
        ws.close()

    assert msgs[-1] == {"result": None, "id": 7}
    assert acked - sent >= 2 * STREAM
    assert first["s"] == "BTCUSDT"


def test_user_stream_frames_are_delayed_too(sim, ccxt_sync):
    key = ccxt_sync.fapiPrivatePostListenKey()["listenKey"]
    ws = connect(sim.url, f"/private/ws?listenKey={key}")
    try:
        sent = time.monotonic()
        SimControl(sim.url).inject_frame('{"e":"marker","n":1}')
        SimControl(sim.url).inject_frame('{"e":"marker","n":2}')
        got = read_until(ws, lambda m: m.get("n") == 2, timeout=5)
        arrived = time.monotonic()
    finally:
        ws.close()

    assert [m["n"] for m in got] == [1, 2]
    assert arrived - sent >= STREAM


def test_zero_latency_is_the_plain_simulator():
    with SimServer(TEST_SETTINGS) as server:
        active = server.call(lambda s: (s.rest_delay.active, s.stream_delay.active,
                                        s.users.delay))
        u = urlsplit(server.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
        try:
            def get():
                conn.request("GET", "/fapi/v1/time")
                conn.getresponse().read()
            first = _timed(get)
        finally:
            conn.close()

    assert active == (False, False, None)
    assert first < RTT
