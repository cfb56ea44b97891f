"""The aiohttp application: the simulator's state, request dispatch, background loops."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from decimal import Decimal

from aiohttp import web

from system.clock import Clock
from system.sim import control
from system.sim.engine import Engine
from system.sim.errors import SimError
from system.sim.faults import FaultQueue, HttpFault
from system.sim.params import Params, check_signature, parse, signed_payload
from system.sim.pricepath import CsvReplay, RandomWalk
from system.sim.probe import Probe
from system.sim.rest import ROUTES
from system.sim.settings import SimSettings
from system.sim.streams import MarketStreams, UserStreams

log = logging.getLogger(__name__)
HOUSEKEEPING_SECS = 0.02


class Sim:
    """Everything one simulator instance owns; touched only from its event loop."""

    def __init__(self, settings: SimSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.engine = Engine(settings, clock)
        self.faults = FaultQueue()
        self.users = UserStreams(clock, self.faults, settings.listen_key_ttl_secs,
                                 settings.user_stream_max_age_secs)
        self.market_streams = MarketStreams(clock, self._mark, self._marks,
                                            settings.mark_stream_interval_ms,
                                            settings.mark_stream_phase)
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

    def _new_path(self):
        s = self.settings
        if s.price_csv:
            return CsvReplay(s.price_csv)
        return RandomWalk(s.seed, s.volatility_pct, s.drift_pct)

    def _mark(self, symbol: str) -> str | None:
        m = self.engine.markets.get(symbol)
        return None if m is None else m.fmt_price(self.engine.prices[symbol])

    def _marks(self):
        e = self.engine
        return [(s, m.fmt_price(e.prices[s])) for s, m in e.markets.items()]

    def reset(self) -> None:
        """Start state again: connections stay open, the listen key is dropped, the probe stays."""
        self.engine.reset()
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
        from system.sim.model import algo_json, order_json
        from system.sim.views import account, position_rows
        return {
            "clock": {"now_ms": self.clock.now_ms(), "monotonic": self.clock.monotonic()},
            "paused": self.paused,
            "prices": {s: str(p) for s, p in e.prices.items()},
            "balances": account(e),
            "positions": position_rows(e, None),
            "open_orders": [order_json(o, e.markets[o.symbol]) for o in e.open_orders()],
            "open_algo_orders": [algo_json(a, e.markets[a.symbol]) for a in e.open_algos()],
            "fills": list(e.ledger.fills),
            "unprotected": e.meter.report(self.clock.monotonic()),
            "faults": self.faults.describe(),
            "user_stream": {"listen_key": self.users.key, "expires_ms": self.users.expires_ms,
                            "connections": len(self.users.conns), "events_sent":
                            self.users.sent},
            "market_stream_connections": len(self.market_streams.conns),
        }


def _json(body, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, default=_default), status=status,
                        content_type="application/json")


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
    if key != sim.settings.api_key:
        raise SimError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    if level != "signed":
        return
    ts = p.integer("timestamp")
    window = p.integer("recvWindow", required=False) or 5000
    if window <= 0 or window > sim.settings.recv_window_max_ms:
        raise SimError(-1131, f"recvWindow must be less than {sim.settings.recv_window_max_ms}.")
    now = sim.clock.now_ms()
    if ts > now + 1000 or now - ts > window:
        raise SimError(-1021, "Timestamp for this request is outside of the recvWindow.")
    check_signature(sim.settings.api_secret, signed_payload(raw_q, raw_b), p.text("signature"))


async def _serve_binance(sim: Sim, request: web.Request, route) -> web.Response:
    handler, level = route
    raw_q = request.raw_path.partition("?")[2]
    try:
        raw_b = (await request.read()).decode("utf-8") if request.can_read_body else ""
        p = Params(parse(raw_q, raw_b))
        _auth(sim, request, level, raw_q, raw_b, p)
        return _json(handler(sim, p))
    except UnicodeDecodeError:
        return _json({"code": -1100, "msg": "Illegal characters found in a parameter."}, 400)
    except SimError as e:
        return _json(e.body(), e.status)
    finally:
        sim.flush()


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


def make_app(sim: Sim) -> web.Application:
    """The aiohttp application serving REST, WebSockets and /_sim/."""

    async def dispatch(request: web.Request) -> web.StreamResponse:
        path, method = request.path, request.method
        if path.startswith("/_sim/"):
            return await _serve_control(sim, request)
        ws = await _maybe_ws(sim, request)
        if ws is not None:
            return ws
        route = ROUTES.get((method, path))
        if route is None:
            known = any(p == path for _, p in ROUTES)
            return _json({"code": -1000, "msg": f"No route {method} {path}."},
                         405 if known else 404)
        fault = sim.faults.take_http(method, path)
        if fault is not None and fault.kind == "fail":
            return _json({"code": fault.code, "msg": fault.msg}, fault.status)
        resp = await _serve_binance(sim, request, route)
        if fault is not None:
            await _hold(request, fault)
        return resp

    app = web.Application(client_max_size=1 << 20)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


async def _maybe_ws(sim: Sim, request: web.Request):
    path = request.path
    if request.method != "GET" or request.headers.get("Upgrade", "").lower() != "websocket":
        return None
    if path == "/private/ws":
        return await sim.users.serve(request, request.query.get("listenKey", ""))
    if path == "/stream":
        names = [n for n in request.query.get("streams", "").split("/") if n]
        return await sim.market_streams.serve(request, names, combined=True)
    if path == "/ws" or path.startswith("/ws/"):
        tail = path[4:]
        names = [n for n in tail.split("/") if n]
        if len(names) == 1 and "@" not in names[0] and not names[0].startswith("!"):
            return await sim.users.serve(request, names[0])
        return await sim.market_streams.serve(request, names, combined=False)
    return None


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
