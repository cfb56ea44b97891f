"""One Bybit REST request through Bybit's checks, in Bybit's order, to its handler.

Order: the IP limit (HTTP 403, also while banned), the route, the parameters, the signature
over the raw bytes (10003 / 10002 / 10004), the endpoint's per-second limit (10006), then the
handler. Every answer but the 403 is HTTP 200 with the v5 envelope; signed routes carry the
X-Bapi-Limit headers. Engine refusals (Binance codes) are translated in errors.from_engine.
"""

from __future__ import annotations

import json
import secrets

from aiohttp import web

from system.sim.bybit import auth
from system.sim.bybit.errors import BybitError, IpBanned, from_engine, params_error
from system.sim.bybit.params import BParams, parse
from system.sim.bybit.rest import BRoute
from system.sim.errors import SimError


def envelope(result, code: int = 0, msg: str = "OK", now_ms: int = 0) -> dict:
    """Bybit's reply body."""
    return {"retCode": code, "retMsg": msg, "result": {} if result is None else result,
            "retExtInfo": {}, "time": now_ms}


def _reply(body: dict, headers: dict, status: int = 200) -> web.Response:
    text = json.dumps(body, separators=(",", ":"))
    return web.Response(text=text, status=status, content_type="application/json",
                        headers=headers)


def _common_headers(now_ms: int, code: int) -> dict:
    return {"Ret_code": str(code), "Traceid": secrets.token_hex(16), "Timenow": str(now_ms)}


def banned_reply() -> web.Response:
    """The IP limit's answer: HTTP 403 and no JSON (pybit#135: no reset header either)."""
    return web.Response(text="403 Forbidden: access too frequent", status=403,
                        content_type="text/plain")


def fault_reply(sim, code: int, msg: str, status: int) -> web.Response:
    """An injected failure (`/_sim/fail`) rendered as Bybit renders errors."""
    now = sim.clock.now_ms()
    return _reply(envelope(None, code, msg, now), _common_headers(now, code), status)


def not_found_reply() -> web.Response:
    """An unknown path (Bybit answers 404 without an envelope)."""
    return web.Response(text="404 page not found", status=404, content_type="text/plain")


async def serve(sim, request: web.Request, route: BRoute) -> web.Response:
    """Run one request on the Bybit front; never raises for a refused request."""
    now = sim.clock.now_ms()
    try:
        sim.bybit_limiter.admit_ip(request.remote or "", now)
    except IpBanned:
        return banned_reply()
    raw_q = request.raw_path.partition("?")[2]
    headers = {}
    try:
        try:
            raw_b = (await request.read()).decode("utf-8") if request.body_exists else ""
        except UnicodeDecodeError:
            raise params_error("request body is not UTF-8") from None
        p = BParams(parse(request.method, raw_q, raw_b))
        if route.signed:
            auth.check(sim.settings, request.headers, now,
                       raw_b if request.method == "POST" else raw_q)
            sim.bybit_limiter.admit(request.path, route.kind, now)
        body = envelope(route.handler(sim, p), now_ms=now)
    except SimError as e:
        err = from_engine(e)
        body = envelope(None, err.code, err.msg, now)
    except BybitError as e:
        body = envelope(None, e.code, e.msg, now)
    finally:
        sim.flush()
    if route.signed:
        headers.update(sim.bybit_limiter.headers(request.path, route.kind, now))
    return _reply(body, {**_common_headers(now, body["retCode"]), **headers})
