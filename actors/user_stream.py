"""The user-data stream actor: listenKey lifecycle, the private WebSocket, typed events.

Every frame is parsed by system/binance_events.py into typed messages and sent straight to
the symbol's actor when the supervisor's routing table (Subscriptions) has it; otherwise to
the supervisor, which creates the actor (I-5). A message sent to an actor that died comes
back to the supervisor as a dead letter and is routed again (see actors/supervisor.py). A malformed
frame is logged and counted, never fatal. After every (re)connect the supervisor makes every
symbol actor reconcile over REST: events sent while we were not connected are gone, and
only the exchange's REST truth can say what they were.

The listenKey REST calls (POST/PUT, API key header only, no signature) are made here with a
short timeout: they happen once per connection and once per keepalive interval, and only
this actor waits for them (nobody sends to it but the supervisor).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import websocket

from actors.messages import StreamConnected, StreamSettings, Subscriptions, Timer
from actors.stream_base import StreamActor
from system.binance_events import FrameError, ListenKeyExpired, parse_frame
from system.logs import ActorLogger
from system.venues import LISTEN_KEY_PATH, user_stream_url

log = ActorLogger("posguard.user_stream")  # looked up per call: see system/logs.py


class ListenKeyError(OSError):
    """The exchange refused or did not answer a listenKey call."""


class UserStreamActor(StreamActor):
    """Reads ACCOUNT_UPDATE / ORDER_TRADE_UPDATE / ALGO_UPDATE and hands them on."""

    kind = "user"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.key: str | None = None
        self.routes: dict[str, Any] = {}

    def receiveMsg_StreamSettings(self, msg: StreamSettings, sender: Any) -> None:
        """Start: create a listen key, connect, keep it alive."""
        if self.settings is not None:
            return
        self.start(msg, sender)
        self.wakeupAfter(timedelta(seconds=msg.keepalive_secs), payload=Timer("keepalive"))

    def receiveMsg_Subscriptions(self, msg: Subscriptions, sender: Any) -> None:
        """The supervisor's routing table: symbol -> address of its live actor."""
        self.routes = dict(msg.routes)

    def open_socket(self) -> websocket.WebSocket:
        """POST a listen key, then open the venue's private entry point for it."""
        assert self.settings is not None
        self.key = self._listen_key("POST")
        return websocket.create_connection(user_stream_url(self.settings.ws_url, self.key),
                                           timeout=self.settings.timeout_secs)

    def on_connected(self) -> None:
        """Tell the supervisor: every symbol must reconcile (events may have been missed)."""
        self.send(self.parent_addr, StreamConnected("user", self.connections))

    def on_text(self, raw: str, received_mono: float) -> None:
        """Parse one frame; route its events; a bad frame is logged and counted."""
        try:
            events = parse_frame(raw, received_mono=received_mono)
        except ListenKeyExpired:
            self.key = None
            self.reconnect("listen key expired")
            return
        except FrameError as e:
            self.bad_frames += 1
            log.warning("user stream: malformed frame rejected (%s): %.200s", e, raw)
            return
        for ev in events:
            self.note_lag(ev)
            addr = self.routes.get(ev.symbol)
            self.send(self.parent_addr if addr is None else addr, ev)

    def extra_timer(self, t: Timer) -> None:
        """Keepalive (PUT) every keepalive_secs; a failed keepalive means reconnect."""
        assert self.settings is not None
        if t.kind != "keepalive":
            return
        self.wakeupAfter(timedelta(seconds=self.settings.keepalive_secs), payload=t)
        if self.ws is None:
            return
        try:
            self._listen_key("PUT")
        except ListenKeyError as e:
            self.reconnect(f"listen key keepalive failed: {e}")

    def _listen_key(self, method: str) -> str:
        assert self.settings is not None
        s = self.settings
        api_key = s.paper_key if s.paper_key is not None else os.environ.get(s.api_key_env, "")
        req = urllib.request.Request(s.rest_url + LISTEN_KEY_PATH, method=method, data=b"",
                                     headers={"X-MBX-APIKEY": api_key})
        try:
            with urllib.request.urlopen(req, timeout=s.timeout_secs) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            raise ListenKeyError(f"{method} listenKey: HTTP {e.code} "
                                 f"{e.read()[:200].decode('utf-8', 'replace')}") from e
        except (OSError, ValueError) as e:
            raise ListenKeyError(f"{method} listenKey: {e}") from e
        if method == "POST":
            key = body.get("listenKey") if isinstance(body, dict) else None
            if not isinstance(key, str) or not key:
                raise ListenKeyError(f"POST listenKey: no key in the reply {body!r:.200}")
            return key
        return self.key or ""
