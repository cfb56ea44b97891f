"""The control API's faults on the Binance front's market-data connections, seen by
websocket-client: a server-side cut, and a silence (no tick, no answer, no pong) that ends by
itself. The Bybit front's twin is tests/integration/sim/bybit/test_public_stream_faults.py."""

from __future__ import annotations

import json
import time

import pytest
import websocket

from system.sim.client import SimControl, SimControlError
from tests.integration.sim.wsutil import closes_within, connect, frames_for, read_until

pytestmark = pytest.mark.timeout(60)

MARK = "/market/ws/btcusdt@markPrice@1s"


def _is_tick(m: dict) -> bool:
    return m.get("e") == "markPriceUpdate"


def test_a_silenced_market_stream_sends_no_tick_and_no_pong_then_resumes(sim):
    control = SimControl(sim.url)
    ws = connect(sim.url, MARK)
    try:
        read_until(ws, _is_tick, 3.0)
        ws.ping("alive?")
        assert any(op == websocket.ABNF.OPCODE_PONG for op, _ in frames_for(ws, 0.5))

        assert control.silence_market_streams(2.0) == {"silenced": 1, "secs": 2.0}
        silenced_ms = time.time() * 1000  # the silence began before its call returned
        ws.ping("alive?")
        ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 7}))
        # A 1 s stream: a tick is due in the window and none may be sent. A tick the venue
        # stamped before the silence began may still be on its way (CI saw one); no pong, no
        # answer and no tick stamped after the call returned may come.
        assert [(op, data) for op, data in frames_for(ws, 1.5)
                if op != websocket.ABNF.OPCODE_TEXT or json.loads(data)["E"] > silenced_ms] == []

        read_until(ws, _is_tick, 3.0)  # the silence ends by itself
    finally:
        ws.close()


def test_close_market_streams_cuts_every_market_connection(sim):
    control = SimControl(sim.url)
    ws, combined = connect(sim.url, MARK), connect(sim.url, "/market/stream?streams="
                                                            "ethusdt@markPrice@1s")
    try:
        read_until(ws, _is_tick, 3.0)
        assert control.close_market_streams() == {"closed": 2}
        assert closes_within(ws, 5.0) and closes_within(combined, 5.0)
    finally:
        ws.close()
        combined.close()


def test_a_silence_outside_its_range_is_refused(sim):
    with pytest.raises(SimControlError, match="secs"):
        SimControl(sim.url).silence_market_streams(0)
