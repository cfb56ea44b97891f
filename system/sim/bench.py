"""`posguard bench sim`: the loopback floor every posguard reaction time is compared to."""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from decimal import Decimal

import websocket

from venues.binance.ccxt_factory import make_binanceusdm
from system.sim.server import SimServer
from system.sim.settings import SimSettings, unthrottled


def _summary(samples_ms: list[float]) -> dict:
    s = sorted(samples_ms)
    if not s:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    p99 = s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))]
    return {"n": len(s), "p50_ms": round(statistics.median(s), 3), "p99_ms": round(p99, 3),
            "max_ms": round(s[-1], 3)}


def _rest_latency(ex, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        ex.fapiPrivateV3GetPositionRisk()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _stream_latency(server: SimServer, ex, n: int) -> list[float]:
    # Measured client-side on one clock: the time the sim accepted the order is taken on the
    # server's loop right after the engine placed it, read with time.perf_counter (same
    # process), and the reader thread stamps the ORDER_TRADE_UPDATE NEW when it arrives.
    key = ex.fapiPrivatePostListenKey()["listenKey"]
    ws = websocket.create_connection(
        server.url.replace("http", "ws") + f"/private/ws?listenKey={key}", timeout=5)
    arrived: dict[int, float] = {}
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                msg = json.loads(ws.recv())
            except (websocket.WebSocketTimeoutException, ValueError):
                continue
            except (websocket.WebSocketConnectionClosedException, OSError):
                return  # the socket was closed by the finally below: the run is over
            if msg.get("e") == "ORDER_TRADE_UPDATE" and msg["o"]["x"] == "NEW":
                arrived[msg["o"]["i"]] = time.perf_counter()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    accepted: dict[int, float] = {}
    try:
        for i in range(n):
            side = "BUY" if i % 2 == 0 else "SELL"

            def place(sim, side=side, cid=f"bench-{i}"):
                o = sim.engine.place_market("BTCUSDT", side, Decimal("0.002"), cid, False)
                accepted[o.order_id] = time.perf_counter()
            server.call(place)
            deadline = time.monotonic() + 2
            while len(arrived) < i + 1 and time.monotonic() < deadline:
                time.sleep(0.0005)
    finally:
        stop.set()
        ws.close()
        t.join(2)
    return [(arrived[k] - accepted[k]) * 1000 for k in accepted if k in arrived]


def bench_sim(settings: SimSettings, *, requests: int = 200, events: int = 100) -> dict:
    """REST round trip through sync ccxt and order->stream event latency, on loopback.

    The simulator's rate limits are lifted (`unthrottled`), so a long run is never refused.
    """
    with SimServer(unthrottled(settings)) as server:
        ex = make_binanceusdm(server.url, settings.api_key, settings.api_secret)
        ex.enableRateLimit = False  # measure the server, not ccxt's throttle
        ex.load_markets()
        _rest_latency(ex, min(20, requests))  # warm-up: connection pool, first-call costs
        rest = _rest_latency(ex, requests)
        stream = _stream_latency(server, ex, events)
    return {
        "cores": os.cpu_count(),
        "rest_round_trip": {"call": "GET /fapi/v3/positionRisk via ccxt (sync)",
                            **_summary(rest)},
        "user_stream_latency": {
            "measure": "order accepted by the sim engine -> ORDER_TRADE_UPDATE NEW received "
                       "by a websocket-client reader thread; both stamped with "
                       "time.perf_counter in this process",
            **_summary(stream), "lost": events - len(stream)},
    }


def format_bench_sim(result: dict) -> str:
    """A readable table of bench_sim's result."""
    lines = [f"simulator loopback bench ({result['cores']} cores)",
             f"{'measure':<22}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}"]
    for name in ("rest_round_trip", "user_stream_latency"):
        r = result[name]
        cells = [f"{r[k]:>10.3f}" if r[k] is not None else f"{'-':>10}"
                 for k in ("p50_ms", "p99_ms", "max_ms")]
        lines.append(f"{name:<22}{r['n']:>6}" + "".join(cells))
    lines.append(f"  rest: {result['rest_round_trip']['call']}")
    lines.append(f"  stream: {result['user_stream_latency']['measure']}")
    return "\n".join(lines)
