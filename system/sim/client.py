"""SimControl: a small JSON client for the /_sim/ control API (urllib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


class SimControlError(RuntimeError):
    """The control API refused a request (its `error` text is the message)."""


class SimControl:
    """One method per control route; every call has a timeout."""

    def __init__(self, base_url: str, timeout_secs: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_secs = timeout_secs

    def _call(self, method: str, route: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base_url}/_sim/{route}", data=data,
                                     method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_secs) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            raise SimControlError(f"{method} /_sim/{route}: {e.code} {text}") from e

    def state(self) -> dict:
        """Positions, orders, algo orders, fills, balances, meter, faults, clock."""
        return self._call("GET", "state")

    def reset(self) -> dict:
        """Back to the starting state."""
        return self._call("POST", "reset", {})

    def set_price(self, symbol: str, price: float | str,
                  mark: float | str | None = None) -> dict:
        """Set a symbol's contract price and its mark (default: at the configured basis).

        Stops it crosses fire, each on the price of its workingType.
        """
        body = {"symbol": symbol, "price": str(price)}
        if mark is not None:
            body["mark"] = str(mark)
        return self._call("POST", "price", body)

    def set_mark(self, symbol: str, price: float | str) -> dict:
        """Move only the mark price; MARK_PRICE stops it crosses fire."""
        return self._call("POST", "mark", {"symbol": symbol, "price": str(price)})

    def rate_limits(self) -> dict:
        """Rate-limit counters: used weight per IP, order counts, back-offs and bans."""
        return self._call("GET", "rate_limits")

    def reset_rate_limits(self) -> dict:
        """Forget every rate-limit counter, back-off and ban."""
        return self._call("POST", "rate_limits/reset", {})

    def step_price(self, symbol: str, pct: float | None = None,
                   delta: float | None = None) -> dict:
        """Move a price by `pct` percent or by `delta`."""
        body: dict = {"symbol": symbol}
        if pct is not None:
            body["pct"] = pct
        if delta is not None:
            body["delta"] = delta
        return self._call("POST", "step", body)

    def pause(self) -> dict:
        """Stop the random walk / replay."""
        return self._call("POST", "pause", {})

    def resume(self) -> dict:
        """Restart the random walk / replay."""
        return self._call("POST", "resume", {})

    def drop_events(self, count: int = 1) -> dict:
        """Drop the next `count` user-stream events."""
        return self._call("POST", "fault/stream", {"kind": "drop", "count": count})

    def duplicate_events(self, count: int = 1) -> dict:
        """Send each of the next `count` user-stream events twice."""
        return self._call("POST", "fault/stream", {"kind": "duplicate", "count": count})

    def delay_events(self, count: int, delay_ms: int) -> dict:
        """Delay each of the next `count` user-stream events by `delay_ms`."""
        return self._call("POST", "fault/stream",
                          {"kind": "delay", "count": count, "delay_ms": delay_ms})

    def reorder_events(self, count: int) -> dict:
        """Hold the next `count` user-stream events and release them in reverse order."""
        return self._call("POST", "fault/stream", {"kind": "reorder", "count": count})

    def close_user_streams(self) -> dict:
        """Close every user-stream WebSocket."""
        return self._call("POST", "fault/close_stream", {})

    def expire_listen_key(self) -> dict:
        """Expire the listen key now: listenKeyExpired, then silence (the sockets stay open)."""
        return self._call("POST", "fault/expire_listen_key", {})

    def inject_frame(self, raw: str) -> dict:
        """Send `raw` as one text frame, unchanged, to every user-stream connection."""
        return self._call("POST", "fault/inject_frame", {"raw": raw})

    def silence_user_streams(self, secs: float) -> dict:
        """Stall the open user streams for `secs`: no frames and no pongs."""
        return self._call("POST", "fault/silence", {"secs": secs})

    def fail_next(self, method: str, path: str, code: int = -1001, status: int = 400,
                  msg: str = "Injected failure.", with_param: str = "") -> dict:
        """The next `method path` request (carrying parameter `with_param`, if given) gets
        `{"code", "msg"}` with `status` (Bybit front: the retCode body, status 200 allowed)."""
        body: dict = {"method": method, "path": path, "code": code, "status": status,
                      "msg": msg}
        if with_param:
            body["with_param"] = with_param
        return self._call("POST", "fault/fail", body)

    def timeout_next(self, method: str, path: str, hold_ms: int | None = None,
                     with_param: str = "") -> dict:
        """The next `method path` request (carrying `with_param`, if given) is served but
        never answered."""
        body: dict = {"method": method, "path": path}
        if hold_ms is not None:
            body["hold_ms"] = hold_ms
        if with_param:
            body["with_param"] = with_param
        return self._call("POST", "fault/timeout", body)

    def partial_fill(self, symbol: str, fraction: float, after_ms: int) -> dict:
        """Next MARKET order on `symbol` fills `fraction` now, the rest after `after_ms`."""
        return self._call("POST", "fault/partial_fill",
                          {"symbol": symbol, "fraction": fraction, "after_ms": after_ms})

    def cancel_algo(self, symbol: str, algo_id: int | None = None) -> dict:
        """The venue cancels a resting algo order of `symbol` (default: its oldest)."""
        body: dict = {"symbol": symbol}
        if algo_id is not None:
            body["algo_id"] = algo_id
        return self._call("POST", "fault/cancel_algo", body)

    def close_market_streams(self) -> dict:
        """Bybit front: close every public (tickers) connection."""
        return self._call("POST", "fault/close_market_streams")

    def silence_market_streams(self, secs: float) -> dict:
        """Bybit front: the public connections send and answer nothing for `secs`."""
        return self._call("POST", "fault/silence_market_streams", {"secs": secs})

    def clear_faults(self) -> dict:
        """Forget every pending fault."""
        return self._call("POST", "fault/clear", {})
