"""Place + cancel latency per transport at a round trip: REST kept alive, REST per new
connection, and Binance's WebSocket Trading API (ws-fapi) on one socket.

The question (issue 15, item 2): should posguard place and cancel stops over ws-fapi
(`algoOrder.place` / `algoOrder.cancel`) rather than REST? Each transport does `orders`
sequential STOP_MARKET place + cancel pairs against a simulator whose latency model adds
`rtt_ms` to every REST round trip and `rtt_ms / 2` one way to every stream frame (the same
split the bench uses), with the handshake of a new connection (TCP + TLS: 2 extra round
trips). Times are wall clock on the client, per request, in ms.

- rest_keepalive: ccxt.async_support, one aiohttp session (kept alive), throttle off.
- rest_new_conn: the same client, its session closed after every request, so every
  request opens a new connection (a client without keep-alive, or after an idle close).
- ws_fapi: one aiohttp WebSocket, HMAC-signed JSON requests, one at a time.

Run: `.venv/bin/python -m system.bench.wsapi` (table for RTT 20, 60, 150 ms).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import sys
import time
from urllib.parse import urlencode

import aiohttp

from system.bench import stats
from system.sim.latency import Latency
from system.sim.server import SimServer
from system.sim.settings import SimSettings, unthrottled
from venues.binance.ccxt_factory import make_binanceusdm

SYMBOL, CCXT_SYMBOL = "BTCUSDT", "BTC/USDT:USDT"
TRIGGER = "59000"
REQUEST_TIMEOUT_SECS = 10.0
TRANSPORTS = ("rest_keepalive", "rest_new_conn", "ws_fapi", "rest_burst_cold",
              "rest_burst_warm", "ws_fapi_burst")
DEFAULT_RTTS = (20.0, 60.0, 150.0)


def settings_at(rtt_ms: float) -> SimSettings:
    """A quiet, unthrottled simulator with the bench's latency split at `rtt_ms`."""
    return unthrottled(SimSettings(
        walk_interval_ms=3_600_000, mark_stream_interval_ms=1000, demo_positions=0,
        latency=Latency(rest_rtt_ms=rtt_ms, stream_delay_ms=rtt_ms / 2, handshake_rtts=2)))


async def _ccxt_run(url: str, s: SimSettings, orders: int, mode: str) -> list:
    """(place ms, cancel ms) per order over ccxt.async_support in `mode` (see REST_MODES)."""
    ex = make_binanceusdm(url, s.api_key, s.api_secret, asynchronous=True,
                          timeout_ms=int(REQUEST_TIMEOUT_SECS * 1000))
    ex.enableRateLimit = False  # the bench measures the wire, not ccxt's own throttle
    ex.timeout_on_exit = 0

    async def reconnect() -> None:  # drop the session: the next request opens a new one
        await ex.close()
        ex.open()

    def place():
        return ex.create_order(CCXT_SYMBOL, "market", "sell", 0.01, None,
                               {"stopPrice": float(TRIGGER), "reduceOnly": True})

    def cancel(o):
        return ex.cancel_order(o["id"], CCXT_SYMBOL, {"trigger": True})

    try:
        await ex.load_markets()
        await ex.create_order(CCXT_SYMBOL, "market", "buy", 0.01)  # the stops' position
        if mode == "burst_warm":
            await _burst(place, cancel, orders)  # fills the pool with kept-alive connections
        if mode in ("burst_cold", "burst_warm"):
            return await _burst(place, cancel, orders)
        new_conn = mode == "new_conn"
        out = []
        for i in range(orders + 1):  # the first pair warms up and is not counted
            t0 = time.perf_counter()
            o = await place()
            t1 = time.perf_counter()
            if new_conn:
                await reconnect()
            t2 = time.perf_counter()
            await cancel(o)
            t3 = time.perf_counter()
            if new_conn:
                await reconnect()
            if i:
                out.append(((t1 - t0) * 1000, (t3 - t2) * 1000))
        return out
    finally:
        await ex.close()


def _signed(params: dict, key: str, secret: str) -> dict:
    p = {**params, "apiKey": key, "timestamp": int(time.time() * 1000)}
    sig = hmac.new(secret.encode(), urlencode(sorted(p.items())).encode(), hashlib.sha256)
    return {**p, "signature": sig.hexdigest()}


class WsApi:
    """A minimal ws-fapi client: signed requests, replies matched by id, many in flight."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, key: str, secret: str) -> None:
        self.ws, self.key, self.secret = ws, key, secret
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future] = {}
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            reply = json.loads(msg.data)
            fut = self._pending.pop(reply.get("id"), None)
            if fut is not None and not fut.done():
                fut.set_result(reply)

    async def call(self, method: str, params: dict) -> dict:
        """One request's result; RuntimeError on an error reply or a closed socket."""
        rid = str(next(self._ids))
        fut = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        await self.ws.send_str(json.dumps({"id": rid, "method": method, "params":
                                           _signed(params, self.key, self.secret)}))
        reply = await asyncio.wait_for(fut, REQUEST_TIMEOUT_SECS)
        if reply.get("status") != 200:
            raise RuntimeError(f"ws-fapi {method}: {reply}")
        return reply["result"]

    def close(self) -> None:
        """Stop reading (the socket is closed by its session)."""
        self._reader.cancel()


async def _open_position(session: aiohttp.ClientSession, url: str, s: SimSettings) -> None:
    body = urlencode({"symbol": SYMBOL, "side": "BUY", "type": "MARKET",
                      "quantity": "0.01", "timestamp": int(time.time() * 1000)})
    body += "&signature=" + hmac.new(s.api_secret.encode(), body.encode(),
                                     hashlib.sha256).hexdigest()
    async with session.post(f"{url}/fapi/v1/order", data=body, headers={
            "X-MBX-APIKEY": s.api_key,
            "Content-Type": "application/x-www-form-urlencoded"}) as r:
        r.raise_for_status()


WS_STOP = {"algoType": "CONDITIONAL", "symbol": SYMBOL, "side": "SELL", "type": "STOP_MARKET",
           "triggerPrice": TRIGGER, "quantity": "0.01", "reduceOnly": "true"}


async def _ws_run(url: str, s: SimSettings, orders: int, burst: bool) -> list:
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await _open_position(session, url, s)
        async with session.ws_connect("ws://" + url.split("://", 1)[1] + "/ws-fapi/v1") as ws:
            api = WsApi(ws, s.api_key, s.api_secret)
            try:
                if burst:
                    return await _burst(lambda: api.call("algoOrder.place", WS_STOP),
                                        lambda r: api.call("algoOrder.cancel",
                                                           {"algoId": r["algoId"]}), orders)
                out = []
                for i in range(orders + 1):
                    t0 = time.perf_counter()
                    placed = await api.call("algoOrder.place", WS_STOP)
                    t1 = time.perf_counter()
                    await api.call("algoOrder.cancel", {"algoId": placed["algoId"]})
                    t2 = time.perf_counter()
                    if i:
                        out.append(((t1 - t0) * 1000, (t2 - t1) * 1000))
                return out
            finally:
                api.close()


async def _timed(coro_fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = await coro_fn()
    return (time.perf_counter() - t0) * 1000, result


async def _burst(place, cancel, orders: int) -> list:
    """`orders` placements at once, then their cancels at once: (place ms, cancel ms) each.

    The case of many positions opened in the same second, each needing its first stop.
    """
    placed = await asyncio.gather(*(_timed(place) for _ in range(orders)))
    cancelled = await asyncio.gather(*(_timed(lambda r=r: cancel(r)) for _, r in placed))
    return [(p, c) for (p, _), (c, _) in zip(placed, cancelled, strict=True)]


def _summarise(pairs: list) -> dict:
    return {"place": stats.summary(p for p, _ in pairs),
            "cancel": stats.summary(c for _, c in pairs),
            "pair": stats.summary(p + c for p, c in pairs)}


def _runs(s: SimSettings, orders: int) -> dict:
    return {
        "rest_keepalive": lambda url: _ccxt_run(url, s, orders, "keepalive"),
        "rest_new_conn": lambda url: _ccxt_run(url, s, orders, "new_conn"),
        "ws_fapi": lambda url: _ws_run(url, s, orders, burst=False),
        "rest_burst_cold": lambda url: _ccxt_run(url, s, orders, "burst_cold"),
        "rest_burst_warm": lambda url: _ccxt_run(url, s, orders, "burst_warm"),
        "ws_fapi_burst": lambda url: _ws_run(url, s, orders, burst=True),
    }


def measure(rtt_ms: float, orders: int = 50, transports=TRANSPORTS) -> dict:
    """Place + cancel latency per transport at `rtt_ms`, each on its own fresh simulator.

    {"rtt_ms", "orders", "transports": {name: {"place"|"cancel"|"pair": {n, p50_ms,
    p99_ms, max_ms}}}}; "pair" is one place plus its cancel, the cost of one stop move.
    Sequential transports do one order at a time; the *_burst ones send all `orders`
    placements at once, then all their cancels (cold: a client with one open connection;
    warm: after one burst has filled its connection pool).
    """
    if orders < 1:
        raise ValueError(f"orders must be at least 1, got {orders}")
    s = settings_at(rtt_ms)
    runs = _runs(s, orders)
    out: dict = {"rtt_ms": rtt_ms, "orders": orders, "transports": {}}
    for name in transports:
        with SimServer(s) as server:
            out["transports"][name] = _summarise(asyncio.run(runs[name](server.url)))
    return out


def table(results: list[dict]) -> str:
    """Plain-text table: one row per RTT and transport."""
    head = (f"{'RTT ms':>6}  {'transport':<15} {'place p50/p99':>15} {'cancel p50/p99':>15}"
            f" {'place+cancel p50/p99':>21}  {'x RTT (p50)':>11}")
    rows = [head, "-" * len(head)]
    for r in results:
        for name, t in r["transports"].items():
            def cell(k):
                return f"{t[k]['p50_ms']:.1f} / {t[k]['p99_ms']:.1f}"
            ratio = t["pair"]["p50_ms"] / r["rtt_ms"] if r["rtt_ms"] else float("nan")
            rows.append(f"{r['rtt_ms']:>6.0f}  {name:<15} {cell('place'):>15} "
                        f"{cell('cancel'):>15} {cell('pair'):>21}  {ratio:>11.2f}")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    """`python -m system.bench.wsapi [orders] [rtt,rtt,...]`: print the table."""
    orders = int(argv[0]) if argv else 50
    rtts = [float(x) for x in argv[1].split(",")] if len(argv) > 1 else list(DEFAULT_RTTS)
    results = [measure(rtt, orders) for rtt in rtts]
    print(table(results))
    print(json.dumps(results, indent=None))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

