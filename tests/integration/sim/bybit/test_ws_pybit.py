"""Unmodified pybit 5.17.0 `WebSocket` (private and public) against the Bybit simulator.

pybit reads its URLs from module constants (bybit-linear.md "Pointing unmodified clients at a
local server"); each test points them at the simulator and restores them. pybit runs threads:
every WebSocket a test opens is exited by the fixture.

The simulator runs with a stream delay of 5 ms each way here, below any real venue's (20 ms
and more round trip from the venue's own region). pybit 5.17.0's `subscribe` sends the frame
and only then records its `req_id`; a server that acks within that gap, as a 0 ms loopback
server on a loaded machine does, makes pybit's socket thread raise `KeyError` on the ack,
close, and leaves `subscribe` of the next topic waiting for ever for a connection. That race
is pybit's and never met on the venue, so the bench is given a venue's latency, not fewer
acks.
"""

from __future__ import annotations

import dataclasses
import queue
import time
from decimal import Decimal

import pybit.unified_trading as ut
import pytest

from system.sim.engine_algos import AlgoRequest
from system.sim.latency import Latency
from tests.fixtures.sim import BYBIT_TEST_SETTINGS

pytestmark = pytest.mark.timeout(60)

VENUE_LIKE = dataclasses.replace(BYBIT_TEST_SETTINGS, latency=Latency(stream_delay_ms=5.0))


@pytest.fixture
def bybit_settings():
    """The Bybit front with a venue's stream delay (the module docstring says why)."""
    return VENUE_LIKE


@pytest.fixture
def pybit_ws(bybit_sim, monkeypatch):
    """A factory of pybit WebSockets pointed at `bybit_sim`; all exited on teardown."""
    host = bybit_sim.url.split("://", 1)[1]
    monkeypatch.setattr(ut, "PRIVATE_WSS", f"ws://{host}/v5/private")
    monkeypatch.setattr(ut, "PUBLIC_WSS", f"ws://{host}/v5/public/{{CHANNEL_TYPE}}")
    opened = []

    def make(**kw):
        # websocket-client's run_forever notices a local close only when its select times
        # out (ping_timeout, pybit's default 10 s): short pings let the thread end quickly.
        ws = ut.WebSocket(testnet=False, ping_interval=2, ping_timeout=1, **kw)
        opened.append(ws)
        return ws
    yield make
    for ws in opened:
        # pybit's error handler reconnects even after exit() (restart_on_error): switch it
        # off first, or the close itself can start a new socket thread.
        ws.handle_error = False
        ws.exit()
        thread = getattr(ws, "wst", None)  # websocket-client's run_forever thread
        if thread is not None:
            thread.join(5)
            assert not thread.is_alive(), "pybit's socket thread outlived exit()"


def _get(q: queue.Queue, pred, timeout: float = 5.0) -> dict:
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError("no matching message in time")
        msg = q.get(timeout=left)
        if pred(msg):
            return msg


def test_pybit_private_streams_see_a_stop_placed_and_fired(bybit_sim, pybit_ws):
    s = bybit_sim.settings
    ws = pybit_ws(channel_type="private", api_key=s.api_key, api_secret=s.api_secret)
    orders, positions, executions = queue.Queue(), queue.Queue(), queue.Queue()
    ws.order_stream(orders.put)
    ws.position_stream(positions.put)
    ws.execution_stream(executions.put)
    time.sleep(0.3)  # pybit's subscribe acks arrive on its thread
    assert ws.auth is True
    bybit_sim.call(lambda sim: sim.engine.place_market(
        "ETHUSDT", "BUY", Decimal("0.100"), "open-1", False))
    assert _get(positions, lambda m: m["data"][0]["size"] == "0.100")["topic"] == "position"
    bybit_sim.call(lambda sim: sim.engine.place_algo(AlgoRequest(
        "ETHUSDT", "SELL", "STOP_MARKET", Decimal("0.100"), Decimal("2950.00"), True, False,
        "sl-1", working_type="MARK_PRICE", trigger_direction=2)))
    placed = _get(orders, lambda m: m["data"][0]["orderStatus"] == "Untriggered")
    assert placed["data"][0]["orderLinkId"] == "sl-1"
    bybit_sim.call(lambda sim: sim.engine.set_price("ETHUSDT", Decimal("2940")))
    filled = _get(orders, lambda m: m["data"][0]["orderStatus"] == "Filled"
                  and m["data"][0]["orderLinkId"] == "sl-1")
    assert filled["data"][0]["orderId"] == placed["data"][0]["orderId"]
    assert _get(executions, lambda m: m["data"][0]["orderLinkId"] == "sl-1")
    assert _get(positions, lambda m: m["data"][0]["side"] == "")["data"][0]["size"] == "0.000"


def test_pybit_reconnects_reauths_and_resubscribes_after_a_server_close(bybit_sim,
                                                                       pybit_ws):
    from system.sim.client import SimControl
    s = bybit_sim.settings
    ws = pybit_ws(channel_type="private", api_key=s.api_key, api_secret=s.api_secret,
                  retries=3)
    wallets = queue.Queue()
    ws.wallet_stream(wallets.put)
    time.sleep(0.3)
    assert SimControl(bybit_sim.url).close_user_streams()["closed"] == 1
    deadline = time.monotonic() + 10
    while not (ws.is_connected() and ws.auth) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the stored subscribe frames go out again after the reconnect
    bybit_sim.call(lambda sim: sim.engine.place_market(
        "ETHUSDT", "BUY", Decimal("0.100"), "open-2", False))
    wallet = _get(wallets, lambda m: True, timeout=5)
    assert wallet["data"][0]["accountType"] == "UNIFIED"


def test_pybit_public_ticker_stream_merges_deltas_into_the_snapshot(bybit_sim, pybit_ws):
    ws = pybit_ws(channel_type="linear")
    tickers = queue.Queue()
    # pybit hands the callback a live reference that later deltas mutate: copy it.
    ws.ticker_stream("BTCUSDT", lambda m: tickers.put({**m, "data": dict(m["data"])}))
    first = _get(tickers, lambda m: True)
    assert first["topic"] == "tickers.BTCUSDT" and "markPrice" in first["data"]
    bybit_sim.call(lambda sim: sim.engine.set_mark("BTCUSDT", Decimal("60500.0")))
    moved = _get(tickers, lambda m: Decimal(m["data"]["markPrice"]) == 60500)
    assert moved["data"]["lastPrice"] == first["data"]["lastPrice"]  # merged, not lost
    assert "openInterestValue" in moved["data"]
