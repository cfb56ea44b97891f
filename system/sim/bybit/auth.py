"""Bybit v5 request signing, checked over the raw bytes received (guide.mdx).

Signed string: timestamp + apiKey + recvWindow + payload, payload = the raw query string
(GET) or the raw JSON body (POST), exactly as sent; never a re-serialisation (ccxt and pybit
order and space their JSON differently).
"""

from __future__ import annotations

import hashlib
import hmac

from system.sim.bybit.errors import BybitError

DEFAULT_RECV_WINDOW_MS = 5000
FUTURE_TOLERANCE_MS = 1000
"""Bybit accepts a timestamp at most 1 s ahead of its clock."""


def check(settings, headers, now_ms: int, payload: str) -> None:
    """Accept a signed request or raise BybitError 10003 / 10002 / 10004 / 10001."""
    key = headers.get("X-BAPI-API-KEY", "")
    if not key or key != settings.api_key:
        raise BybitError(10003, "API key is invalid.")
    ts_text = headers.get("X-BAPI-TIMESTAMP", "")
    window_text = headers.get("X-BAPI-RECV-WINDOW", str(DEFAULT_RECV_WINDOW_MS))
    try:
        ts, window = int(ts_text), int(window_text)
    except ValueError:
        raise BybitError(10001, "params error: X-BAPI-TIMESTAMP / X-BAPI-RECV-WINDOW must be "
                                "integers (ms)") from None
    if window <= 0 or window > settings.recv_window_max_ms:
        raise BybitError(10001, f"params error: recv_window[{window}] out of range")
    if not now_ms - window <= ts < now_ms + FUTURE_TOLERANCE_MS:
        raise BybitError(10002, "invalid request, please check your server timestamp or "
                                f"recv_window param. req_timestamp[{ts}],server_timestamp"
                                f"[{now_ms}],recv_window[{window}]")
    origin = f"{ts_text}{key}{window_text}{payload}"
    want = hmac.new(settings.api_secret.encode(), origin.encode(), hashlib.sha256).hexdigest()
    got = headers.get("X-BAPI-SIGN", "")
    if not hmac.compare_digest(want, got.lower()):
        raise BybitError(10004, f"error sign! origin_string[{origin}]")
