"""User-data stream (listenKey lifecycle, fault-mangled event fan-out) and mark-price stream."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from system.clock import Clock
from system.sim import errors as E
from system.sim.errors import err
from system.sim.events import listen_key_expired, mark_price_update
from system.sim.faults import FaultQueue

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


class MarketStreams:
    """markPriceUpdate connections: raw (/ws/<stream>) or combined (/stream?streams=)."""

    def __init__(self, clock: Clock, price_of, all_prices, interval_ms: int) -> None:
        self.clock = clock
        self.prices = price_of
        """Callable: symbol -> formatted mark price, or None for an unknown symbol."""
        self.symbols = all_prices
        """Callable: -> iterable of (symbol, formatted mark price)."""
        self.interval = interval_ms / 1000
        self.conns: set[web.WebSocketResponse] = set()

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
        subs = [s for s in (parse_stream(n) for n in streams) if s]
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.conns.add(ws)
        pusher = asyncio.ensure_future(self._push(ws, subs, combined))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                await ws.send_str(json.dumps(_control_reply(msg.data, subs)))
        finally:
            pusher.cancel()
            self.conns.discard(ws)
        return ws

    async def _push(self, ws: web.WebSocketResponse, subs: list[str], combined: bool) -> None:
        while not ws.closed:
            for stream in list(subs):
                data = self.payloads(stream)
                if data is None:
                    continue
                out = {"stream": stream, "data": data} if combined else data
                await ws.send_str(json.dumps(out, separators=(",", ":")))
            await asyncio.sleep(self.interval)


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
