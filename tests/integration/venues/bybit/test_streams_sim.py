"""The Bybit adapter's socket frames against the simulator's /v5/private and
/v5/public/linear (websocket-client, loopback): the greeting authenticates and subscribes,
the heartbeat is answered, and what the sockets push parses into the engine's events
(orders made through the adapter's own gateway)."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import websocket

from system.sim.client import SimControl
from venue.events import AlgoUpdate, MarkPrice, OrderUpdate, PositionUpdate
from venue.interface import Credentials, StreamAuthError
from venue.requests import AmendStop, PlaceMarket, PlaceStop
from venue.vocab import ExecType, OrderKind, OrderStatus
from venues.bybit import Bybit

pytestmark = pytest.mark.timeout(60)

D = Decimal
SYM = "BTCUSDT"
V = Bybit()


def _open(url: str) -> websocket.WebSocket:
    return websocket.create_connection(url, timeout=5.0)


def _events_until(ws, pred, timeout: float = 5.0) -> list:
    """Parse every frame with the adapter until an event satisfies `pred`."""
    out: list = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ws.settimeout(max(0.01, end - time.monotonic()))
        for ev in V.parse_frame(ws.recv()):
            out.append(ev)
            if pred(ev):
                return out
    raise AssertionError(f"no matching event within {timeout}s; got {out}")


def _answer(ws, timeout: float = 5.0) -> list:
    ws.settimeout(timeout)
    return V.parse_frame(ws.recv())


@pytest.fixture
def private(bybit_sim):
    s = bybit_sim.settings
    base = V.hosts("live", rest_url=bybit_sim.url).stream_base
    ws = _open(V.user_stream_url(base, V.open_user_stream(bybit_sim.url, s.api_key, 1.0)))
    try:
        for frame in V.user_stream_greeting(Credentials(s.api_key, s.api_secret),
                                            int(time.time() * 1000)):
            ws.send(frame)
        assert _answer(ws) == [] and _answer(ws) == []  # auth ack, subscribe ack
        yield ws
    finally:
        ws.close()


@pytest.fixture
def gw(bybit_sim):
    s = bybit_sim.settings
    gateway = V.open_gateway("simulator", bybit_sim.url, Credentials(s.api_key, s.api_secret),
                             5000)
    gateway.warm_up()
    return gateway


def test_the_greeting_is_accepted_and_the_heartbeat_answered(private):
    private.send(V.heartbeat_frame(1))

    assert _answer(private) == []


def test_a_wrong_secret_is_refused_as_a_stream_auth_error(bybit_sim):
    s = bybit_sim.settings
    base = V.hosts("live", rest_url=bybit_sim.url).stream_base
    ws = _open(V.user_stream_url(base, ""))
    try:
        ws.send(V.user_stream_greeting(Credentials(s.api_key, "wrong"),
                                       int(time.time() * 1000))[0])
        with pytest.raises(StreamAuthError):
            _answer(ws)
    finally:
        ws.close()


def test_an_open_a_stop_and_its_amend_arrive_as_the_engines_events(private, gw):
    gw.execute(PlaceMarket(SYM, "BUY", D("0.010"), "pg-1-BTCUSDT-op-1", reduce_only=False))
    opened = _events_until(private, lambda e: isinstance(e, OrderUpdate)
                           and e.status == OrderStatus.FILLED)
    opened += _events_until(private, lambda e: isinstance(e, PositionUpdate) and e.amount)
    placed = gw.execute(PlaceStop(SYM, "SELL", D("0.010"), "pg-1-BTCUSDT-sl-2", "STOP_MARKET",
                                  D("59000"), "MARK_PRICE"))
    resting = _events_until(private, lambda e: isinstance(e, AlgoUpdate))
    gw.execute(AmendStop(SYM, placed.order_id, "pg-1-BTCUSDT-sl-2", D("59400")))
    moved = _events_until(private, lambda e: isinstance(e, AlgoUpdate))

    [fill] = [e for e in opened if isinstance(e, OrderUpdate) and e.exec_type == ExecType.TRADE]
    assert (fill.client_id, fill.exec_type, fill.status, fill.cum_qty, fill.side) == \
        ("pg-1-BTCUSDT-op-1", ExecType.TRADE, OrderStatus.FILLED, D("0.010"), "BUY")
    assert opened[-1].amount == D("0.010") and opened[-1].entry_price > 0
    stop = resting[-1]
    assert (stop.client_id, stop.algo_id, stop.order_type, stop.status, stop.trigger_price) \
        == ("pg-1-BTCUSDT-sl-2", placed.order_id, OrderKind.STOP, OrderStatus.NEW, D("59000"))
    assert (moved[-1].status, moved[-1].trigger_price) == (OrderStatus.NEW, D("59400"))


def test_a_stop_that_fires_gives_its_fill_then_finished_then_flat(private, gw, bybit_sim):
    gw.execute(PlaceMarket(SYM, "BUY", D("0.010"), "pg-1-BTCUSDT-op-1", reduce_only=False))
    gw.execute(PlaceStop(SYM, "SELL", D("0.010"), "pg-1-BTCUSDT-sl-2", "STOP_MARKET",
                         D("59000"), "MARK_PRICE"))
    _events_until(private, lambda e: isinstance(e, AlgoUpdate))
    SimControl(bybit_sim.url, timeout_secs=5.0).set_price(SYM, "58900")

    seen = _events_until(private, lambda e: isinstance(e, PositionUpdate) and e.amount == 0)

    fills = [e for e in seen if isinstance(e, OrderUpdate) and e.status == OrderStatus.FILLED]
    algos = [e.status for e in seen if isinstance(e, AlgoUpdate)]
    assert fills and fills[-1].client_id == "pg-1-BTCUSDT-sl-2"
    assert fills[-1].order_type == OrderKind.STOP and fills[-1].exec_type == ExecType.TRADE
    assert OrderStatus.FINISHED in algos


def test_the_public_tickers_carry_the_mark_price(bybit_sim):
    base = V.hosts("live", rest_url=bybit_sim.url).stream_base
    ws = _open(V.market_stream_url(base))
    try:
        ws.send(V.mark_price_subscription(True, [SYM], 1))
        marks = _events_until(ws, lambda e: isinstance(e, MarkPrice))
        ws.send(V.heartbeat_frame(2))
        SimControl(bybit_sim.url, timeout_secs=5.0).set_mark(SYM, "60123.4")
        moved = _events_until(ws, lambda e: isinstance(e, MarkPrice)
                              and e.price == D("60123.4"))
    finally:
        ws.close()

    assert marks[-1].symbol == SYM and marks[-1].price > 0
    assert moved[-1].event_ms > 0
