"""The market-data stream actor: mark price for exactly the symbols that have actors.

The market stream is several of these actors (shards, actors/market_shards.py), each with its
own connection and a fixed share of the symbols. The supervisor sends each its part of the
routing table (Subscriptions) whenever that changes; this actor SUBSCRIBEs and UNSUBSCRIBEs
the difference on its connection, batched into one request each, and never more than
CONTROL_PER_SEC control frames in any second (Binance: 10 incoming messages per second per
connection, pings included; past it the connection is closed): a change that would exceed it
waits for a timer. A new or reconnected shard subscribes everything in its part at once. The
URL and the frames are the venue adapter's (StreamSettings.venue), and so is the heartbeat a
venue may want on this socket too (Bybit's `op: ping`: actors/stream_base.py). Ticks are
conflated twice: after each drain of the socket only the latest price per symbol is kept, and
at most one tick per symbol actor is in Thespian's transport at a time (the next waits,
replaced by any newer one, until the transport reports the last one delivered or failed).
A symbol actor with a tick inbox (actors/tick_inbox.py, named in the supervisor's table) gets
its ticks as datagrams, outside Thespian's transport and without the hold above; a tick the
kernel does not take (the actor's queue is full, or the actor is gone) goes through Thespian.
Thespian queues every send: a symbol actor slower than its ticks (a busy machine) made the
queue grow to 950 per stream actor, where Thespian stops the actor reading anything (its
"tx-only" mode) until it drains, so stale prices arrived seconds late and the stream did not even
hear its exit request. A tick sent to an actor that has just died is lost, harmlessly: the
next one arrives within the stream interval.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from datetime import timedelta
from typing import Any

import websocket
from thespian.system.transport import TransmitIntent

from actors.lifecycle import in_actor_process
from actors.log import ActorLogger
from actors.messages import MarkPrice, StreamSettings, Subscriptions, SyncDue
from actors.stream_base import StreamActor
from actors.tick_inbox import TickOutbox
from venue.interface import FrameError

log = ActorLogger("posguard.market_stream")  # looked up per call: see actors/log.py
IN_FLIGHT_MAX_SECS = 5.0
"""A tick the transport has not reported on for this long no longer holds the next back."""
CONTROL_PER_SEC = 5
"""SUBSCRIBE / UNSUBSCRIBE frames per rolling second (half of Binance's 10 messages/s)."""


class MarketStreamActor(StreamActor):
    """Subscribes mark price per routed symbol; sends the latest tick to each symbol actor."""

    kind = "market"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.routes: dict[str, Any] = {}
        self.inboxes: dict[str, str] = {}
        """symbol -> its actor's tick inbox (Subscriptions.inboxes)."""
        self.outbox: TickOutbox | None = None
        self.subscribed: set[str] = set()
        self.latest: dict[str, MarkPrice] = {}
        self.ids = itertools.count(1)
        self.control_sent: deque[float] = deque()
        """time.monotonic() of the control frames sent in the last second."""
        self.sync_due = False
        """A SyncDue timer is armed."""
        self.clock = time.monotonic
        self.in_flight: dict[str, float] = {}
        """symbol -> when its tick went to the transport (not yet reported delivered)."""
        self.held: dict[str, MarkPrice] = {}
        """symbol -> the latest tick waiting for the one in flight."""

    def receiveMsg_StreamSettings(self, msg: StreamSettings, sender: Any) -> None:
        """Start: connect (no subscriptions until the supervisor sends its table)."""
        if self.settings is None:
            self.start(msg, sender)

    def receiveMsg_Subscriptions(self, msg: Subscriptions, sender: Any) -> None:
        """The symbols that have actors now: subscribe / unsubscribe the difference."""
        self.routes = dict(msg.routes)
        self.inboxes = dict(msg.inboxes)
        if self.inboxes and self.outbox is None:
            self.outbox = TickOutbox()
        self._sync()

    def open_socket(self) -> websocket.WebSocket:
        """An empty connection on the venue's market entry point; subscriptions follow."""
        assert self.settings is not None
        self.subscribed = set()
        return websocket.create_connection(self.venue.market_stream_url(self.settings.ws_url),
                                           timeout=self.settings.timeout_secs,
                                           skip_utf8_validation=True)  # see stream_base

    def on_connected(self) -> None:
        """Subscribe everything routed."""
        self._sync()

    def extra_timer(self, t: Any) -> None:
        """SyncDue: the control budget has room again."""
        if isinstance(t, SyncDue):
            self.sync_due = False
            self._sync()

    def _sync(self) -> None:
        if self.ws is None:
            return
        want = set(self.routes)
        add, drop = sorted(want - self.subscribed), sorted(self.subscribed - want)
        wait = self._budget_wait(bool(add) + bool(drop))
        if wait > 0:
            if not self.sync_due:
                self.sync_due = True
                self.wakeupAfter(timedelta(seconds=wait), payload=SyncDue())
            return
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

    def _budget_wait(self, frames: int) -> float:
        """Seconds until `frames` more control frames fit in CONTROL_PER_SEC (0: now)."""
        now = self.clock()
        while self.control_sent and now - self.control_sent[0] >= 1.0:
            self.control_sent.popleft()
        over = len(self.control_sent) + frames - CONTROL_PER_SEC
        if frames == 0 or over <= 0:
            return 0.0
        return max(1.0 - (now - self.control_sent[over - 1]), 0.001)

    def _control(self, subscribe: bool, symbols: list[str]) -> None:
        assert self.ws is not None
        request = self.venue.mark_price_subscription(subscribe, symbols, next(self.ids))
        # One frame per request (Venue.mark_price_subscription); a venue whose request must
        # be split (Bybit: 21,000 characters of args) may hand several, sent in order.
        for frame in [request] if isinstance(request, str) else request:
            self.control_sent.append(self.clock())
            self.ws.send(frame)

    def subscriptions(self) -> int:
        """Symbols subscribed."""
        return len(self.subscribed)

    def on_text(self, raw: str, received_mono: float) -> None:
        """Keep only the latest price per symbol (conflation)."""
        try:
            events = self.venue.parse_frame(raw, received_mono=received_mono)
        except FrameError as e:
            self.bad_frames += 1
            log.warning("%s: malformed frame rejected (%s): %.200s", self.who, e, raw)
            return
        for ev in events:
            if isinstance(ev, MarkPrice):
                self.latest[ev.symbol] = ev
                self.note_lag(ev)

    def after_drain(self) -> None:
        """Send each symbol's latest tick to its actor (held while one is in flight to it)."""
        now = self.clock()
        for symbol, tick in self.latest.items():
            if self._to_inbox(symbol, tick):
                continue
            sent = self.in_flight.get(symbol)
            if sent is not None and now - sent < IN_FLIGHT_MAX_SECS:
                self.held[symbol] = tick
            else:
                self._by_thespian(symbol, tick)
        self.latest.clear()

    def _to_inbox(self, symbol: str, tick: MarkPrice) -> bool:
        """Send the tick as a datagram to the symbol's inbox; False: it has none, or the
        kernel did not take it (then it goes through Thespian)."""
        name = self.inboxes.get(symbol)
        if name is None or self.outbox is None or symbol not in self.routes:
            return False
        if not self.outbox.send(name, tick):
            return False
        self.held.pop(symbol, None)  # newer than any held one
        return True

    def _send_tick(self, symbol: str, tick: MarkPrice) -> None:
        """A held tick: to the inbox if the kernel takes it now, else through Thespian."""
        if not self._to_inbox(symbol, tick):
            self._by_thespian(symbol, tick)

    def _by_thespian(self, symbol: str, tick: MarkPrice) -> None:
        addr = self.routes.get(symbol)
        if addr is None:
            self.held.pop(symbol, None)
            return
        if not in_actor_process(self):  # a unit test's actor: plain send, nothing tracked
            self.send(addr, tick)
            return
        self.in_flight[symbol] = self.clock()
        # The transport calls back (in this process, between handlers) when it is done with
        # the tick: delivered, or failed (a dead actor: no dead letter, a newer tick follows).
        self._myRef._send_intent(TransmitIntent(addr, tick, onSuccess=self._tick_done,
                                                onError=self._tick_done))

    def _tick_done(self, result: Any, intent: TransmitIntent) -> None:
        """The transport is done with a tick: send the one held for that symbol, if any."""
        symbol = intent.message.symbol
        self.in_flight.pop(symbol, None)
        held = self.held.pop(symbol, None)
        if held is not None and self.dying is None:
            self._send_tick(symbol, held)
