"""The market-data stream actor: mark price for exactly the symbols that have actors.

The supervisor sends the full routing table (Subscriptions) whenever it changes; this actor
SUBSCRIBEs and UNSUBSCRIBEs the difference on one connection (batched into one request each:
venues count control messages against a per-connection rate limit); the URL and the frames
are the venue adapter's (StreamSettings.venue). Ticks are conflated:
after each drain of the socket only the latest price per symbol is sent, so a burst or a slow
symbol actor never builds a backlog of stale prices. A tick sent to an actor that has just
died is lost, harmlessly: the next one arrives within the stream interval.
"""

from __future__ import annotations

import itertools
from typing import Any

import websocket

from actors.log import ActorLogger
from actors.messages import MarkPrice, StreamSettings, Subscriptions
from actors.stream_base import StreamActor
from venue.interface import FrameError

log = ActorLogger("posguard.market_stream")  # looked up per call: see actors/log.py


class MarketStreamActor(StreamActor):
    """Subscribes mark price per routed symbol; sends the latest tick to each symbol actor."""

    kind = "market"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.routes: dict[str, Any] = {}
        self.subscribed: set[str] = set()
        self.latest: dict[str, MarkPrice] = {}
        self.ids = itertools.count(1)

    def receiveMsg_StreamSettings(self, msg: StreamSettings, sender: Any) -> None:
        """Start: connect (no subscriptions until the supervisor sends its table)."""
        if self.settings is None:
            self.start(msg, sender)

    def receiveMsg_Subscriptions(self, msg: Subscriptions, sender: Any) -> None:
        """The symbols that have actors now: subscribe / unsubscribe the difference."""
        self.routes = dict(msg.routes)
        self._sync()

    def open_socket(self) -> websocket.WebSocket:
        """An empty connection on the venue's market entry point; subscriptions follow."""
        assert self.settings is not None
        self.subscribed = set()
        return websocket.create_connection(self.venue.market_stream_url(self.settings.ws_url),
                                           timeout=self.settings.timeout_secs)

    def on_connected(self) -> None:
        """Subscribe everything routed."""
        self._sync()

    def _sync(self) -> None:
        if self.ws is None:
            return
        want = set(self.routes)
        add, drop = sorted(want - self.subscribed), sorted(self.subscribed - want)
        try:
            if add:
                self._control(True, add)
            if drop:
                self._control(False, drop)
        except (OSError, websocket.WebSocketException) as e:
            self.reconnect(f"subscribe failed: {e}")
            return
        self.subscribed = want
        for symbol in drop:
            self.latest.pop(symbol, None)
        if add or drop:
            self.send(self.parent_addr, self.status())

    def _control(self, subscribe: bool, symbols: list[str]) -> None:
        assert self.ws is not None
        self.ws.send(self.venue.mark_price_subscription(subscribe, symbols, next(self.ids)))

    def subscriptions(self) -> int:
        """Symbols subscribed."""
        return len(self.subscribed)

    def on_text(self, raw: str, received_mono: float) -> None:
        """Keep only the latest price per symbol (conflation)."""
        try:
            events = self.venue.parse_frame(raw, received_mono=received_mono)
        except FrameError as e:
            self.bad_frames += 1
            log.warning("market stream: malformed frame rejected (%s): %.200s", e, raw)
            return
        for ev in events:
            if isinstance(ev, MarkPrice):
                self.latest[ev.symbol] = ev
                self.note_lag(ev)

    def after_drain(self) -> None:
        """Send each symbol's latest tick to its actor."""
        for symbol, tick in self.latest.items():
            addr = self.routes.get(symbol)
            if addr is not None:
                self.send(addr, tick)
        self.latest.clear()
