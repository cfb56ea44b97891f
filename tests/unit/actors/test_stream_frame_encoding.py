"""A text frame that is not UTF-8 ends the connection with a reason that says so.

The stream sockets are opened with websocket-client's own UTF-8 check off (a pure-Python
loop, 6 % of the user stream's CPU at 100 symbols); the stream actor decodes each text frame
strictly instead (in C). A frame that does not decode is never parsed with replacement
characters: the connection is reconnected, as websocket-client's check did, and the reconnect
reconciles every symbol, so an event inside the bad frame is not lost.
"""

from __future__ import annotations

import socket
from types import SimpleNamespace
from typing import Any

import websocket
from thespian.actors import WatchMessage

from actors.user_stream import UserStreamActor
from tests.unit.actors.test_stream_received_mono import _captured
from tests.unit.venues.binance.test_events import ACCOUNT_UPDATE


class _RawWs:
    """Hands out the given text frames as bytes; readable while any remain."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = list(frames)
        self.sock, self._peer = socket.socketpair()
        self._peer.sendall(b"x" * len(frames))

    def recv_data_frame(self, control_frame: bool) -> tuple[int, Any]:
        self.sock.recv(1)
        return websocket.ABNF.OPCODE_TEXT, SimpleNamespace(data=self.frames.pop(0))

    def close(self) -> None:
        self.sock.close()
        self._peer.close()


def _drain(frames: list[bytes]) -> tuple[list[Any], list[str]]:
    actor = UserStreamActor()
    sent = _captured(actor)
    reasons: list[str] = []
    actor.reconnect = lambda why: (reasons.append(why),  # type: ignore[method-assign]
                                   setattr(actor, "ws", None))
    ws = _RawWs(frames)
    actor.ws = ws
    try:
        actor.receiveMsg_WatchMessage(WatchMessage([ws.sock.fileno()]), None)
    finally:
        ws.close()
    return [m for _, m in sent], reasons


def test_a_frame_that_is_not_utf8_reconnects_naming_it_after_the_frames_before_it():
    bad = ACCOUNT_UPDATE.encode().replace(b'"BTCUSDT"', b'"BTC\xffUSDT"')

    events, reasons = _drain([ACCOUNT_UPDATE.encode(), bad, ACCOUNT_UPDATE.encode()])

    assert len(events) == 1, "the frame before the bad one is handled, none after it"
    assert len(reasons) == 1 and "not UTF-8" in reasons[0], reasons


def test_utf8_text_beyond_ascii_is_taken():
    frame = ACCOUNT_UPDATE.replace("{", '{"note": "\u00e9t\u00e9 \u2713", ', 1).encode()
    assert frame.decode().isascii() is False

    events, reasons = _drain([frame])

    assert reasons == [] and len(events) == 1
