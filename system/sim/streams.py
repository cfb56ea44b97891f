"""User-data stream (listenKey lifecycle, fault-mangled event fan-out) and mark-price stream."""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import math
import secrets
import zlib
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from system.clock import Clock
from system.sim import errors as E
from system.sim.errors import err
from system.sim.events import listen_key_expired, mark_price_update
from system.sim.faults import FaultQueue
from system.sim.probe import Probe
from system.sim.settings import MARK_STREAM_PHASES

log = logging.getLogger(__name__)


SILENCE_POLL_SECS = 0.02


@dataclass(eq=False)
class _Conn:
    ws: web.WebSocketResponse
    key: str
    opened_ms: int
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    silent_until: float = 0.0
    """Sim-clock monotonic seconds: until then nothing is sent and no ping is answered."""
    ended: bool = False
    """The client closed its side (the reader stopped)."""


class UserStreams:
    """The account's one listenKey and every WebSocket bound to it."""

    def __init__(self, clock: Clock, faults: FaultQueue, ttl_secs: int, max_age_secs: int):
        self.clock = clock
        self.faults = faults
        self.ttl_ms = ttl_secs * 1000
        self.max_age_ms = max_age_secs * 1000
        self.key: str | None = None
        self.expires_ms = 0
        self.conns: list[_Conn] = []
        self._held: list[dict] = []
        self.sent = 0

    # ---- listenKey ----------------------------------------------------------------
    def create_key(self) -> str:
        """POST: the active key (extended), or a new one."""
        if self.key is None:
            self.key = secrets.token_urlsafe(48)[:64]
        self.expires_ms = self.clock.now_ms() + self.ttl_ms
        return self.key

    def extend_key(self) -> None:
        """PUT: keep the active key alive, or -1125."""
        if self.key is None:
            raise err(E.NO_LISTEN_KEY)
        self.expires_ms = self.clock.now_ms() + self.ttl_ms

    def delete_key(self) -> None:
        """DELETE: the key and its connections go away."""
        if self.key is None:
            raise err(E.NO_LISTEN_KEY)
        self.key = None
        self.close_all()

    def expire(self) -> None:
        """The key lapses: `listenKeyExpired` on every connection, then they close."""
        key = self.key
        if key is None:
            return
        self.key = None
        msg = listen_key_expired(key, self.clock.now_ms())
        for c in list(self.conns):
            c.queue.put_nowait(msg)
            c.queue.put_nowait(None)

    def close_all(self) -> int:
        """Close every user-stream connection (no farewell event); returns how many."""
        n = len(self.conns)
        for c in list(self.conns):
            c.queue.put_nowait(None)
        return n

    def inject(self, raw: str) -> int:
        """Send `raw` as one text frame to every connection, as is (no faults apply)."""
        for c in self.conns:
            c.queue.put_nowait(raw)
        return len(self.conns)

    def silence(self, secs: float) -> int:
        """Stall every connection open now for `secs`: no frames, no pongs (a dead peer).

        Events published meanwhile wait on the stalled connection and go out when the stall
        ends, unless the client has given up on it by then. Later connections are not stalled.
        """
        until = self.clock.monotonic() + secs
        for c in self.conns:
            c.silent_until = until
        return len(self.conns)

    def housekeeping(self) -> None:
        """Expire the key on the sim clock; end connections past their maximum age."""
        now = self.clock.now_ms()
        if self.key is not None and now >= self.expires_ms:
            self.expire()
        for c in list(self.conns):
            if now - c.opened_ms >= self.max_age_ms:
                c.queue.put_nowait(None)

    # ---- events -------------------------------------------------------------------
    def publish(self, events: list[dict]) -> None:
        """Fan events out to every connection, through any queued stream faults."""
        for e in events:
            f = self.faults.take_stream()
            if f is None:
                self._send(e)
            elif f.kind == "drop":
                continue
            elif f.kind == "duplicate":
                self._send(e)
                self._send(e)
            elif f.kind == "delay":
                asyncio.get_running_loop().call_later(f.delay_ms / 1000, self._send, e)
            else:  # reorder: hold the batch, release it reversed when it is complete
                self._held.append(e)
                if f.count <= 0:
                    held, self._held = self._held, []
                    for h in reversed(held):
                        self._send(h)

    def _send(self, event: dict) -> None:
        text = json.dumps(event, separators=(",", ":"))
        self.sent += 1
        for c in self.conns:
            c.queue.put_nowait(text)

    async def serve(self, request: web.Request, key: str) -> web.StreamResponse:
        """A WebSocket bound to `key` (rejected with -1125 if it is not the live key)."""
        if self.key is None or key != self.key:
            e = err(E.NO_LISTEN_KEY)
            return web.json_response(e.body(), status=400)
        # autoping off: pings are answered by _read_loop, which can refuse while silenced.
        ws = web.WebSocketResponse(heartbeat=None, autoping=False)
        await ws.prepare(request)
        conn = _Conn(ws, key, self.clock.now_ms())
        self.conns.append(conn)
        reader = asyncio.ensure_future(self._read_loop(conn))
        try:
            await self._write_loop(conn)
        finally:
            self.conns.remove(conn)
            reader.cancel()
            await ws.close()
        return ws


    def _silent(self, conn: _Conn) -> bool:
        return self.clock.monotonic() < conn.silent_until

    async def _write_loop(self, conn: _Conn) -> None:
        while True:
            item = await conn.queue.get()
            while self._silent(conn) and not (conn.ended or conn.ws.closed):
                await asyncio.sleep(SILENCE_POLL_SECS)
            if item is None or conn.ended or conn.ws.closed:
                return
            await conn.ws.send_str(item if isinstance(item, str) else json.dumps(item))

    async def _read_loop(self, conn: _Conn) -> None:
        # The user stream takes no requests; reading answers pings (unless silenced) and
        # notices the client's close, which also ends the write loop.
        try:
            async for msg in conn.ws:
                if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break
                if msg.type == WSMsgType.PING and not self._silent(conn):
                    await conn.ws.pong(msg.data)
        finally:
            conn.ended = True
            conn.queue.put_nowait(None)


def parse_stream(name: str) -> str | None:
    """Canonical mark-price stream name, or None if the simulator does not serve it."""
    low = name.strip().lower()
    parts = low.split("@")
    if parts[0] == "!markprice" and parts[1:] in (["arr"], ["arr", "1s"]):
        return low
    if len(parts) >= 2 and parts[1] == "markprice" and parts[2:] in ([], ["1s"]):
        return low
    return None


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
    combined: bool
    subs: list[str]
    """Subscribed stream names in subscription order (SUBSCRIBE / UNSUBSCRIBE edit it)."""
    heap: list[tuple[float, int, str]] = field(default_factory=list)
    """(due, seq, stream): the push schedule; an entry whose seq is not live is stale."""
    live: dict[str, int] = field(default_factory=dict)
    """stream -> seq of its one live heap entry."""
    seq: int = 0
    changed: bool = True
    """`subs` changed since the schedule was last synced with it."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    """Ends the push loop's wait: set by its timer or by a subscription change."""


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
    """markPriceUpdate connections: raw (/ws/<stream>) or combined (/stream?streams=).

    Every stream of a connection is pushed on absolute due times on the sim clock, so ticks
    keep a fixed phase however long a push takes. `phase` "aligned" pushes them all at each
    multiple of the interval (Binance's once-a-second burst); "spread" pushes stream `s` at
    offset (crc32(s) % 1000) / 1000 * interval within each interval. Changing `phase` or
    `interval` at runtime takes effect at each stream's next schedule.
    """

    def __init__(self, clock: Clock, price_of, all_prices, interval_ms: int,
                 phase: str = "aligned") -> None:
        self.clock = clock
        self.prices = price_of
        """Callable: symbol -> formatted mark price, or None for an unknown symbol."""
        self.symbols = all_prices
        """Callable: -> iterable of (symbol, formatted mark price)."""
        self.interval = interval_ms / 1000
        self.phase = phase
        self.probe: Probe | None = None
        """Records every tick right before it is sent, when set (Sim sets it)."""
        self.conns: set[web.WebSocketResponse] = set()

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

    def payloads(self, stream: str) -> dict | list | None:
        """The current payload of one stream."""
        now = self.clock.now_ms()
        if stream.startswith("!"):
            return [mark_price_update(s, p, now) for s, p in self.symbols()]
        sym = stream.split("@")[0].upper()
        price = self.prices(sym)
        return None if price is None else mark_price_update(sym, price, now)

    async def serve(self, request: web.Request, streams: list[str], combined: bool):
        """Serve one market-data WebSocket until the client or the server closes it."""
        subs = list(dict.fromkeys(s for s in (parse_stream(n) for n in streams) if s))
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        conn = _MarketConn(ws, combined, subs)
        self.conns.add(ws)
        pusher = asyncio.ensure_future(self._push(conn))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                await ws.send_str(json.dumps(_control_reply(msg.data, subs)))
                conn.changed = True  # the push loop re-reads the subscriptions
                conn.wake.set()
        finally:
            pusher.cancel()
            self.conns.discard(ws)
        return ws

    def _slot(self, stream: str, after: float) -> float:
        offset = stream_offset(stream, self.interval) if self.phase == "spread" else 0.0
        return next_slot(after, self.interval, offset)

    def _schedule(self, conn: _MarketConn, stream: str, due: float) -> None:
        conn.seq += 1
        conn.live[stream] = conn.seq
        heapq.heappush(conn.heap, (due, conn.seq, stream))

    def _sync(self, conn: _MarketConn) -> None:
        """Schedule new subscriptions at their next slot; forget dropped ones."""
        subs = set(conn.subs)
        for stream in [s for s in conn.live if s not in subs]:
            del conn.live[stream]  # its heap entry is now stale
        now = self.clock.monotonic()
        for stream in conn.subs:
            if stream not in conn.live:
                self._schedule(conn, stream, self._slot(stream, now))

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
                await _wait(conn, None)  # nothing subscribed: sleep until a SUBSCRIBE
                continue
            due, stream = head
            now = self.clock.monotonic()
            if due > now:
                # Capped so a clock that jumps (a manual one) is looked at again soon.
                await _wait(conn, min(due - now, self.interval))
                continue
            heapq.heappop(conn.heap)
            nxt = self._slot(stream, due)
            # Fallen a whole interval behind: skip the missed slots rather than burst.
            self._schedule(conn, stream, nxt if nxt > now else self._slot(stream, now))
            await self._send(conn, stream)

    async def _send(self, conn: _MarketConn, stream: str) -> None:
        data = self.payloads(stream)
        if data is None:
            return
        text = json.dumps({"stream": stream, "data": data} if conn.combined else data,
                          separators=(",", ":"))
        if self.probe is not None:
            t = self.clock.monotonic()
            for d in data if isinstance(data, list) else [data]:
                self.probe.tick(d["s"], d["p"], t)
        await conn.ws.send_str(text)


def _control_reply(text: str, subs: list[str]) -> dict:
    """Handle SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS, Binance's reply shapes."""
    try:
        req = json.loads(text)
        method, rid = req["method"], req.get("id")
        params = req.get("params", [])
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            raise TypeError("params must be a list of strings")
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        return {"error": {"code": 2, "msg": f"Invalid request: {e}"}, "id": None}
    if method == "LIST_SUBSCRIPTIONS":
        return {"result": list(subs), "id": rid}
    names = [parse_stream(p) for p in params]
    if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or None in names:
        return {"error": {"code": 2, "msg": "Invalid request: unknown method or stream"},
                "id": rid}
    for n in names:
        if method == "SUBSCRIBE" and n not in subs:
            subs.append(n)
        elif method == "UNSUBSCRIBE" and n in subs:
            subs.remove(n)
    return {"result": None, "id": rid}
