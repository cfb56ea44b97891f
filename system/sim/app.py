"""The aiohttp application: the simulator's state, request dispatch, background loops."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
from decimal import Decimal

from aiohttp import web

from system.clock import Clock
from system.sim import control
from system.sim.bybit import rest as bybit_rest
from system.sim.bybit import serve as bybit_serve
from system.sim.bybit.limits import BybitLimiter
from system.sim.engine import Engine
from system.sim.errors import RateLimitError, SimError
from system.sim.faults import FaultQueue, HttpFault
from system.sim.latency import RestDelay, StreamDelay
from system.sim.params import Params, check_signature, parse, signed_payload
from system.sim.pricepath import CsvReplay, RandomWalk
from system.sim.probe import Probe
from system.sim.ratelimit import RateLimiter
from system.sim.replies import algo_reply, order_reply
from system.sim.rest import ROUTES, Route
from system.sim.rest_common import check_window
from system.sim.settings import SimSettings
from system.sim.streams import MarketStreams, UserStreams, serve_ws
from system.sim.views import account, position_rows

log = logging.getLogger(__name__)
HOUSEKEEPING_SECS = 0.02


class Sim:
    """Everything one simulator instance owns; touched only from its event loop."""

    def __init__(self, settings: SimSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.engine = Engine(settings, clock)
        self.limiter = RateLimiter(settings)
        self.bybit_limiter = BybitLimiter(settings)
        """The Bybit front's limits (used only when settings.venue == "bybit")."""
        self.faults = FaultQueue()
        # One rng for the latency model's jitter, apart from the price path's.
        rng = random.Random(settings.seed)
        self.rest_delay = RestDelay(settings.latency, rng)
        self.stream_delay = StreamDelay(settings.latency, rng)
        self.users = UserStreams(clock, self.faults, settings.listen_key_ttl_secs,
                                 settings.user_stream_max_age_secs, self.stream_delay)
        self.market_streams = MarketStreams(clock, self._mark, self._marks,
                                            settings.mark_stream_interval_ms,
                                            settings.mark_stream_phase, self.stream_delay)
        self.wsapi_conns: set[web.WebSocketResponse] = set()
        """Open ws-fapi connections (system/sim/wsapi.py)."""
        self.paused = False
        self.path = self._new_path()

    @property
    def probe(self) -> Probe | None:
        """The bench probe, or None (the default: nothing recorded).

        Setting it hands it to the engine and the market streams; `reset` keeps it, so a
        bench may reset the account without losing its recording.
        """
        return self.engine.probe

    @probe.setter
    def probe(self, probe: Probe | None) -> None:
        self.engine.probe = probe
        self.market_streams.probe = probe

    @property
    def bybit(self) -> bool:
        """Whether this simulator serves the Bybit v5 front (else Binance USDT-M)."""
        return self.settings.venue == "bybit"

    def _new_path(self):
        s = self.settings
        if s.price_csv:
            return CsvReplay(s.price_csv)
        return RandomWalk(s.seed, s.volatility_pct, s.drift_pct)

    def _mark(self, symbol: str) -> str | None:
        """The symbol's mark price as the mark stream sends it (None: unknown symbol)."""
        m = self.engine.markets.get(symbol)
        return None if m is None else m.fmt_price(self.engine.marks[symbol])

    def _marks(self):
        """(symbol, mark) of every market, for `!markPrice@arr`."""
        e = self.engine
        return [(s, m.fmt_price(e.marks[s])) for s, m in e.markets.items()]

    def reset(self) -> None:
        """Start state again: connections stay open, the listen key is dropped, the probe stays.

        Rate-limit counters, back-offs and bans are forgotten too.
        """
        self.engine.reset()
        self.limiter.reset()
        self.bybit_limiter.reset()
        self.faults.clear()
        self.users.close_all()
        self.users.key = None
        self.paused = False
        self.path = self._new_path()

    def flush(self) -> None:
        """Publish what the engine produced since the last flush."""
        events = self.engine.drain()
        if events:
            self.users.publish(events)

    def walk_step(self) -> None:
        """Advance every symbol's price path by one step."""
        if self.paused:
            return
        e = self.engine
        if isinstance(self.path, CsvReplay):
            new = self.path.step(e.prices, {s: m.start_price for s, m in e.markets.items()})
        else:
            new = self.path.step(e.prices)
        for sym, price in new.items():
            if price != e.prices[sym]:
                e.set_price(sym, price)
        self.flush()

    def state(self) -> dict:
        """GET /_sim/state."""
        e = self.engine
        now = self.clock.now_ms()
        return {
            "clock": {"now_ms": now, "monotonic": self.clock.monotonic()},
            "paused": self.paused,
            "prices": {s: str(p) for s, p in e.prices.items()},
            "marks": {s: str(p) for s, p in e.marks.items()},
            "dual_side_position": e.dual_side,
            "balances": account(e),
            "positions": position_rows(e, None),
            "open_orders": [order_reply(o, e.markets[o.symbol], "query")
                            for o in e.open_orders()],
            "open_algo_orders": [algo_reply(a, e.markets[a.symbol], "state")
                                 for a in e.open_algos()],
            "fills": list(e.ledger.fills),
            "unprotected": e.meter.report(self.clock.monotonic()),
            "faults": self.faults.describe(),
            "user_stream": {"listen_key": self.users.key, "expires_ms": self.users.expires_ms,
                            "connections": len(self.users.conns), "events_sent":
                            self.users.sent},
            "market_stream_connections": len(self.market_streams.conns),
            "rate_limits": self.bybit_limiter.describe(now) if self.bybit
            else self.limiter.describe(now),
            "latency": {f: getattr(self.settings.latency, f) for f in
                        ("rest_rtt_ms", "stream_delay_ms", "jitter_ms", "handshake_rtts")},
            "wsapi_connections": len(self.wsapi_conns),
            "venue": self.settings.venue,
            **({"bybit_streams": _bybit_streams(self)} if self.bybit else {}),
        }


def _bybit_streams(sim: Sim) -> dict:
    """Bybit's sockets for /_sim/state: private (authenticated) and public connections."""
    from system.sim.bybit.ws_public import describe
    return describe(sim)


def _json(body, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(text=json.dumps(body, default=_default), status=status,
                        content_type="application/json", headers=headers)


def _default(o):
    if isinstance(o, Decimal):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _auth(sim: Sim, request: web.Request, level: str, raw_q: str, raw_b: str,
          p: Params) -> None:
    if level == "none":
        return
    key = request.headers.get("X-MBX-APIKEY")
    if not key:
        raise SimError(-2014, "API-key format invalid.", 401)
    if key != sim.settings.api_key or not sim.settings.futures_trading_enabled:
        # Binance answers a key without futures permission exactly like an unknown key.
        raise SimError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    if level != "signed":
        return
    check_window(sim, p)
    check_signature(sim.settings.api_secret, signed_payload(raw_q, raw_b), p.text("signature"))


async def _params(request: web.Request, raw_q: str) -> tuple[Params | None, str, SimError | None]:
    """(params, raw body, the parse error) of a request; never raises."""
    try:
        raw_b = (await request.read()).decode("utf-8") if request.body_exists else ""
    except UnicodeDecodeError:
        return None, "", SimError(-1100, "Illegal characters found in a parameter.")
    try:
        return Params(parse(raw_q, raw_b)), raw_b, None
    except SimError as e:
        return None, raw_b, e


def _limit_headers(sim: Sim, ip: str, route: Route | None, now_ms: int) -> dict:
    """Binance's live counters: used weight on every reply, order counts on order routes."""
    headers = {"X-MBX-USED-WEIGHT-1M": str(sim.limiter.used_weight(ip, now_ms))}
    if route is not None and route.order:
        c10, c1m = sim.limiter.order_counts(now_ms)
        headers["X-MBX-ORDER-COUNT-10S"] = str(c10)
        headers["X-MBX-ORDER-COUNT-1M"] = str(c1m)
    return headers


async def _serve_binance(sim: Sim, request: web.Request, route: Route) -> web.Response:
    # Binance's order of checks: the IP weight is charged first (even for a request that
    # turns out malformed or unauthenticated), then parameters and auth, then the account's
    # order limits, then the endpoint itself.
    raw_q = request.raw_path.partition("?")[2]
    ip = request.remote or ""
    now = sim.clock.now_ms()
    p, raw_b, bad = await _params(request, raw_q)
    extra: dict = {}
    try:
        sim.limiter.admit(ip, route.weight_for(p is not None and p.has("symbol")), now)
        if bad is not None:
            raise bad
        _auth(sim, request, route.auth, raw_q, raw_b, p)
        if route.order:
            sim.limiter.admit_order(now)
        body, status = route.handler(sim, p), 200
    except RateLimitError as e:
        body, status = e.body(), e.status
        extra["Retry-After"] = str(e.retry_after_secs)
    except SimError as e:
        body, status = e.body(), e.status
    finally:
        sim.flush()
    return _json(body, status, {**_limit_headers(sim, ip, route, now), **extra})


async def _hold(request: web.Request, fault: HttpFault) -> None:
    # The request was served; now starve the client until it gives up (or the hold ends),
    # then cut the connection so no reply is ever delivered.
    loop = asyncio.get_running_loop()
    end = loop.time() + fault.hold_ms / 1000
    while loop.time() < end:
        t = request.transport
        if t is None or t.is_closing():
            break
        await asyncio.sleep(0.02)
    if request.transport is not None:
        request.transport.abort()


async def _param_names(sim: Sim, request: web.Request) -> frozenset[str]:
    """The names of a request's parameters (query, then a form or JSON object body), read
    only when a pending fault depends on them; aiohttp keeps the body for the handler."""
    if not sim.faults.wants_params(request.method, request.path):
        return frozenset()
    names = set(request.query)
    raw = await request.read() if request.body_exists else b""
    text = raw.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            body = json.loads(text)
        except ValueError:
            body = {}
        names.update(body if isinstance(body, dict) else ())
    elif text:
        names.update(k for k, _, _ in (p.partition("=") for p in text.split("&")))
    return frozenset(names)


async def _bybit_venue(sim: Sim, request: web.Request) -> web.StreamResponse:
    """A REST request on the Bybit front, through the same fault queue as Binance's."""
    route = bybit_rest.ROUTES.get((request.method, request.path))
    if route is None:
        return bybit_serve.not_found_reply()
    fault = sim.faults.take_http(request.method, request.path, await _param_names(sim, request))
    if fault is not None and fault.kind == "fail":
        return bybit_serve.fault_reply(sim, fault.code, fault.msg, fault.status)
    resp = await bybit_serve.serve(sim, request, route)
    if fault is not None:
        await _hold(request, fault)
    return resp


def make_app(sim: Sim) -> web.Application:
    """The aiohttp application serving REST, WebSockets and /_sim/."""

    async def dispatch(request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/_sim/"):
            return await _serve_control(sim, request)
        ws = await _maybe_ws(sim, request)
        if ws is not None:
            return ws  # the stream paths apply the stream latency themselves
        delay = sim.rest_delay
        if not delay.active:
            return await venue(request)
        await delay.arrive(request.transport)
        resp = await venue(request)
        await delay.leave()
        return resp

    async def venue(request: web.Request) -> web.StreamResponse:
        if sim.bybit:
            return await _bybit_venue(sim, request)
        path, method = request.path, request.method
        route = ROUTES.get((method, path))
        if route is None:
            known = any(p == path for _, p in ROUTES)
            return _json({"code": -1000, "msg": f"No route {method} {path}."},
                         405 if known else 404,
                         _limit_headers(sim, request.remote or "", None, sim.clock.now_ms()))
        fault = sim.faults.take_http(method, path, await _param_names(sim, request))
        if fault is not None and fault.kind == "fail":
            return _json({"code": fault.code, "msg": fault.msg}, fault.status,
                         _limit_headers(sim, request.remote or "", route, sim.clock.now_ms()))
        resp = await _serve_binance(sim, request, route)
        if fault is not None:
            await _hold(request, fault)
        return resp

    app = web.Application(client_max_size=1 << 20)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


async def _maybe_ws(sim: Sim, request: web.Request):
    """A WebSocket upgrade on a stream path (streams.serve_ws has the layout), else None."""
    if request.method != "GET" or request.headers.get("Upgrade", "").lower() != "websocket":
        return None
    return await serve_ws(sim, request)


async def _serve_control(sim: Sim, request: web.Request) -> web.Response:
    handler = control.CONTROL_ROUTES.get((request.method, request.path))
    if handler is None:
        return _json({"error": f"no control route {request.method} {request.path}"}, 404)
    try:
        body = {}
        if request.can_read_body:
            raw = await request.read()
            body = json.loads(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise control.ControlError("body must be a JSON object")
        return _json(handler(sim, body))
    except (control.ControlError, ValueError) as e:
        return _json({"error": str(e)}, 400)
    finally:
        sim.flush()


def next_walk_after(due: float, now: float, interval: float) -> float:
    """The step after the one due at `due`, on the same phase; missed steps are skipped."""
    nxt = due + interval
    if nxt <= now:  # more than a whole interval behind: skip ahead rather than burst
        nxt += (math.floor((now - nxt) / interval) + 1) * interval
    return nxt


async def background(sim: Sim) -> None:
    """Walk the price path and run timers until cancelled.

    Steps are due at absolute times on the sim clock (start + k * walk_interval), so a
    slow step does not shift the walk's phase against the mark streams' ticks.
    """
    clock = sim.clock
    interval = sim.settings.walk_interval_ms / 1000
    next_walk = clock.monotonic() + interval  # start prices hold one step
    while True:
        now = clock.monotonic()
        if now >= next_walk:
            sim.walk_step()
            next_walk = next_walk_after(next_walk, now, interval)
        sim.engine.run_due()
        sim.users.housekeeping()
        sim.flush()
        await asyncio.sleep(min(HOUSEKEEPING_SECS, max(0.0, next_walk - clock.monotonic())))
