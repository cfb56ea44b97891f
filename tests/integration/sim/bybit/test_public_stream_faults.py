"""The control API's faults on Bybit's public (tickers) connections, seen by websocket-client."""

from __future__ import annotations

import json
import time

import pytest

from system.sim.client import SimControl
from tests.integration.sim.wsutil import closes_within, connect, read_for, read_until

pytestmark = pytest.mark.timeout(60)


def _subscribed(url: str):
    ws = connect(url, "/v5/public/linear")
    ws.send(json.dumps({"req_id": "1", "op": "subscribe", "args": ["tickers.BTCUSDT"]}))
    read_until(ws, lambda m: m.get("type") == "snapshot")
    return ws


def test_close_market_streams_closes_every_public_connection_and_state_counts_them(bybit_sim):
    control = SimControl(bybit_sim.url)
    ws = _subscribed(bybit_sim.url)
    try:
        assert control.state()["bybit_streams"]["public_connections"] == 1

        said = control.close_market_streams()

        assert said == {"closed": 1}
        assert closes_within(ws, 5.0)
    finally:
        ws.close()


def test_silenced_public_connections_send_no_ticker_deltas(bybit_sim):
    control = SimControl(bybit_sim.url)
    ws = _subscribed(bybit_sim.url)
    try:
        assert control.silence_market_streams(1.0)["silenced"] == 1
        silenced_ms = time.time() * 1000  # the silence began before its call returned

        # A frame the venue stamped before the silence began may still be on its way; none
        # stamped after the call returned may come.
        assert [m for m in read_for(ws, 0.5) if m["ts"] > silenced_ms] == []
        after = read_for(ws, 1.5)
        assert any(m.get("type") == "delta" for m in after), after
    finally:
        ws.close()
