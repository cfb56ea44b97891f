"""The bench's floor on the Bybit front: what `system.sim.bench.bench_sim` measures on Binance's.

- REST round trip: `GET /v5/position/list` (category linear, one symbol) through sync
  ccxt.bybit, the client the engine's gateway uses (venues/bybit/ccxt_factory.py), its
  throttle off, after 20 warm-up calls.
- Order -> private-stream event: a market order placed on the simulator's loop (stamped with
  `time.perf_counter` right after the engine accepted it), and a websocket-client reader
  thread on `/v5/private` (authenticated with the adapter's own greeting: `op: auth`, then the
  topics) stamps the first `order` row of that orderId on arrival: one process, one clock.

The result has bench_sim's shape, so system/bench/rtt.py derives the same three floors.
"""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal

import websocket

from system.sim.bench import _summary
from system.sim.server import SimServer
from system.sim.settings import SimSettings, unthrottled

SYMBOL = "BTCUSDT"
WARM_UP = 20
EVENT_WAIT_SECS = 2.0
"""How long one order waits for its event before it is counted lost."""


def _rest_latency(ex, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        ex.privateGetV5PositionList({"category": "linear", "symbol": SYMBOL})
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _private_socket(server: SimServer) -> websocket.WebSocket:
    """An authenticated /v5/private socket subscribed to posguard's topics (the adapter's
    greeting, as the engine's user stream sends it); waits for both acknowledgements."""
    from venues.bybit import stream
    s = server.settings
    ws = websocket.create_connection(server.url.replace("http", "ws") + "/v5/private",
                                     timeout=5)
    ws.send(stream.auth_frame(s.api_key, s.api_secret, int(time.time() * 1000)))
    ws.send(stream.private_subscription())
    acks: dict[str, dict] = {}
    deadline = time.monotonic() + 5
    while len(acks) < 2 and time.monotonic() < deadline:
        msg = json.loads(ws.recv())
        if msg.get("op") in ("auth", "subscribe"):
            acks[msg["op"]] = msg
    refused = [m for m in acks.values() if not m.get("success")]
    if len(acks) < 2 or refused:
        ws.close()
        raise RuntimeError(f"the Bybit simulator's private socket did not accept the "
                           f"greeting: {refused or acks}")
    return ws


def _stream_latency(server: SimServer, n: int) -> list[float]:
    from system.sim.bybit.ids import order_id
    ws = _private_socket(server)
    ws.settimeout(0.5)
    arrived: dict[str, float] = {}
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                msg = json.loads(ws.recv())
            except (websocket.WebSocketTimeoutException, ValueError):
                continue
            except (websocket.WebSocketConnectionClosedException, OSError):
                return  # closed by the finally below: the run is over
            if msg.get("topic") == "order":
                now = time.perf_counter()
                for row in msg.get("data", ()):
                    arrived.setdefault(row.get("orderId", ""), now)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    accepted: dict[str, float] = {}
    try:
        for i in range(n):
            side = "BUY" if i % 2 == 0 else "SELL"

            def place(sim, side=side, cid=f"bench-{i}"):
                o = sim.engine.place_market(SYMBOL, side, Decimal("0.002"), cid, False)
                accepted[order_id(o.order_id)] = time.perf_counter()
            server.call(place)
            deadline = time.monotonic() + EVENT_WAIT_SECS
            while len(arrived) < i + 1 and time.monotonic() < deadline:
                time.sleep(0.0005)
    finally:
        stop.set()
        ws.close()
        t.join(2)
    return [(arrived[k] - accepted[k]) * 1000 for k in accepted if k in arrived]


def bench_bybit(settings: SimSettings, *, requests: int = 200, events: int = 100) -> dict:
    """REST round trip through sync ccxt.bybit and order -> private `order` event, on the
    simulator's Bybit front with its rate limits lifted (bench_sim's result shape)."""
    import dataclasses

    from venues.bybit.ccxt_factory import make_bybit
    settings = dataclasses.replace(unthrottled(settings), venue="bybit")
    with SimServer(settings) as server:
        ex = make_bybit(server.url, settings.api_key, settings.api_secret)
        ex.enableRateLimit = False  # measure the server, not ccxt's throttle
        ex.load_markets()
        _rest_latency(ex, min(WARM_UP, requests))
        rest = _rest_latency(ex, requests)
        stream = _stream_latency(server, events)
    return {
        "rest_round_trip": {"call": "GET /v5/position/list via ccxt.bybit (sync)",
                            **_summary(rest)},
        "user_stream_latency": {
            "measure": "order accepted by the sim engine -> its first `order` row received "
                       "on /v5/private by a websocket-client reader thread; both stamped "
                       "with time.perf_counter in this process",
            **_summary(stream), "lost": events - len(stream)},
    }
