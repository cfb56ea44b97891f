"""The user-data stream actor: the session key's lifecycle, the private WebSocket, typed events.

Every frame is parsed by the venue's adapter (StreamSettings.venue) into typed events and
sent straight to the symbol's actor when the supervisor's routing table (Subscriptions) has
it; otherwise to the supervisor, which creates the actor (I-5). A message sent to an actor
that died comes back to the supervisor as a dead letter and is routed again (see
actors/supervisor.py). A malformed frame is logged and counted, never fatal. After every
(re)connect the supervisor makes every symbol actor reconcile over REST: events sent while
we were not connected are gone, and only the exchange's REST truth can say what they were.

The user stream's session key (Binance: the listenKey, POST then PUT every keepalive_secs)
comes from the venue too; its calls block this actor alone, with a short timeout (nobody
sends to it but the supervisor). A venue without one (Venue.user_stream_keepalive False,
Bybit) is never kept alive; its private socket authenticates itself instead: the venue's
greeting (Venue.user_stream_greeting) is signed here with the key and secret read in this
actor (paper: StreamSettings.paper_key / paper_secret; live: the variables it names), never
carried in a message. A refusal (StreamAuthError) is logged with the venue's reason and the
stream reconnects after its backoff.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import websocket

from actors.log import ActorLogger
from actors.messages import Keepalive, StreamConnected, StreamSettings, Subscriptions, now_ms
from actors.stream_base import StreamActor
from venue.interface import (
    Credentials,
    FrameError,
    StreamAuthError,
    UserStreamExpired,
    UserStreamKeyError,
)

log = ActorLogger("posguard.user_stream")  # looked up per call: see actors/log.py


class UserStreamActor(StreamActor):
    """Reads ACCOUNT_UPDATE / ORDER_TRADE_UPDATE / ALGO_UPDATE and hands them on."""

    kind = "user"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.key: str | None = None
        self.routes: dict[str, Any] = {}

    def receiveMsg_StreamSettings(self, msg: StreamSettings, sender: Any) -> None:
        """Start: create a listen key, connect, keep it alive (a venue with a session key)."""
        if self.settings is not None:
            return
        self.start(msg, sender)
        if msg.venue.user_stream_keepalive:
            self.wakeupAfter(timedelta(seconds=msg.keepalive_secs), payload=Keepalive())

    def receiveMsg_Subscriptions(self, msg: Subscriptions, sender: Any) -> None:
        """The supervisor's routing table: symbol -> address of its live actor."""
        self.routes = dict(msg.routes)

    def open_socket(self) -> websocket.WebSocket:
        """Start a user-stream session (a listen key), then open the venue's private entry
        point for it."""
        assert self.settings is not None
        s = self.settings
        self.key = s.venue.open_user_stream(s.rest_url, self._api_key(), s.timeout_secs)
        return websocket.create_connection(s.venue.user_stream_url(s.ws_url, self.key),
                                           timeout=s.timeout_secs,
                                           skip_utf8_validation=True)  # see stream_base

    def greeting(self) -> list[str]:
        """The venue's frames for a private socket that authenticates itself ([]: Binance)."""
        return self.venue.user_stream_greeting(self._credentials(), now_ms())

    def on_connected(self) -> None:
        """Tell the supervisor: every symbol must reconcile (events may have been missed)."""
        self.send(self.parent_addr, StreamConnected("user", self.connections))

    def on_text(self, raw: str, received_mono: float) -> None:
        """Parse one frame; route its events; a bad frame is logged and counted."""
        try:
            events = self.venue.parse_frame(raw, received_mono=received_mono)
        except UserStreamExpired:
            self.key = None
            self.reconnect("listen key expired")
            return
        except StreamAuthError as e:
            log.error("%s: %s refused the private stream's authentication: %s "
                      "(check the API key and secret); reconnecting after the backoff",
                      self.who, self.venue.name, e)
            self.reconnect(f"{self.venue.name} refused the authentication: {e}")
            return
        except FrameError as e:
            self.bad_frames += 1
            log.warning("%s: malformed frame rejected (%s): %.200s", self.who, e, raw)
            if self.unanswered:  # a refused subscription: connected, the stream would be mute
                self.reconnect(f"{self.venue.name} did not accept the stream's greeting: {e}")
            return
        for ev in events:
            self.note_lag(ev)
            addr = self.routes.get(ev.symbol)
            self.send(self.parent_addr if addr is None else addr, ev)

    def extra_timer(self, t: Any) -> None:
        """Keepalive (PUT) every keepalive_secs; a failed keepalive means reconnect."""
        assert self.settings is not None
        if not isinstance(t, Keepalive) or not self.venue.user_stream_keepalive:
            return
        self.wakeupAfter(timedelta(seconds=self.settings.keepalive_secs), payload=t)
        if self.ws is None:
            return
        s = self.settings
        try:
            s.venue.keep_user_stream(s.rest_url, self._api_key(), self.key or "", s.timeout_secs)
        except UserStreamKeyError as e:
            self.reconnect(f"listen key keepalive failed: {e}")

    def _api_key(self) -> str:
        assert self.settings is not None
        s = self.settings
        return s.paper_key if s.paper_key is not None else os.environ.get(s.api_key_env, "")

    def _credentials(self) -> Credentials:
        """The account's key and secret, read here (never sent in a message)."""
        assert self.settings is not None
        s = self.settings
        secret = s.paper_secret if s.paper_secret is not None else \
            os.environ.get(s.api_secret_env, "") if s.api_secret_env else ""
        return Credentials(self._api_key(), secret)
