"""Bybit's public linear WebSocket `/v5/public/linear`: `tickers.{symbol}` snapshot + deltas.

`{"op":"subscribe","args":["tickers.BTCUSDT"]}` is acknowledged, then the topic's snapshot
goes out at once; afterwards each `mark_stream_interval_ms` (the sim's mark interval, as read
from its MarketStreams, so a runtime change applies here too) the connection gets a delta
with the fields that changed since its last push (`websocket/public/ticker.mdx`: a field
absent from a delta is unchanged). A delta is pushed every interval even when no price moved,
carrying only `symbol`: a live Bybit symbol's delta always has something (volume, turnover,
book sizes) that the simulator does not model, and a socket that went quiet would look dead.

Other public topic names Bybit has (orderbook, publicTrade, kline, liquidation) are
acknowledged and never fed; a name of no topic, or a ticker of a symbol the sim does not list,
is refused with `success:false` (texts unverified: "error:handler not found,topic:X",
"Invalid symbol :[X]"). One connection's args stay under 21,000 characters (rate-limit.mdx).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from aiohttp import web

from system.sim.bybit.ws_private import BybitConn, PrivateStreams, parse_request, run_conn
from system.sim.market_streams import next_slot, stream_offset

PATH = "/v5/public/linear"
MAX_ARGS_CHARS = 21_000
FUNDING_MS = 28_800_000
_SILENT_TOPICS = re.compile(
    r"(orderbook\.(1|50|200|500|1000)|publicTrade|kline\.(1|3|5|15|30|60|120|240|360|720|D|W|M)"
    r"|liquidation|allLiquidation)\.[A-Z0-9]{1,30}")
_TICKER = re.compile(r"tickers\.([A-Z0-9]{1,30})")


@dataclass(eq=False)
class _PublicConn(BybitConn):
    """A /v5/public/linear connection: its topics and what each was last pushed."""

    topics: dict[str, str | None] = field(default_factory=dict)
    """Subscribed topic -> its ticker symbol (None: acknowledged, never fed)."""
    last: dict[str, dict] = field(default_factory=dict)
    """Ticker topic -> the fields as last pushed (what the next delta is against)."""


class PublicStreams:
    """Every /v5/public/linear connection of one simulator."""

    def __init__(self, sim) -> None:
        self.sim = sim
        delay = sim.stream_delay
        self.delay = delay if delay is not None and delay.active else None
        self.conns: set[_PublicConn] = set()
        self.cross_seq = 9_532_239_000
        """Bybit's `cs`, one counter for every push."""

    # ---- ticker values -------------------------------------------------------------------
    def ticker(self, symbol: str) -> dict:
        """Every field of the symbol's ticker now (a snapshot's data)."""
        e = self.sim.engine
        m = e.markets[symbol]
        last, mark = e.prices[symbol], e.marks[symbol]
        start = m.start_price
        pct = (last - start) / start
        now = self.sim.clock.now_ms()
        return {
            "symbol": symbol, "tickDirection": "ZeroPlusTick",
            "price24hPcnt": f"{pct:.6f}", "lastPrice": m.fmt_price(last),
            "prevPrice24h": m.fmt_price(start), "highPrice24h": m.fmt_price(max(last, start)),
            "lowPrice24h": m.fmt_price(min(last, start)), "prevPrice1h": m.fmt_price(start),
            "markPrice": m.fmt_price(mark), "indexPrice": m.fmt_price(mark),
            "openInterest": "0", "openInterestValue": "0", "turnover24h": "0",
            "volume24h": "0", "nextFundingTime": str((now // FUNDING_MS + 1) * FUNDING_MS),
            "fundingRate": "0.0001", "bid1Price": m.fmt_price(max(last - m.tick, m.tick)),
            "bid1Size": "1", "ask1Price": m.fmt_price(last + m.tick), "ask1Size": "1",
            "preOpenPrice": "", "preQty": "", "curPreListingPhase": ""}

    def _frame(self, topic: str, kind: str, data: dict) -> dict:
        self.cross_seq += 1
        return {"topic": topic, "type": kind, "data": data, "cs": self.cross_seq,
                "ts": self.sim.clock.now_ms()}

    def _emit(self, conn: _PublicConn, topic: str, kind: str, data: dict) -> None:
        probe = self.sim.probe
        if probe is not None and "markPrice" in data:
            # Stamped at emission, before any latency: the bench's reaction runs from here.
            probe.tick(data["symbol"], data["markPrice"], self.sim.clock.monotonic())
        conn.send_json(self._frame(topic, kind, data))

    def _snapshot(self, conn: _PublicConn, topic: str, symbol: str) -> None:
        data = self.ticker(symbol)
        conn.last[topic] = data
        self._emit(conn, topic, "snapshot", dict(data))

    def _delta(self, conn: _PublicConn, topic: str, symbol: str) -> None:
        now = self.ticker(symbol)
        before = conn.last.get(topic, {})
        data = {"symbol": symbol}
        data.update({k: v for k, v in now.items() if before.get(k) != v and k != "symbol"})
        conn.last[topic] = now
        self._emit(conn, topic, "delta", data)

    # ---- fault hooks (tests and a future /_sim/ route) -------------------------------------
    def close_all(self) -> int:
        """Close every public connection; returns how many."""
        for c in list(self.conns):
            c.push(None)
        return len(self.conns)

    def silence(self, secs: float) -> int:
        """Stall every public connection open now for `secs`: no frames, no pongs."""
        until = self.sim.clock.monotonic() + secs
        for c in self.conns:
            c.silent_until = until
        return len(self.conns)

    # ---- connections -----------------------------------------------------------------------
    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        """One /v5/public/linear connection."""
        if self.delay is not None:
            await self.delay.connect()
        ws = web.WebSocketResponse(heartbeat=None, autoping=False)
        await ws.prepare(request)
        clock = self.sim.clock
        conn = _PublicConn(ws, clock, self.delay, last_seen=clock.monotonic())
        self.conns.add(conn)
        self.sim.market_streams.conns.add(ws)  # closed with the others at shutdown
        pusher = asyncio.ensure_future(self._push(conn))
        try:
            await run_conn(conn, self.answer, self.conns)
        finally:
            pusher.cancel()
            self.sim.market_streams.conns.discard(ws)
        return ws

    async def _push(self, conn: _PublicConn) -> None:
        # Each fed topic ticks on absolute slots of the sim clock, as MarketStreams does:
        # "aligned" all at each multiple of the interval, "spread" each at its crc32 offset.
        clock = self.sim.clock
        due: dict[str, float] = {}
        while not (conn.ended or conn.ws.closed):
            streams = self.sim.market_streams
            interval, spread = streams.interval, streams.phase == "spread"
            now = clock.monotonic()
            fed = {t: s for t, s in conn.topics.items() if s is not None and t in conn.last}
            for t in [t for t in due if t not in fed]:
                del due[t]
            for t in fed:
                if t not in due:
                    due[t] = next_slot(now, interval, stream_offset(t, interval) if spread
                                       else 0.0)
            first = min(due.values(), default=now + interval)
            if first > now:
                # Capped so a clock that jumps (a manual one) is looked at again soon.
                await asyncio.sleep(min(first - now, interval))
                continue
            for t, at in list(due.items()):
                if at <= now:
                    self._delta(conn, t, fed[t])
                    offset = stream_offset(t, interval) if spread else 0.0
                    nxt = next_slot(at, interval, offset)
                    # Fallen a whole interval behind: skip the missed slots, never burst.
                    due[t] = nxt if nxt > now else next_slot(now, interval, offset)

    def answer(self, conn: _PublicConn, text: str) -> None:
        """Apply one request and queue Bybit's reply (then any snapshots) to it."""
        req = parse_request(text)
        rid = req.get("req_id", "") if req is not None else ""
        base = {"success": True, "ret_msg": "", "conn_id": conn.cid, "req_id": rid}
        if req is None:
            conn.send_json({**base, "success": False, "ret_msg": "error:invalid op",
                            "op": ""})
            return
        op = req.get("op")
        if op == "ping":
            conn.send_json({**base, "ret_msg": "pong", "op": "ping"})
            return
        if op not in ("subscribe", "unsubscribe"):
            conn.send_json({**base, "success": False, "ret_msg": "error:invalid op",
                            "op": op if isinstance(op, str) else ""})
            return
        args = req.get("args")
        problem, fresh = self._apply(conn, op, args)
        conn.send_json({**base, "op": op, **({"success": False, "ret_msg": problem}
                                              if problem else {})})
        for topic in fresh:
            self._snapshot(conn, topic, conn.topics[topic])

    def _apply(self, conn: _PublicConn, op: str, args) -> tuple[str | None, list[str]]:
        """(refusal, ticker topics newly subscribed); nothing changes when refused."""
        if not (isinstance(args, list) and args and all(isinstance(a, str) for a in args)):
            return "error:invalid args", []
        resolved: dict[str, str | None] = {}
        for a in args:
            m = _TICKER.fullmatch(a)
            if m is not None:
                if m.group(1) not in self.sim.engine.markets:
                    return f"Invalid symbol :[{a}]", []
                resolved[a] = m.group(1)
            elif _SILENT_TOPICS.fullmatch(a):
                resolved[a] = None
            else:
                return f"error:handler not found,topic:{a}", []
        if op == "unsubscribe":
            for a in resolved:
                conn.topics.pop(a, None)
                conn.last.pop(a, None)
            return None, []
        if sum(map(len, {*conn.topics, *resolved})) > MAX_ARGS_CHARS:
            return f"args size >{MAX_ARGS_CHARS}", []
        # A topic subscribed already is named in the refusal; the request's others still
        # take (unverified: no source shows a mixed request's outcome).
        dup = [a for a in resolved if a in conn.topics]
        fresh = {a: s for a, s in resolved.items() if a not in conn.topics}
        conn.topics.update(fresh)
        problem = f"error:already subscribed,topic:{dup[0]}" if dup else None
        return problem, [a for a, s in fresh.items() if s is not None]


def public_streams(sim) -> PublicStreams:
    """The simulator's PublicStreams, made on first use."""
    streams = getattr(sim, "bybit_public", None)
    if streams is None:
        streams = PublicStreams(sim)
        sim.bybit_public = streams
    return streams


def describe(sim) -> dict:
    """The Bybit sockets for /_sim/state: connections open, and how many authenticated."""
    private: PrivateStreams | None = getattr(sim, "bybit_private", None)
    public: PublicStreams | None = getattr(sim, "bybit_public", None)
    conns = private.conns if private is not None else []
    return {"private_connections": len(conns),
            "private_authenticated": sum(c.authed for c in conns),
            "public_connections": len(public.conns) if public is not None else 0}
