"""The stream actors honour the venue's hooks for a private socket that authenticates itself
and wants application-level pings (Bybit's shape, on a fake venue: no adapter needed):
the greeting sent right after the socket opens with credentials read inside the actor, the
stream counted as connected (and every symbol told to reconcile) only once the venue has
answered the greeting, no session-key keepalive, a heartbeat frame every heartbeat_secs on
both streams, and a refused authentication logged with the venue's reason and retried after
a growing backoff. Binance (no greeting, no heartbeat) is held to what it did before.

No actor system: the actors are plain objects with `send` and `wakeupAfter` captured, and
the WebSocket is a stand-in (as in test_stream_received_mono)."""

from __future__ import annotations

import json
import logging
import socket
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
import websocket
from thespian.actors import WatchMessage

from actors.market_stream import MarketStreamActor
from actors.messages import (
    HealthCheck,
    Keepalive,
    PositionUpdate,
    Reconnect,
    StreamConnected,
    StreamSettings,
    Subscriptions,
)
from actors.stream_base import StreamActor
from actors.user_stream import UserStreamActor
from tests.unit.venues.binance.test_events import ACCOUNT_UPDATE
from venue.interface import Credentials, FrameError, StreamAuthError
from venues.binance import BinanceUsdm


@dataclass(frozen=True, slots=True)
class SelfAuthVenue(BinanceUsdm):
    """A venue whose private socket signs its own auth and wants pings (Bybit's shape).
    Its frames: {"op": "auth"|"subscribe"|"pong", "success": bool, "ret_msg": ...}; every
    other frame is Binance's (so typed events exist without a second parser)."""

    name: ClassVar[str] = "selfauth"
    heartbeat_secs: ClassVar[float] = 20.0
    user_stream_keepalive: ClassVar[bool] = False

    def open_user_stream(self, rest_url: str, api_key: str, timeout_secs: float) -> str:
        return ""  # no session key, no REST call

    def keep_user_stream(self, rest_url: str, api_key: str, key: str,
                         timeout_secs: float) -> None:
        raise AssertionError("a venue without a session key is never kept alive")

    def user_stream_url(self, stream_base: str, key: str) -> str:
        return f"{stream_base}/private"

    def user_stream_greeting(self, credentials: Credentials, now_ms: int) -> list[str]:
        return [json.dumps({"op": "auth", "args": [credentials.api_key, now_ms + 10_000,
                                                   f"signed-with-{credentials.secret}"]}),
                json.dumps({"op": "subscribe", "args": ["position", "order"]})]

    def heartbeat_frame(self, request_id: int) -> str | None:
        return json.dumps({"req_id": str(request_id), "op": "ping"})

    def parse_frame(self, raw: str | bytes, received_ms: int | None = None,
                    received_mono: float | None = None) -> list[Any]:
        msg = json.loads(raw)
        if "op" in msg:
            if msg["op"] == "auth" and not msg.get("success"):
                raise StreamAuthError(f"auth refused: {msg.get('ret_msg')}")
            if msg["op"] == "subscribe" and not msg.get("success"):
                raise FrameError(f"subscribe refused: {msg.get('ret_msg')}")
            return []
        return BinanceUsdm.parse_frame(self, raw, received_ms, received_mono)


AUTH_OK = json.dumps({"op": "auth", "success": True, "ret_msg": ""})
SUB_OK = json.dumps({"op": "subscribe", "success": True, "ret_msg": ""})
AUTH_REFUSED = json.dumps({"op": "auth", "success": False,
                           "ret_msg": "Params Error: invalid signature"})
PONG = json.dumps({"op": "pong", "success": True, "ret_msg": "pong"})


def settings(venue: Any, paper_key: str | None = "pk", paper_secret: str | None = "ps",
             **kw: Any) -> StreamSettings:
    return StreamSettings("http://127.0.0.1:1", "ws://127.0.0.1:1", paper_key, "PG_KEY",
                          1800.0, 30.0, 100, 1000, venue=venue, paper_secret=paper_secret,
                          api_secret_env="PG_SECRET", **kw)


class FakeWs:
    """Records what is sent; hands out queued frames (its socket is readable while any
    remain)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.frames: list[str] = []
        self.sock, self._peer = socket.socketpair()
        self.closed = False

    def push(self, *frames: str) -> None:
        self.frames.extend(frames)
        self._peer.sendall(b"x" * len(frames))

    def send(self, text: str) -> None:
        self.sent.append(text)

    def settimeout(self, secs: float) -> None:
        pass

    def ping(self) -> None:
        self.sent.append("<ws ping>")

    def recv_data_frame(self, control_frame: bool) -> tuple[int, Any]:
        self.sock.recv(1)
        return websocket.ABNF.OPCODE_TEXT, SimpleNamespace(data=self.frames.pop(0).encode())

    def close(self, timeout: float = 0) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()
            self._peer.close()


@pytest.fixture
def sockets(monkeypatch):
    """Every websocket.create_connection returns a new FakeWs (listed, closed at the end)."""
    made: list[FakeWs] = []

    def connect(url: str, timeout: float, **kw: Any) -> FakeWs:
        made.append(FakeWs())
        made[-1].opened_with = kw
        return made[-1]

    monkeypatch.setattr(websocket, "create_connection", connect)
    yield made
    for ws in made:
        ws.close()


def started(actor: StreamActor, s: StreamSettings) -> tuple[list[Any], list[Any]]:
    """Start `actor` as the supervisor would; (messages sent, timer payloads armed)."""
    sent: list[Any] = []
    timers: list[Any] = []
    actor.send = lambda to, msg: sent.append(msg)  # type: ignore[method-assign]
    actor.wakeupAfter = lambda delay, payload=None: timers.append(  # type: ignore
        (delay.total_seconds(), payload))
    actor.watch_parent = lambda parent: setattr(actor, "parent_addr", parent)  # type: ignore
    actor.receiveMsg_StreamSettings(s, "supervisor")
    return sent, timers


def read(actor: StreamActor, ws: FakeWs, *frames: str) -> None:
    ws.push(*frames)
    actor.receiveMsg_WatchMessage(WatchMessage([ws.sock.fileno()]), None)


def connected_notices(sent: list[Any]) -> list[StreamConnected]:
    return [m for m in sent if isinstance(m, StreamConnected)]


# ------------------------------------------------------------------ the greeting

def test_the_greeting_is_sent_first_signed_with_the_paper_key_and_secret(sockets):
    actor = UserStreamActor()
    started(actor, settings(SelfAuthVenue()))
    (ws,) = sockets
    auth, sub = (json.loads(f) for f in ws.sent)
    assert auth["op"] == "auth" and auth["args"][0] == "pk" and auth["args"][2] == "signed-with-ps"
    assert auth["args"][1] > int(time.time() * 1000), "now_ms handed to the venue"
    assert sub == {"op": "subscribe", "args": ["position", "order"]}


def test_in_live_mode_the_key_and_secret_come_from_the_named_variables(sockets, monkeypatch):
    monkeypatch.setenv("PG_KEY", "live-key")
    monkeypatch.setenv("PG_SECRET", "live-secret")
    actor = UserStreamActor()
    started(actor, settings(SelfAuthVenue(), paper_key=None, paper_secret=None))
    auth = json.loads(sockets[0].sent[0])
    assert auth["args"][0] == "live-key" and auth["args"][2] == "signed-with-live-secret"


def test_the_stream_is_connected_and_symbols_reconcile_only_once_the_greeting_is_answered(
        sockets):
    actor = UserStreamActor()
    sent, _ = started(actor, settings(SelfAuthVenue()))
    ws = sockets[0]
    assert actor.state == "connecting" and connected_notices(sent) == []

    read(actor, ws, AUTH_OK)
    assert actor.state == "connecting" and connected_notices(sent) == [], "subscribe unanswered"
    read(actor, ws, SUB_OK)
    assert actor.state == "connected"
    assert connected_notices(sent) == [StreamConnected("user", 1)]
    assert actor.status().state == "connected"


def test_events_read_while_the_greeting_is_answered_are_still_routed(sockets):
    actor = UserStreamActor()
    sent, _ = started(actor, settings(SelfAuthVenue()))
    read(actor, sockets[0], AUTH_OK, SUB_OK, ACCOUNT_UPDATE)
    assert [type(m) for m in sent if isinstance(m, PositionUpdate)] == [PositionUpdate]


def test_binance_sends_no_greeting_and_is_connected_at_once(sockets, monkeypatch):
    monkeypatch.setattr(BinanceUsdm, "open_user_stream", lambda self, *a: "LK")
    actor = UserStreamActor()
    sent, _ = started(actor, settings(BinanceUsdm()))
    assert sockets[0].sent == [] and actor.state == "connected"
    assert connected_notices(sent) == [StreamConnected("user", 1)]


# ------------------------------------------------------------------ refused authentication

def test_a_refused_auth_is_logged_with_the_venues_reason_and_retried_after_a_backoff(
        sockets, caplog):
    actor = UserStreamActor()
    sent, timers = started(actor, settings(SelfAuthVenue()))
    with caplog.at_level(logging.WARNING):
        read(actor, sockets[0], AUTH_REFUSED)
    assert actor.ws is None and actor.state == "reconnecting" and sockets[0].closed
    assert "invalid signature" in caplog.text and "selfauth" in caplog.text
    assert "invalid signature" in (actor.status().last_error or "")
    assert connected_notices(sent) == []
    assert [p for _, p in timers if isinstance(p, Reconnect)] == [Reconnect(actor.gen)]


def test_refusal_after_refusal_backs_off_further_never_a_tight_loop(sockets):
    actor = UserStreamActor()
    _, timers = started(actor, settings(SelfAuthVenue()))
    for _ in range(5):
        read(actor, sockets[-1], AUTH_REFUSED)
        actor.receiveMsg_WakeupMessage(SimpleNamespace(payload=Reconnect(actor.gen)), None)
    delays = [d for d, p in timers if isinstance(p, Reconnect)]
    assert len(delays) == 5 and len(sockets) == 6
    # backoff 100 ms doubling to 1000 ms, with 50-100 % jitter: the last is >= 500 ms
    assert delays[-1] >= 0.5 and delays[-1] > delays[0]


def test_a_refused_subscription_in_the_greeting_reconnects_never_a_mute_connected_stream(
        sockets):
    actor = UserStreamActor()
    sent, _ = started(actor, settings(SelfAuthVenue()))
    read(actor, sockets[0], AUTH_OK, json.dumps({"op": "subscribe", "success": False,
                                                 "ret_msg": "error:handler not found"}))
    assert actor.ws is None and connected_notices(sent) == []
    assert "handler not found" in (actor.last_error or "")


def test_a_greeting_never_answered_is_a_broken_connection(sockets):
    actor = UserStreamActor()
    started(actor, settings(SelfAuthVenue(), timeout_secs=2.0))
    actor.connected_at -= 3.0
    actor._health()
    assert actor.ws is None and "greeting" in (actor.last_error or "")


# ------------------------------------------------------------------ keepalive

def test_no_session_key_keepalive_for_a_venue_without_one(sockets):
    actor = UserStreamActor()
    _, timers = started(actor, settings(SelfAuthVenue()))
    assert not [p for _, p in timers if isinstance(p, Keepalive)]
    actor.extra_timer(Keepalive())  # a stray one does nothing either (keep_user_stream raises)


def test_binance_keeps_its_listen_key_alive_as_before(monkeypatch):
    monkeypatch.setattr(BinanceUsdm, "open_user_stream", lambda self, *a: "LK")
    monkeypatch.setattr(websocket, "create_connection", lambda url, timeout, **kw: FakeWs())
    actor = UserStreamActor()
    _, timers = started(actor, settings(BinanceUsdm()))
    assert (1800.0, Keepalive()) in timers
    actor.ws.close()


# ------------------------------------------------------------------ the socket


@pytest.mark.parametrize("cls", [UserStreamActor, MarketStreamActor])
def test_both_streams_open_their_socket_without_websocket_clients_utf8_loop(sockets, cls):
    # The actor decodes text frames strictly itself (tests/unit/actors/
    # test_stream_frame_encoding.py); websocket-client's check would do it twice, in Python.
    started(cls(), settings(SelfAuthVenue()))
    assert sockets[0].opened_with.get("skip_utf8_validation") is True


# ------------------------------------------------------------------ heartbeat

@pytest.mark.parametrize("cls", [UserStreamActor, MarketStreamActor])
def test_a_heartbeat_frame_goes_every_heartbeat_secs(sockets, cls):
    actor = cls()
    started(actor, settings(SelfAuthVenue()))
    ws = sockets[0]
    if cls is UserStreamActor:
        read(actor, ws, AUTH_OK, SUB_OK)
    before = list(ws.sent)
    actor._health()
    assert ws.sent == before, "not due yet"
    actor.heartbeat_at -= 20.0
    actor._health()
    actor.heartbeat_at -= 20.0
    actor._health()
    pings = [json.loads(f) for f in ws.sent[len(before):]]
    assert [p["op"] for p in pings] == ["ping", "ping"]
    assert pings[0]["req_id"] != pings[1]["req_id"]
    read(actor, ws, PONG)  # the answer is life, and no event
    assert actor.bad_frames == 0


def test_the_health_check_runs_often_enough_for_the_heartbeat(sockets):
    actor = MarketStreamActor()
    _, timers = started(actor, settings(SelfAuthVenue()))
    (secs,) = [d for d, p in timers if isinstance(p, HealthCheck)]
    assert secs <= SelfAuthVenue.heartbeat_secs / 4


def test_binance_streams_send_no_heartbeat_frame(monkeypatch):
    ws = FakeWs()
    monkeypatch.setattr(websocket, "create_connection", lambda url, timeout, **kw: ws)
    actor = MarketStreamActor()
    started(actor, settings(BinanceUsdm()))
    actor.heartbeat_at -= 3600.0
    actor._health()
    assert ws.sent == []
    ws.close()


def test_a_heartbeat_that_cannot_be_sent_is_a_broken_connection(sockets):
    actor = MarketStreamActor()
    started(actor, settings(SelfAuthVenue()))

    def broken(text: str) -> None:
        raise websocket.WebSocketConnectionClosedException("gone")

    sockets[0].send = broken  # type: ignore[method-assign]
    actor.heartbeat_at -= 20.0
    actor._health()
    assert actor.ws is None and "heartbeat" in (actor.last_error or "")


# ------------------------------------------------------------------ split subscriptions

@dataclass(frozen=True, slots=True)
class SplittingVenue(SelfAuthVenue):
    """Its subscription request comes as several frames (Bybit's 21,000-character args)."""

    def mark_price_subscription(self, subscribe: bool, symbols: list[str],
                                request_id: int) -> Any:
        return [json.dumps({"op": "subscribe", "args": [f"tickers.{s}"]}) for s in symbols]


def test_a_subscription_the_venue_splits_goes_as_all_its_frames(sockets):
    actor = MarketStreamActor()
    started(actor, settings(SplittingVenue()))
    actor.receiveMsg_Subscriptions(Subscriptions((("AUSDT", "a"), ("BUSDT", "b"))),
                                   "supervisor")
    assert [json.loads(f)["args"] for f in sockets[0].sent] == [["tickers.AUSDT"],
                                                                 ["tickers.BUSDT"]]
    assert actor.subscribed == {"AUSDT", "BUSDT"}
