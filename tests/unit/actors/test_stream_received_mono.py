"""The stream actors stamp each frame with when it was read and pass it to the events.

No actor system and no exchange: the actors are plain objects with `send` captured, and the
WebSocket is a stand-in whose socket (one end of a socketpair) is readable while frames remain.
"""

from __future__ import annotations

import json
import socket
import time
from types import SimpleNamespace
from typing import Any

import pytest
import websocket
from thespian.actors import WatchMessage

from actors.market_stream import MarketStreamActor
from actors.messages import MarkPrice, OrderUpdate, PositionUpdate, StreamSettings
from actors.stream_base import StreamActor
from actors.user_stream import UserStreamActor
from tests.unit.venues.binance.test_events import ACCOUNT_UPDATE, MARK, ORDER_TRADE_UPDATE
from venues.binance import BinanceUsdm

READ_AT = 4_321.5
SETTINGS = StreamSettings("http://127.0.0.1:1", "ws://127.0.0.1:1", "key", "UNUSED", 1800.0,
                          30.0, 100, 1000, venue=BinanceUsdm())


class _FakeWs:
    """Hands out text frames; its socket is readable while any remain."""

    def __init__(self, frames: list[str]) -> None:
        self.frames = list(frames)
        self.sock, self._peer = socket.socketpair()
        self._peer.sendall(b"x" * len(frames))
        self.read_at: list[float] = []

    def recv_data_frame(self, control_frame: bool) -> tuple[int, Any]:
        self.sock.recv(1)
        self.read_at.append(time.monotonic())
        return websocket.ABNF.OPCODE_TEXT, SimpleNamespace(data=self.frames.pop(0).encode())

    def close(self) -> None:
        self.sock.close()
        self._peer.close()


def _captured(actor: StreamActor) -> list[tuple[Any, Any]]:
    sent: list[tuple[Any, Any]] = []
    actor.send = lambda to, msg: sent.append((to, msg))  # type: ignore[method-assign]
    actor.parent_addr = "supervisor"
    actor.settings = SETTINGS  # the venue that parses the frames (not started: no socket)
    return sent


@pytest.fixture
def fake_ws():
    made: list[_FakeWs] = []

    def make(frames: list[str]) -> _FakeWs:
        made.append(_FakeWs(frames))
        return made[-1]

    yield make
    for ws in made:
        ws.close()


def test_user_stream_events_carry_the_read_time_they_were_handed():
    actor = UserStreamActor()
    sent = _captured(actor)

    actor.on_text(ACCOUNT_UPDATE, READ_AT)

    assert [(to, type(m), m.received_mono) for to, m in sent] == [
        ("supervisor", PositionUpdate, READ_AT)]


def test_market_stream_keeps_the_read_time_of_the_latest_tick():
    actor = MarketStreamActor()
    _captured(actor)
    later = {**MARK, "p": "60100", "E": MARK["E"] + 1000}

    actor.on_text(json.dumps(MARK), READ_AT)
    actor.on_text(json.dumps(later), READ_AT + 1.0)

    tick = actor.latest["BTCUSDT"]
    assert isinstance(tick, MarkPrice)
    assert (str(tick.price), tick.received_mono) == ("60100", READ_AT + 1.0)


def test_each_frame_of_a_drain_is_stamped_when_it_was_read_not_when_the_drain_began(fake_ws):
    actor = UserStreamActor()
    sent = _captured(actor)
    actor.ws = fake_ws([ACCOUNT_UPDATE, ORDER_TRADE_UPDATE])

    actor.receiveMsg_WatchMessage(WatchMessage([actor.ws.sock.fileno()]), None)
    after = time.monotonic()

    first, second = (m for _, m in sent)
    assert (type(first), type(second)) == (PositionUpdate, OrderUpdate)
    read_first, read_second = actor.ws.read_at
    assert read_first <= first.received_mono <= read_second <= second.received_mono <= after
    assert actor.last_rx == second.received_mono
