"""WebSocket entry points, laid out as Binance's USDT-M streams have been since 2026-04-23.

Binance split its stream base URL into `/public`, `/market` and `/private` (announced
2026-03-06, "Important WebSocket Change Notice — Base URL Split & Migration") and retired the
legacy `/ws...` and `/stream...` paths on 2026-04-23. Each entry point has a ws mode
(`/<ep>/ws/<s1>/<s2>`, raw frames) and a stream mode (`/<ep>/stream?streams=a/b`, frames
wrapped `{"stream","data"}`); /private takes listenKeys instead of stream names.

How the retired paths are refused, as clients found them after the cut-off (binance/
binance-connector-python#526, Tucsky/aggr#444, exchanges-lab/view v1.1): the handshake
completes, SUBSCRIBE is acknowledged `{"result":null,"id":N}`, and then no market data or
user event ever arrives. The simulator does exactly that, so a client still on /ws or
/stream fails its tests by silence rather than by an error it could mistake for a fault.
"""

from __future__ import annotations

from aiohttp import web

from system.sim import wsapi
from system.sim.bybit import ws_private, ws_public
from system.sim.market_streams import MarketStreams, next_slot, stream_offset
from system.sim.user_streams import UserStreams, bindings

__all__ = ["MarketStreams", "UserStreams", "next_slot", "serve_ws", "stream_offset"]

DATA_ENTRY_POINTS = {"market": "market", "public": "public"}


def _names(tail: str) -> list[str]:
    return [n for n in tail.split("/") if n]


async def serve_ws(sim, request: web.Request) -> web.StreamResponse | None:
    """Serve a WebSocket upgrade on a stream path or ws-fapi; None if the path is neither."""
    if sim.settings.venue == "bybit":
        return await _serve_bybit(sim, request)
    path = request.path
    if path == wsapi.PATH:  # the WebSocket Trading API, not a stream
        return await wsapi.serve(sim, request)
    head, _, rest = path.lstrip("/").partition("/")
    mode, _, tail = rest.partition("/")
    if head in DATA_ENTRY_POINTS and mode in ("ws", "stream"):
        combined = mode == "stream"
        names = _names(request.query.get("streams", "")) if combined else _names(tail)
        if combined and tail:
            return None
        return await sim.market_streams.serve(request, names, route=DATA_ENTRY_POINTS[head],
                                              combined=combined)
    if head == "private" and mode in ("ws", "stream"):
        keys = bindings(request.query)
        if tail:  # /private/ws/<listenKey>[?events=A/B], the form some Binance pages show
            if mode == "stream" or "/" in tail:
                return None
            events = request.query.get("events", "")
            keys = {tail: frozenset(e for e in events.split("/") if e) or None}
        return await sim.users.serve(request, keys, combined=mode == "stream")
    if head in ("ws", "stream"):
        # Retired: accepted and acknowledged, never fed (see the module docstring).
        combined = head == "stream"
        if combined and rest:
            return None
        names = _names(request.query.get("streams", "")) if combined else _names(rest)
        return await sim.market_streams.serve(request, names, route="retired",
                                              combined=combined)
    return None


async def _serve_bybit(sim, request: web.Request) -> web.StreamResponse | None:
    """Bybit's front has two WebSocket paths (system/sim/bybit/ws_private.py, ws_public.py)."""
    if request.path == ws_private.PATH:
        return await ws_private.private_streams(sim).serve(request)
    if request.path == ws_public.PATH:
        return await ws_public.public_streams(sim).serve(request)
    return None
