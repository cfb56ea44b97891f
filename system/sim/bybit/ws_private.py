"""Bybit's private WebSocket `/v5/private`: auth, ping, subscribe, the account's pushes.

Protocol (`websocket/wss-authentication.mdx`, bybit-linear.md "Private WebSocket"):
`{"op":"auth","args":[key, expires, hex HMAC-SHA256(secret, "GET/realtime" + expires)]}` with
`expires` in ms in the future (ccxt sends it as a string, pybit as an integer; the signature is
checked over the text as sent); `{"op":"ping"}` -> `{"op":"pong","args":[now_ms],...}`;
`{"op":"subscribe","args":["position","order","execution","wallet"]}` (or the `.linear`
forms of the first three; one request takes one form). Pushes carry the topic as subscribed.
Nothing is pushed on subscribe (no snapshot, pybit#239, wallet.mdx).

A refused auth answers `success:false` with "Params Error" (what v5 sent pybit#152, #300 and
api-usage-examples#70 for an expiry problem; the same text for every cause, as those reports
show no other) and the connection stays open, unauthenticated. The server closes a connection
that sent no frame (ping or request) for 10 minutes, or for `?max_active_time=` (30s..600s).

Events come from the Binance user stream's fan-out (UserStreams.sinks), after the same
injected stream faults, so /_sim/fault/stream, close_stream, inject_frame and silence act on
these connections too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from system.clock import Clock
from system.sim.bybit.frames import envelope, translate
from system.sim.engine import Engine
from system.sim.latency import StreamDelay, next_due
from system.sim.settings import SimSettings

PATH = "/v5/private"
SILENCE_POLL_SECS = 0.02
IDLE_SECS = 600.0
"""No ping or request for this long and Bybit closes the socket (wss-authentication.mdx)."""
MAX_ACTIVE_RANGE = (30.0, 600.0)
"""`max_active_time` bounds (s)."""
TOPICS = {"position": "position", "order": "order", "execution": "execution",
          "wallet": "wallet", "position.linear": "position", "order.linear": "order",
          "execution.linear": "execution"}
"""Subscribable name -> the topic of the rows it receives."""
AUTH_REFUSED = "Params Error"
NOT_AUTHED = "Request not authorized"
_IDS = itertools.count(1)
_ACTIVE = re.compile(r"(\d{1,4})([sm])")


def conn_id() -> str:
    """A connection id shaped like Bybit's (`cejreaspqfh3sjdnldmg-p`)."""
    return f"{secrets.token_hex(10)}-{next(_IDS):x}"


@dataclass(eq=False)
class BybitConn:
    """One Bybit WebSocket connection's outbound queue, stall and liveness (both endpoints)."""

    ws: web.WebSocketResponse
    clock: Clock
    delay: StreamDelay | None
    """The latency model's stream side when active (None: frames go at once)."""
    cid: str = field(default_factory=conn_id)
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    silent_until: float = 0.0
    """Sim-clock monotonic seconds: until then nothing is sent and no ping is answered."""
    ended: bool = False
    """The client closed its side (the reader stopped)."""
    last_due: float = 0.0
    """Due time of the newest queued frame: later frames never precede it."""
    last_seen: float = 0.0
    """Sim-clock monotonic seconds of the client's last frame (the idle timeout's start)."""

    def push(self, item: str | None) -> None:
        """Queue a frame (None: close) with the time it may leave (the latency model's)."""
        now = time.monotonic()
        due = now if self.delay is None else next_due(now, self.delay.leg(), self.last_due)
        self.last_due = due
        self.queue.put_nowait((due, item))

    def send_json(self, body: dict) -> None:
        """Queue one JSON frame."""
        self.push(json.dumps(body, separators=(",", ":")))

    @property
    def silent(self) -> bool:
        """Stalled by /_sim/fault/silence."""
        return self.clock.monotonic() < self.silent_until

    async def write_loop(self) -> None:
        """Send queued frames at their due times until a close (None) or the peer leaves."""
        while True:
            due, item = await self.queue.get()
            wait = due - time.monotonic()
            if wait > 0 and not self.ended:
                await asyncio.sleep(wait)
            while self.silent and not (self.ended or self.ws.closed):
                await asyncio.sleep(SILENCE_POLL_SECS)
            if item is None or self.ended or self.ws.closed:
                return
            await self.ws.send_str(item)

    async def read_loop(self, answer) -> None:
        """Answer protocol pings (unless stalled) and hand text frames to `answer`."""
        inbound = None
        if self.delay is not None:
            async def handle(text: str) -> None:
                answer(self, text)
            inbound = self.delay.line(handle)
        try:
            async for msg in self.ws:
                if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break
                self.last_seen = self.clock.monotonic()
                if msg.type == WSMsgType.PING and not self.silent:
                    await self.ws.pong(msg.data)
                elif msg.type == WSMsgType.TEXT:
                    if inbound is None:
                        answer(self, msg.data)
                    else:
                        inbound.put(msg.data)  # takes effect once it has arrived
        finally:
            if inbound is not None:
                inbound.close()
            self.ended = True
            self.push(None)


async def run_conn(conn: BybitConn, answer, registry) -> None:
    """Serve `conn` (already in `registry`) until either side closes it."""
    reader = asyncio.ensure_future(conn.read_loop(answer))
    try:
        await conn.write_loop()
    finally:
        if isinstance(registry, list):
            registry.remove(conn)
        else:
            registry.discard(conn)
        reader.cancel()
        await conn.ws.close()


def parse_request(text: str) -> dict | None:
    """The request object of a text frame, or None when it is not a JSON object."""
    try:
        req = json.loads(text)
    except ValueError:
        return None
    return req if isinstance(req, dict) else None


def max_active_secs(query) -> float:
    """The idle timeout a connection asked for with `?max_active_time=` (default 600 s)."""
    m = _ACTIVE.fullmatch(query.get("max_active_time", ""))
    if m is None:
        return IDLE_SECS
    secs = float(m.group(1)) * (60 if m.group(2) == "m" else 1)
    lo, hi = MAX_ACTIVE_RANGE
    return secs if lo <= secs <= hi else IDLE_SECS


@dataclass(eq=False)
class _PrivateConn(BybitConn):
    """A /v5/private connection: whether it authenticated, what it subscribed."""

    authed: bool = False
    topics: dict[str, list[str]] = field(default_factory=dict)
    """Row topic -> the names it was subscribed under (each gets its own push)."""
    idle_secs: float = IDLE_SECS


def signature(secret: str, expires: str) -> str:
    """Bybit's WebSocket auth signature for `expires` (the text as the client sent it)."""
    return hmac.new(secret.encode(), f"GET/realtime{expires}".encode(),
                    hashlib.sha256).hexdigest()


class PrivateStreams:
    """Every /v5/private connection of one simulator."""

    def __init__(self, settings: SimSettings, clock: Clock, engine: Engine,
                 delay: StreamDelay | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.engine = engine
        self.delay = delay if delay is not None and delay.active else None
        self.idle_secs = IDLE_SECS
        """Idle timeout of connections that do not ask for one (tests shorten it)."""
        self.conns: list[_PrivateConn] = []

    # ---- UserStreams sink ------------------------------------------------------------
    def send_event(self, event: dict) -> None:
        """Push the rows of one engine event to the subscribed, authenticated connections."""
        targets = [c for c in self.conns if c.authed and c.topics]
        if not targets:
            return
        now = self.clock.now_ms()
        for topic, row in translate(event, self.engine):
            for c in targets:
                for shown in c.topics.get(topic, ()):
                    c.send_json(envelope(shown, [row], now))

    def close_all(self) -> int:
        """Close every connection (a server-side close); returns how many."""
        for c in list(self.conns):
            c.push(None)
        return len(self.conns)

    def inject(self, raw: str) -> int:
        """Send `raw` as one text frame to every connection, as is."""
        for c in self.conns:
            c.push(raw)
        return len(self.conns)

    def silence(self, secs: float) -> int:
        """Stall every connection open now for `secs`: no frames, no pongs."""
        until = self.clock.monotonic() + secs
        for c in self.conns:
            c.silent_until = until
        return len(self.conns)

    def housekeeping(self) -> None:
        """Close connections that sent nothing for their idle timeout."""
        now = self.clock.monotonic()
        for c in self.conns:
            if now - c.last_seen >= c.idle_secs and not c.ended:
                c.ended = True  # once: the close is queued
                c.push(None)

    # ---- connections -------------------------------------------------------------------
    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        """One /v5/private connection (autoping off: a stalled one must not pong)."""
        if self.delay is not None:
            await self.delay.connect()
        ws = web.WebSocketResponse(heartbeat=None, autoping=False)
        await ws.prepare(request)
        conn = _PrivateConn(ws, self.clock, self.delay, last_seen=self.clock.monotonic(),
                            idle_secs=min(max_active_secs(request.query), self.idle_secs))
        self.conns.append(conn)
        await run_conn(conn, self.answer, self.conns)
        return ws

    def answer(self, conn: _PrivateConn, text: str) -> None:
        """Apply one request and queue Bybit's reply to it."""
        req = parse_request(text)
        if req is None:
            conn.send_json({"success": False, "ret_msg": "error:invalid op",
                            "conn_id": conn.cid, "request": {"op": "", "args": None}})
            return
        op, args = req.get("op"), req.get("args")
        ack = {"success": True, "ret_msg": "", "op": op, "conn_id": conn.cid}
        if "req_id" in req:
            ack["req_id"] = req["req_id"]
        if op == "ping":
            reply = {"op": "pong", "args": [str(self.clock.now_ms())], "conn_id": conn.cid}
            if "req_id" in req:
                reply = {"req_id": req["req_id"], **reply}
            conn.send_json(reply)
            return
        if op == "auth":
            problem = self._auth_problem(args)
            conn.authed = conn.authed or problem is None
        elif op in ("subscribe", "unsubscribe"):
            problem = self._subscribe(conn, op, args)
        else:
            problem = f"error:invalid op {op}" if op else "error:invalid op"
        if problem is not None:
            ack.update(success=False, ret_msg=problem)
        conn.send_json(ack)

    def _auth_problem(self, args) -> str | None:
        if not (isinstance(args, list) and len(args) == 3):
            return AUTH_REFUSED
        key, expires, sig = args
        if isinstance(expires, bool) or not isinstance(expires, (int, str)):
            return AUTH_REFUSED
        text = str(expires)
        if not text.isdigit() or int(text) <= self.clock.now_ms():
            return AUTH_REFUSED
        s = self.settings
        if key != s.api_key or not isinstance(sig, str) or not hmac.compare_digest(
                sig, signature(s.api_secret, text)):
            return AUTH_REFUSED
        return None

    def _subscribe(self, conn: _PrivateConn, op: str, args) -> str | None:
        if not conn.authed:
            return NOT_AUTHED
        if not (isinstance(args, list) and args and all(isinstance(a, str) for a in args)):
            return "error:args is empty" if args == [] else "error:invalid args"
        unknown = [a for a in args if a not in TOPICS]
        if unknown:
            return f"error:handler not found,topic:{unknown[0]}"
        if len({"." in a for a in args}) > 1:
            return "error:all-in-one and categorised topics cannot share one request"
        dup = None
        for a in args:
            shown = conn.topics.setdefault(TOPICS[a], [])
            if op == "unsubscribe":
                if a in shown:
                    shown.remove(a)
            elif a in shown:
                dup = dup or a  # named in the refusal; the request's others still take
            else:
                shown.append(a)
        return None if dup is None else f"error:already subscribed,topic:{dup}"


def private_streams(sim) -> PrivateStreams:
    """The simulator's PrivateStreams, made on first use and fed by its user-stream fan-out."""
    streams = getattr(sim, "bybit_private", None)
    if streams is None:
        streams = PrivateStreams(sim.settings, sim.clock, sim.engine, sim.stream_delay)
        sim.bybit_private = streams
        sim.users.sinks.append(streams)
    return streams
