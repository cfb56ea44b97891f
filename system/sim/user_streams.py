"""The user-data stream: the account's listenKey and every /private connection.

A connection is bound to listenKeys by its URL (`/private/ws?listenKey=K&events=A/B`,
`/private/ws/K`, `/private/stream?listenKey=K1&events=A&listenKey=K2&events=B`) or by a
SUBSCRIBE of the key (Binance's SDK: `/private/stream`, then `{"method":"SUBSCRIBE",
"params":[K]}`). It receives the account's events while one of its keys is the live key and
the event passes that key's `events=` filter; in stream mode (`/private/stream`, or the
`combined` property) each frame is wrapped `{"stream": <listenKey>, "data": <event>}`.

Binance refuses nothing at the handshake: an unknown or expired key gets a connection that
stays silent. When the live key expires, its connections get `listenKeyExpired` and then
nothing more, but stay open ("This event is not related to the websocket disconnection");
DELETE of the key closes them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import string
import time
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from system.clock import Clock
from system.sim import errors as E
from system.sim import streamnames, wscontrol
from system.sim.errors import err
from system.sim.events import listen_key_expired
from system.sim.faults import FaultQueue
from system.sim.latency import StreamDelay, next_due

SILENCE_POLL_SECS = 0.02
KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 64
"""Binance's listenKeys are 64 alphanumerics."""


@dataclass(eq=False)
class _UserConn:
    ws: web.WebSocketResponse
    opened_ms: int
    combined: bool
    keys: dict[str, frozenset[str] | None] = field(default_factory=dict)
    """listenKey -> the event types it receives (None: every event)."""
    streams: dict[str, streamnames.StreamName] = field(default_factory=dict)
    """Market-data names subscribed here: acknowledged, never pushed on /private."""
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    silent_until: float = 0.0
    """Sim-clock monotonic seconds: until then nothing is sent and no ping is answered."""
    ended: bool = False
    """The client closed its side (the reader stopped)."""
    delay: StreamDelay | None = None
    """The latency model's stream side when it is active (None: frames go at once)."""
    last_due: float = 0.0
    """Due time of the newest queued frame (monotonic s): later frames never precede it."""

    def push(self, item: str | None) -> None:
        """Queue a frame (None: close) with the time it may leave (the latency model's)."""
        now = time.monotonic()
        due = now if self.delay is None else next_due(now, self.delay.leg(), self.last_due)
        self.last_due = due
        self.queue.put_nowait((due, item))

    def wants(self, key: str | None, event_type: str) -> bool:
        """Whether an event of `event_type` for listenKey `key` goes to this connection."""
        if key is None or key not in self.keys:
            return False
        allowed = self.keys[key]
        return allowed is None or event_type in allowed

    def frame(self, key: str, text: str) -> str:
        """`text` as this connection sends it (wrapped with the key in stream mode)."""
        return f'{{"stream":{json.dumps(key)},"data":{text}}}' if self.combined else text

    # ---- wscontrol.Subscriptions ----
    def resolve(self, params: list[str]) -> list | None:
        """("stream", name) or ("key", listenKey) per param; None if one is neither."""
        out: list[tuple[str, object]] = []
        for p in params:
            name = streamnames.parse(p)
            if name is not None:
                out.append(("stream", name))
            elif streamnames.LISTEN_KEY.fullmatch(p):
                out.append(("key", p))
            else:
                return None
        return out

    def add(self, items: list) -> None:
        """SUBSCRIBE: a listenKey subscribed this way receives every event type."""
        for kind, item in items:
            if kind == "key":
                self.keys[item] = None
            else:
                self.streams.setdefault(item.key, item)

    def remove(self, items: list) -> None:
        """UNSUBSCRIBE."""
        for kind, item in items:
            if kind == "key":
                self.keys.pop(item, None)
            else:
                self.streams.pop(item.key, None)

    def listed(self) -> list[str]:
        """LIST_SUBSCRIPTIONS: the bound keys, then any market names."""
        return list(self.keys) + [n.shown for n in self.streams.values()]


def bindings(query) -> dict[str, frozenset[str] | None]:
    """listenKey -> event filter from a /private query (repeated listenKey/events pairs)."""
    keys = query.getall("listenKey", [])
    filters = query.getall("events", [])
    out: dict[str, frozenset[str] | None] = {}
    for i, key in enumerate(keys):
        if not key:
            continue
        text = filters[i] if i < len(filters) else ""
        out[key] = frozenset(e for e in text.split("/") if e) or None
    return out


class UserStreams:
    """The account's one listenKey and every /private connection."""

    def __init__(self, clock: Clock, faults: FaultQueue, ttl_secs: int, max_age_secs: int,
                 delay: StreamDelay | None = None):
        self.clock = clock
        self.delay = delay if delay is not None and delay.active else None
        """The latency model's stream side when active, else None."""
        self.faults = faults
        self.ttl_ms = ttl_secs * 1000
        self.max_age_ms = max_age_secs * 1000
        self.key: str | None = None
        self.expires_ms = 0
        self.conns: list[_UserConn] = []
        self._held: list[dict] = []
        self.sent = 0
        self.sinks: list = []
        """Another front's private connections fed the same events after the same faults
        (system/sim/bybit/ws_private.py PrivateStreams); close_all, inject, silence and
        housekeeping reach them too, so the control API's stream faults act on them."""

    # ---- listenKey ----------------------------------------------------------------
    def create_key(self) -> str:
        """POST: the active key (extended), or a new one."""
        if self.key is None:
            self.key = "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))
        self.expires_ms = self.clock.now_ms() + self.ttl_ms
        return self.key

    def extend_key(self) -> None:
        """PUT: keep the active key alive, or -1125."""
        if self.key is None:
            raise err(E.NO_LISTEN_KEY)
        self.expires_ms = self.clock.now_ms() + self.ttl_ms

    def delete_key(self) -> None:
        """DELETE: the key goes away and its connections are closed."""
        if self.key is None:
            raise err(E.NO_LISTEN_KEY)
        key, self.key = self.key, None
        for c in list(self.conns):
            if key in c.keys:
                c.push(None)

    def expire(self) -> None:
        """The key lapses: `listenKeyExpired` on its connections, which then go silent."""
        key = self.key
        if key is None:
            return
        self.key = None
        text = json.dumps(listen_key_expired(key, self.clock.now_ms()), separators=(",", ":"))
        for c in self.conns:
            if c.wants(key, "listenKeyExpired"):
                c.push(c.frame(key, text))

    def close_all(self) -> int:
        """Close every /private connection (no farewell event); returns how many."""
        for c in list(self.conns):
            c.push(None)
        return len(self.conns) + sum(s.close_all() for s in self.sinks)

    def inject(self, raw: str) -> int:
        """Send `raw` as one text frame to every /private connection, as is (no faults)."""
        for c in self.conns:
            c.push(raw)
        return len(self.conns) + sum(s.inject(raw) for s in self.sinks)

    def silence(self, secs: float) -> int:
        """Stall every connection open now for `secs`: no frames, no pongs (a dead peer).

        Events published meanwhile wait on the stalled connection and go out when the stall
        ends, unless the client has given up on it by then. Later connections are not stalled.
        """
        until = self.clock.monotonic() + secs
        for c in self.conns:
            c.silent_until = until
        return len(self.conns) + sum(s.silence(secs) for s in self.sinks)

    def housekeeping(self) -> None:
        """Expire the key on the sim clock; end connections past their maximum age."""
        now = self.clock.now_ms()
        if self.key is not None and now >= self.expires_ms:
            self.expire()
        for c in list(self.conns):
            if now - c.opened_ms >= self.max_age_ms:
                c.push(None)
        for s in self.sinks:
            s.housekeeping()

    # ---- events -------------------------------------------------------------------
    def publish(self, events: list[dict]) -> None:
        """Fan events out to the live key's connections, through any queued stream faults."""
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
        key, kind = self.key, event.get("e", "")
        for c in self.conns:
            if c.wants(key, kind):
                c.push(c.frame(key, text))
        for s in self.sinks:
            s.send_event(event)

    async def serve(self, request: web.Request, keys: dict[str, frozenset[str] | None],
                    *, combined: bool) -> web.WebSocketResponse:
        """A /private connection bound to `keys` (any key: an unknown one stays silent)."""
        # autoping off: pings are answered by _read_loop, which can refuse while silenced.
        if self.delay is not None:
            await self.delay.connect()
        ws = web.WebSocketResponse(heartbeat=None, autoping=False)
        await ws.prepare(request)
        conn = _UserConn(ws, self.clock.now_ms(), combined, dict(keys), delay=self.delay)
        self.conns.append(conn)
        reader = asyncio.ensure_future(self._read_loop(conn))
        try:
            await self._write_loop(conn)
        finally:
            self.conns.remove(conn)
            reader.cancel()
            await ws.close()
        return ws

    def _silent(self, conn: _UserConn) -> bool:
        return self.clock.monotonic() < conn.silent_until

    async def _write_loop(self, conn: _UserConn) -> None:
        while True:
            due, item = await conn.queue.get()
            wait = due - time.monotonic()
            if wait > 0 and not conn.ended:
                await asyncio.sleep(wait)  # the latency model's delay line, in order
            while self._silent(conn) and not (conn.ended or conn.ws.closed):
                await asyncio.sleep(SILENCE_POLL_SECS)
            if item is None or conn.ended or conn.ws.closed:
                return
            await conn.ws.send_str(item)

    async def _read_loop(self, conn: _UserConn) -> None:
        # Answers pings (unless silenced) and SUBSCRIBE-style requests, whose replies queue
        # behind the events already waiting; the client's close also ends the write loop.
        inbound = None
        if self.delay is not None:
            async def handle(text: str) -> None:
                conn.push(json.dumps(wscontrol.answer(text, conn)))
            inbound = self.delay.line(handle)
        try:
            async for msg in conn.ws:
                if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break
                if msg.type == WSMsgType.PING and not self._silent(conn):
                    await conn.ws.pong(msg.data)
                elif msg.type == WSMsgType.TEXT:
                    if inbound is None:
                        conn.push(json.dumps(wscontrol.answer(msg.data, conn)))
                    else:
                        inbound.put(msg.data)  # takes effect once it has arrived
        finally:
            if inbound is not None:
                inbound.close()
            conn.ended = True
            conn.push(None)
