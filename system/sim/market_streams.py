"""Market-data WebSocket connections: /market, /public and the retired legacy paths.

Every connection speaks the same request protocol (wscontrol.py); the route decides what it
pushes: "market" pushes markPriceUpdate for its mark-price subscriptions, "public" pushes
nothing (the simulator models no high-frequency public data, and markPrice is not a public
stream), "retired" (the legacy /ws and /stream paths) pushes nothing at all.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import math
import zlib
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from system.clock import Clock
from system.sim import streamnames, wscontrol
from system.sim.events import mark_price_update
from system.sim.latency import DelayLine, StreamDelay
from system.sim.probe import Probe
from system.sim.settings import MARK_STREAM_PHASES
from system.sim.streamnames import StreamName

ROUTES = ("market", "public", "retired")


def stream_offset(stream: str, interval: float) -> float:
    """Where `stream` ticks within each interval in the spread phase (seconds)."""
    return (zlib.crc32(stream.encode()) % 1000) / 1000 * interval


def next_slot(after: float, interval: float, offset: float) -> float:
    """The first instant k * interval + offset strictly later than `after`."""
    t = offset + (math.floor((after - offset) / interval) + 1) * interval
    # Float rounding can land on `after` itself when `after` is a slot; never repeat one.
    return t + interval if t <= after else t


@dataclass(eq=False)
class _MarketConn:
    ws: web.WebSocketResponse
    route: str
    combined: bool
    subs: dict[str, StreamName] = field(default_factory=dict)
    """key -> name, in subscription order (SUBSCRIBE / UNSUBSCRIBE edit it)."""
    heap: list[tuple[float, int, str]] = field(default_factory=list)
    """(due, seq, key): the push schedule; an entry whose seq is not live is stale."""
    live: dict[str, int] = field(default_factory=dict)
    """key -> seq of its one live heap entry."""
    seq: int = 0
    changed: bool = True
    """`subs` changed since the schedule was last synced with it."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    """Ends the push loop's wait: set by its timer or by a subscription change."""
    out: DelayLine | None = None
    """Server -> client frames under the latency model (None: sent at once)."""
    silent_until: float = 0.0
    """Stalled until then (sim clock, MarketStreams.silence): no ticks, answers or pongs."""

    async def emit(self, text: str) -> None:
        """Send one frame, through the delay line when there is one (never waits on it)."""
        if self.out is None:
            await self.ws.send_str(text)
        else:
            self.out.put(text)

    # ---- wscontrol.Subscriptions ----
    def resolve(self, params: list[str]) -> list[StreamName] | None:
        """Parsed names, or None if one is not a stream name."""
        names = [streamnames.parse(p) for p in params]
        return None if None in names else names

    def add(self, items: list[StreamName]) -> None:
        """SUBSCRIBE."""
        for n in items:
            self.subs.setdefault(n.key, n)

    def remove(self, items: list[StreamName]) -> None:
        """UNSUBSCRIBE."""
        for n in items:
            self.subs.pop(n.key, None)

    def listed(self) -> list[str]:
        """LIST_SUBSCRIPTIONS."""
        return [n.shown for n in self.subs.values()]

    def pushes(self, name: StreamName) -> bool:
        """Whether this connection ever sends data for `name`."""
        return self.route == "market" and name.is_mark_price


async def _wait(conn: _MarketConn, secs: float | None) -> None:
    """Until `secs` have passed (None: no limit) or the subscriptions change."""
    timer = None if secs is None else asyncio.get_running_loop().call_later(
        secs, conn.wake.set)
    try:
        await conn.wake.wait()
    finally:
        if timer is not None:
            timer.cancel()
    conn.wake.clear()


class MarketStreams:
    """Every market-data connection, and the mark-price push schedule of each.

    A connection's streams are pushed on absolute due times on the sim clock, so ticks keep
    a fixed phase however long a push takes. `phase` "aligned" pushes them all at each
    multiple of the interval (Binance's once-a-second burst); "spread" pushes stream `s` at
    offset (crc32(s) % 1000) / 1000 * interval within each interval (s lower-cased).
    Changing `phase` or `interval` at runtime takes effect at each stream's next schedule.
    """

    def __init__(self, clock: Clock, price_of, all_prices, interval_ms: int,
                 phase: str = "aligned", delay: StreamDelay | None = None) -> None:
        self.clock = clock
        self.delay = delay
        """The latency model's stream side (None or inactive: no delay)."""
        self.prices = price_of
        """Callable: symbol -> formatted mark price, or None for an unknown symbol."""
        self.symbols = all_prices
        """Callable: -> iterable of (symbol, formatted mark price)."""
        self.interval = interval_ms / 1000
        self.phase = phase
        self.probe: Probe | None = None
        """Records every tick right before it is sent, when set (Sim sets it)."""
        self.conns: set[web.WebSocketResponse] = set()
        """Open connections of every route (closed by the server on shutdown)."""
        self._served: set[_MarketConn] = set()
        """This front's own open connections (the faults below act on them)."""

    @property
    def phase(self) -> str:
        """The push phase, "aligned" or "spread" (mark_stream_phase)."""
        return self._phase

    @phase.setter
    def phase(self, value: str) -> None:
        if value not in MARK_STREAM_PHASES:
            raise ValueError(f"mark_stream_phase: {value!r} is not allowed; choose one of "
                             f"{', '.join(MARK_STREAM_PHASES)}")
        self._phase = value

    def payloads(self, name: StreamName) -> dict | list | None:
        """The current payload of one mark-price stream (None: unknown symbol)."""
        now = self.clock.now_ms()
        if name.symbol is None:
            return [mark_price_update(s, p, now) for s, p in self.symbols()]
        price = self.prices(name.symbol)
        return None if price is None else mark_price_update(name.symbol, price, now)

    async def serve(self, request: web.Request, streams: list[str], *, route: str,
                    combined: bool) -> web.WebSocketResponse:
        """Serve one connection until either side closes it.

        Stream names in the URL that are not streams are ignored (the handshake is never
        refused; Binance answers bad names only to SUBSCRIBE).
        """
        if route not in ROUTES:
            raise ValueError(f"route {route!r} is not one of {ROUTES}")
        delay = self.delay if self.delay is not None and self.delay.active else None
        if delay is not None:
            await delay.connect()
        # autoping off: pings are answered below, which a silenced connection does not.
        ws = web.WebSocketResponse(heartbeat=None, autoping=False)
        await ws.prepare(request)
        conn = _MarketConn(ws, route, combined)
        conn.add([n for n in (streamnames.parse(s) for s in streams) if n is not None])
        self.conns.add(ws)
        self._served.add(conn)

        async def handle(text: str) -> None:
            if self._silent(conn):
                return  # a dead peer: the request is never answered
            await conn.emit(json.dumps(wscontrol.answer(text, conn)))
            conn.changed = True  # the push loop re-reads the subscriptions
            conn.wake.set()

        inbound = None
        if delay is not None:
            conn.out = delay.line(ws.send_str)
            inbound = delay.line(handle)  # a request takes effect once it has arrived
        pusher = asyncio.ensure_future(self._push(conn))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.PING:
                    if not self._silent(conn):
                        await ws.pong(msg.data)
                    continue
                if msg.type == WSMsgType.PONG:
                    continue
                if msg.type != WSMsgType.TEXT:
                    break
                if inbound is None:
                    await handle(msg.data)
                else:
                    inbound.put(msg.data)
        finally:
            pusher.cancel()
            for line in (inbound, conn.out):
                if line is not None:
                    line.close()
            self.conns.discard(ws)
            self._served.discard(conn)
        return ws

    # ---- faults (/_sim/fault/close_market_streams, silence_market_streams) ------------------
    def close_all(self) -> int:
        """Close every market-data connection of this front (a server-side cut, no frame
        before it); returns how many."""
        for conn in list(self._served):
            asyncio.ensure_future(conn.ws.close())
        return len(self._served)

    def silence(self, secs: float) -> int:
        """Stall every connection open now for `secs`: no ticks, no answers, no pongs (a dead
        peer). Ticks due meanwhile are never sent (a later tick carries the price); later
        connections are not stalled."""
        until = self.clock.monotonic() + secs
        for conn in self._served:
            conn.silent_until = until
        return len(self._served)

    def _silent(self, conn: _MarketConn) -> bool:
        return self.clock.monotonic() < conn.silent_until

    def _slot(self, key: str, after: float) -> float:
        offset = stream_offset(key, self.interval) if self.phase == "spread" else 0.0
        return next_slot(after, self.interval, offset)

    def _schedule(self, conn: _MarketConn, key: str, due: float) -> None:
        conn.seq += 1
        conn.live[key] = conn.seq
        heapq.heappush(conn.heap, (due, conn.seq, key))

    def _sync(self, conn: _MarketConn) -> None:
        """Schedule new pushed subscriptions at their next slot; forget dropped ones."""
        for key in [k for k in conn.live if k not in conn.subs]:
            del conn.live[key]  # its heap entry is now stale
        now = self.clock.monotonic()
        for key, name in conn.subs.items():
            if key not in conn.live and conn.pushes(name):
                self._schedule(conn, key, self._slot(key, now))

    def _next_due(self, conn: _MarketConn) -> tuple[float, str] | None:
        heap = conn.heap
        while heap and conn.live.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)
        return (heap[0][0], heap[0][2]) if heap else None

    async def _push(self, conn: _MarketConn) -> None:
        while not conn.ws.closed:
            if conn.changed:
                conn.changed = False
                self._sync(conn)
            head = self._next_due(conn)
            if head is None:
                await _wait(conn, None)  # nothing to push: sleep until a SUBSCRIBE
                continue
            due, key = head
            now = self.clock.monotonic()
            if due > now:
                # Capped so a clock that jumps (a manual one) is looked at again soon.
                await _wait(conn, min(due - now, self.interval))
                continue
            heapq.heappop(conn.heap)
            nxt = self._slot(key, due)
            # Fallen a whole interval behind: skip the missed slots rather than burst.
            self._schedule(conn, key, nxt if nxt > now else self._slot(key, now))
            if not self._silent(conn):
                await self._send(conn, conn.subs[key])

    async def _send(self, conn: _MarketConn, name: StreamName) -> None:
        data = self.payloads(name)
        if data is None:
            return
        text = json.dumps({"stream": name.shown, "data": data} if conn.combined else data,
                          separators=(",", ":"))
        if self.probe is not None:
            # Stamped at emission, before any latency: the bench's reaction runs from here.
            t = self.clock.monotonic()
            for d in data if isinstance(data, list) else [data]:
                self.probe.tick(d["s"], d["p"], t)
        await conn.emit(text)
