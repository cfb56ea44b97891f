"""Binance's WebSocket Trading API (ws-fapi), the two methods posguard may place stops with.

`wss://ws-fapi.binance.com/ws-fapi/v1` takes JSON requests on one kept-alive socket,
`{"id", "method", "params"}`, and answers each `{"id", "status", "result" | "error",
"rateLimits"}` (the wire format of binance-sdk-derivatives-trading-usds-futures 18.1.0:
websocket_api/api/trade_api.py, binance_common.utils.ws_api_payload). A signed request's
params carry `apiKey`, `timestamp` and `signature` = HMAC-SHA256 of every other param,
sorted by name and urlencoded. The simulator serves `algoOrder.place` and
`algoOrder.cancel` only, through the same handlers, limits and engine as the REST
/fapi/v1/algoOrder routes, so an order placed here is the order REST sees.

Why it exists: the bench measures whether placing over one socket beats REST (a REST call
on a kept-alive connection costs one round trip too; a new connection costs the handshake).
Under the latency model each request frame pays one stream delay in and its reply one out.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

from system.sim import rest_common as rc
from system.sim import rest_orders as ro
from system.sim.errors import RateLimitError, SimError
from system.sim.params import Params, check_signature

PATH = "/ws-fapi/v1"
METHODS = {
    # method: (handler, IP weight, counts against the order limits)
    "algoOrder.place": (ro.h_new_algo, 0, True),
    "algoOrder.cancel": (ro.h_cancel_algo, 1, False),
}
UNSIGNED = ("signature",)


def _text(value) -> str:
    """A JSON param as the signer saw it (the SDK sends bools as "true"/"false")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def signature_payload(params: dict[str, str]) -> str:
    """What the client signed: every param but `signature`, sorted by name, urlencoded."""
    return urlencode(sorted((k, v) for k, v in params.items() if k not in UNSIGNED))


def _rate_limits(sim, ip: str, order: bool, now_ms: int) -> list[dict]:
    used = sim.limiter.used_weight(ip, now_ms)
    out = [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
            "limit": sim.limiter.weight_limit, "count": used}]
    if order:
        c10, c1m = sim.limiter.order_counts(now_ms)
        out += [{"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
                 "limit": sim.limiter.orders_10s_limit, "count": c10},
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1,
                 "limit": sim.limiter.orders_1m_limit, "count": c1m}]
    return out


def _auth(sim, params: dict[str, str]) -> None:
    key = params.get("apiKey", "")
    if not key:
        raise SimError(-2014, "API-key format invalid.", 401)
    if key != sim.settings.api_key or not sim.settings.futures_trading_enabled:
        raise SimError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    p = Params(params)
    rc.check_window(sim, p)
    check_signature(sim.settings.api_secret, signature_payload(params), p.text("signature"))


def answer(sim, ip: str, text: str) -> dict:
    """The reply to one request frame (never raises: every refusal is an error reply)."""
    try:
        req = json.loads(text)
    except ValueError:
        req = None
    if not isinstance(req, dict) or not isinstance(req.get("params", {}), dict):
        return {"id": None, "status": 400,
                "error": {"code": -1000, "msg": "Malformed request."}}
    rid, method = req.get("id"), req.get("method")
    spec = METHODS.get(method)
    now = sim.clock.now_ms()
    if spec is None:
        return {"id": rid, "status": 400, "error": {
            "code": -1000, "msg": f"Unknown method '{method}'."}}
    handler, weight, order = spec
    params = {k: _text(v) for k, v in req.get("params", {}).items()}
    reply: dict = {"id": rid}
    try:
        sim.limiter.admit(ip, weight, now)
        _auth(sim, params)
        if order:
            sim.limiter.admit_order(now)
        reply.update(status=200, result=handler(sim, Params(params)))
    except RateLimitError as e:
        reply.update(status=e.status, error={**e.body(), "data": {
            "retryAfter": now + e.retry_after_secs * 1000}})
    except SimError as e:
        reply.update(status=e.status, error=e.body())
    finally:
        sim.flush()
    if params.get("returnRateLimits") != "false":
        reply["rateLimits"] = _rate_limits(sim, ip, order, now)
    return reply


async def serve(sim, request: web.Request) -> web.WebSocketResponse:
    """One ws-fapi connection: requests answered in arrival order, each its own frame."""
    delay = sim.stream_delay if sim.stream_delay.active else None
    if delay is not None:
        await delay.connect()
    ws = web.WebSocketResponse(heartbeat=None)
    await ws.prepare(request)
    ip = request.remote or ""
    sim.wsapi_conns.add(ws)  # the server closes what is left on shutdown
    out = None if delay is None else delay.line(ws.send_str)

    async def handle(text: str) -> None:
        reply = json.dumps(answer(sim, ip, text), separators=(",", ":"))
        if out is None:
            await ws.send_str(reply)
        else:
            out.put(reply)

    inbound = None if delay is None else delay.line(handle)
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            if inbound is None:
                await handle(msg.data)
            else:
                inbound.put(msg.data)  # handled once it has arrived at the venue
    finally:
        for line in (inbound, out):
            if line is not None:
                line.close()
        sim.wsapi_conns.discard(ws)
    return ws
