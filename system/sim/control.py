"""The /_sim/ control API: prices, walk, faults, state. JSON in, JSON out."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from system.sim.faults import STREAM_KINDS, HttpFault


class ControlError(Exception):
    """A bad control request (HTTP 400 `{"error": ...}`)."""


def _get(body: dict, name: str, kind: type, default=None):
    v = body.get(name, default)
    if v is None:
        raise ControlError(f"'{name}' is required")
    if kind is float and isinstance(v, int) and not isinstance(v, bool):
        v = float(v)
    if not isinstance(v, kind) or isinstance(v, bool) and kind is not bool:
        raise ControlError(f"'{name}' must be {kind.__name__}, got {v!r}")
    return v


def _price(body: dict, name: str) -> Decimal:
    v = body.get(name)
    try:
        d = Decimal(str(v))
    except InvalidOperation as e:
        raise ControlError(f"'{name}' must be a number, got {v!r}") from e
    if not d.is_finite() or d <= 0:
        raise ControlError(f"'{name}' must be a positive number, got {v!r}")
    return d


def _symbol(sim, body: dict) -> str:
    sym = _get(body, "symbol", str)
    if sym not in sim.engine.markets:
        raise ControlError(f"unknown symbol {sym!r}")
    return sym


def c_state(sim, body):
    """GET /_sim/state."""
    return sim.state()


def c_reset(sim, body):
    """POST /_sim/reset: engine, faults and listen key back to the start."""
    sim.reset()
    return {"ok": True}


def _price_reply(sim, sym: str) -> dict:
    return {"symbol": sym, "price": str(sim.engine.prices[sym]),
            "mark": str(sim.engine.marks[sym])}


def c_price(sim, body):
    """POST /_sim/price {"symbol", "price", "mark"?}: the contract price; the mark follows.

    Without "mark" the mark is price x (1 + mark_basis_pct / 100); with it, exactly "mark".
    """
    sym = _symbol(sim, body)
    mark = _price(body, "mark") if body.get("mark") is not None else None
    sim.engine.set_price(sym, _price(body, "price"), mark)
    return _price_reply(sim, sym)


def c_mark(sim, body):
    """POST /_sim/mark {"symbol", "price"}: move only the mark; the contract price stays."""
    sym = _symbol(sim, body)
    sim.engine.set_mark(sym, _price(body, "price"))
    return _price_reply(sim, sym)


def c_rate_limits(sim, body):
    """GET /_sim/rate_limits: limits, used weight per IP, order counts, back-offs, bans.

    On the Bybit front: its per-endpoint counters and the IP counts and bans.
    """
    if sim.bybit:
        return sim.bybit_limiter.describe(sim.clock.now_ms())
    return sim.limiter.describe(sim.clock.now_ms())


def c_reset_rate_limits(sim, body):
    """POST /_sim/rate_limits/reset: every counter, back-off and ban forgotten."""
    sim.limiter.reset()
    sim.bybit_limiter.reset()
    return c_rate_limits(sim, body)


def c_step(sim, body):
    """POST /_sim/step {"symbol", "pct"} or {"symbol", "delta"}."""
    sym = _symbol(sim, body)
    cur = sim.engine.prices[sym]
    if "pct" in body:
        new = cur * (1 + Decimal(str(_get(body, "pct", float))) / 100)
    elif "delta" in body:
        new = cur + Decimal(str(_get(body, "delta", float)))
    else:
        raise ControlError("give 'pct' or 'delta'")
    if new <= 0:
        raise ControlError(f"price would be {new}")
    sim.engine.set_price(sym, new)
    return _price_reply(sim, sym)


def c_pause(sim, body):
    """POST /_sim/pause: stop the walk."""
    sim.paused = True
    return {"paused": True}


def c_resume(sim, body):
    """POST /_sim/resume: restart the walk."""
    sim.paused = False
    return {"paused": False}


def c_stream_fault(sim, body):
    """POST /_sim/fault/stream {"kind": drop|duplicate|delay|reorder, "count", "delay_ms"}."""
    kind = _get(body, "kind", str)
    if kind not in STREAM_KINDS:
        raise ControlError(f"kind must be one of {STREAM_KINDS}")
    count = _get(body, "count", int, 1)
    delay = _get(body, "delay_ms", int, 0)
    if count < 1 or delay < 0 or (kind == "delay" and delay == 0):
        raise ControlError("count >= 1 and, for delay, delay_ms > 0")
    sim.faults.add_stream(kind, count, delay)
    return sim.faults.describe()


def c_close_stream(sim, body):
    """POST /_sim/fault/close_stream: drop every user-stream connection."""
    return {"closed": sim.users.close_all()}


def c_expire_key(sim, body):
    """POST /_sim/fault/expire_listen_key: listenKeyExpired, then silence (no close)."""
    had = sim.users.key is not None
    sim.users.expire()
    return {"expired": had}


MAX_SILENCE_SECS = 3600.0


def c_inject_frame(sim, body):
    """POST /_sim/fault/inject_frame {"raw"}: one raw text frame to every user stream."""
    raw = _get(body, "raw", str)
    return {"sent": sim.users.inject(raw)}


def c_silence(sim, body):
    """POST /_sim/fault/silence {"secs"}: the open user streams send and answer nothing."""
    secs = _get(body, "secs", float)
    if not 0 < secs <= MAX_SILENCE_SECS:
        raise ControlError(f"0 < secs <= {MAX_SILENCE_SECS:g}, got {secs!r}")
    return {"silenced": sim.users.silence(secs), "secs": secs}


def _http_target(body: dict) -> tuple[str, str]:
    method = _get(body, "method", str).upper()
    path = _get(body, "path", str)
    if method not in ("GET", "POST", "PUT", "DELETE") or not path.startswith("/"):
        raise ControlError("method must be GET/POST/PUT/DELETE and path start with /")
    return method, path


def c_fail(sim, body):
    """POST /_sim/fault/fail {"method","path","code","status","msg","with_param"?}: the next
    request (carrying parameter `with_param`, if given) fails.

    On the Bybit front `code` is the retCode and `status` may be 200 (its default): Bybit
    sends its errors with HTTP 200.
    """
    method, path = _http_target(body)
    status = _get(body, "status", int, 200 if sim.bybit else 400)
    if not (400 <= status <= 599 or (sim.bybit and status == 200)):
        raise ControlError("status must be 4xx or 5xx" + (" (or 200)" if sim.bybit else ""))
    msg = body.get("msg", "Injected failure.")
    sim.faults.add_http(HttpFault("fail", method, path, _get(body, "code", int, -1001),
                                  status, str(msg), with_param=_with_param(body)))
    return sim.faults.describe()


def c_timeout(sim, body):
    """POST /_sim/fault/timeout {"method","path","hold_ms","with_param"?}: served, reply
    never sent."""
    method, path = _http_target(body)
    hold = _get(body, "hold_ms", int, sim.settings.timeout_fault_max_hold_ms)
    hold = max(1, min(hold, sim.settings.timeout_fault_max_hold_ms))
    sim.faults.add_http(HttpFault("timeout", method, path, hold_ms=hold,
                                  with_param=_with_param(body)))
    return sim.faults.describe()


def _with_param(body: dict) -> str:
    """The optional "with_param": only a request carrying that parameter is hit."""
    name = _get(body, "with_param", str, "")
    if len(name) > 64:
        raise ControlError(f"with_param: at most 64 characters, got {len(name)}")
    return name


def c_partial(sim, body):
    """POST /_sim/fault/partial_fill {"symbol","fraction","after_ms"}."""
    sym = _symbol(sim, body)
    frac = _get(body, "fraction", float)
    after = _get(body, "after_ms", int, 500)
    if not 0 < frac < 1 or after < 0:
        raise ControlError("0 < fraction < 1 and after_ms >= 0")
    sim.engine.arm_partial(sym, frac, after)
    return {"symbol": sym, "fraction": frac, "after_ms": after}


def c_cancel_algo(sim, body):
    """POST /_sim/fault/cancel_algo {"symbol", "algo_id"?}: the venue cancels a resting algo
    order by itself (its ALGO_UPDATE CANCELED goes out like any other); without "algo_id",
    the symbol's oldest resting one."""
    sym = _symbol(sim, body)
    resting = sim.engine.open_algos(sym)
    algo_id = body.get("algo_id")
    if algo_id is None:
        if not resting:
            raise ControlError(f"no resting algo order for {sym}")
        algo_id = resting[0].algo_id
    a = next((a for a in resting if a.algo_id == algo_id), None)
    if a is None:
        raise ControlError(f"no resting algo order {algo_id!r} for {sym}")
    sim.engine.cancel_algo(sym, a.algo_id, None)
    return {"symbol": sym, "algoId": a.algo_id, "clientAlgoId": a.client_algo_id}


def c_clear(sim, body):
    """POST /_sim/fault/clear: forget pending faults."""
    sim.faults.clear()
    return sim.faults.describe()


def _market_front(sim):
    """The front's market-data connections: Bybit's /v5/public/linear, or Binance's
    /market, /public and legacy paths."""
    if sim.settings.venue == "bybit":
        from system.sim.bybit.ws_public import public_streams
        return public_streams(sim)
    return sim.market_streams


def c_close_market_streams(sim, body):
    """POST /_sim/fault/close_market_streams: close every market-data connection."""
    return {"closed": _market_front(sim).close_all()}


def c_silence_market_streams(sim, body):
    """POST /_sim/fault/silence_market_streams {"secs"}: the open market-data connections
    send and answer nothing for `secs`."""
    secs = _get(body, "secs", float)
    if not 0 < secs <= MAX_SILENCE_SECS:
        raise ControlError(f"0 < secs <= {MAX_SILENCE_SECS:g}, got {secs!r}")
    return {"silenced": _market_front(sim).silence(secs), "secs": secs}


CONTROL_ROUTES = {
    ("GET", "/_sim/state"): c_state,
    ("POST", "/_sim/reset"): c_reset,
    ("POST", "/_sim/price"): c_price,
    ("POST", "/_sim/mark"): c_mark,
    ("GET", "/_sim/rate_limits"): c_rate_limits,
    ("POST", "/_sim/rate_limits/reset"): c_reset_rate_limits,
    ("POST", "/_sim/step"): c_step,
    ("POST", "/_sim/pause"): c_pause,
    ("POST", "/_sim/resume"): c_resume,
    ("POST", "/_sim/fault/stream"): c_stream_fault,
    ("POST", "/_sim/fault/close_stream"): c_close_stream,
    ("POST", "/_sim/fault/expire_listen_key"): c_expire_key,
    ("POST", "/_sim/fault/inject_frame"): c_inject_frame,
    ("POST", "/_sim/fault/silence"): c_silence,
    ("POST", "/_sim/fault/fail"): c_fail,
    ("POST", "/_sim/fault/timeout"): c_timeout,
    ("POST", "/_sim/fault/partial_fill"): c_partial,
    ("POST", "/_sim/fault/cancel_algo"): c_cancel_algo,
    ("POST", "/_sim/fault/clear"): c_clear,
    ("POST", "/_sim/fault/close_market_streams"): c_close_market_streams,
    ("POST", "/_sim/fault/silence_market_streams"): c_silence_market_streams,
}
