"""ccxt.bybit errors -> errors grouped by remedy (FailureKind), and Bybit's rate-limit headers.

The same groups as venues/binance/errors.py. Bybit answers errors with HTTP 200 and a
`retCode` (ccxt 4.5.90 raises "bybit <body>", the body holding `"retCode":N`), so the code
is read from the message first, the ccxt class second (protocol/bybit-linear.md "Errors"):
- 110092 / 110093 (trigger already past; 10001 "expect Rising/Falling" in older logs) ->
  WOULD_TRIGGER;
- 110001 (order does not exist / too late to cancel or amend), 110008 / 110010 (completed
  or cancelled) on a cancel or amend -> NOT_FOUND: it no longer rests;
- 110072 (orderLinkId duplicate) -> UNKNOWN_OUTCOME: an earlier attempt landed, look it up;
- 10006 (too many visits, per UID per endpoint per second) -> TEMPORARY, reported as a 429
  with the reset time as Retry-After and code 10006 (actors/pacing.py holds the refused
  op's kind); HTTP 403 (the IP limit: stop everything for at least 10 min) -> TEMPORARY,
  reported with status 403 (the adapter's RateLimits.ban_http_status: every request waits);
- 10002 (request time outside recv_window: the clock) -> TEMPORARY;
- 10003 / 10004 / 10005 / 10007 (key, signature, permission) -> HALT.
A network failure while placing is UNKNOWN_OUTCOME, as on Binance.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

import ccxt

from venue.errors import ExchangeFailure, FailureKind, RateUsage
from venue.interface import ExchangeError
from venues.ccxt_errors import CCXT_CLASS_KINDS

RATE_LIMIT_CODE = 10006
IP_LIMIT_STATUS = 403
"""Bybit's IP limit (RateLimits.ban_http_status: every request waits)."""

_CODE_KINDS = {
    110092: FailureKind.WOULD_TRIGGER, 110093: FailureKind.WOULD_TRIGGER,
    110001: FailureKind.NOT_FOUND, 110008: FailureKind.NOT_FOUND,
    110010: FailureKind.NOT_FOUND,
    110072: FailureKind.UNKNOWN_OUTCOME,
    10003: FailureKind.HALT, 10004: FailureKind.HALT, 10005: FailureKind.HALT,
    10007: FailureKind.HALT, 10009: FailureKind.HALT, 10010: FailureKind.HALT,
    10002: FailureKind.TEMPORARY, 10006: FailureKind.TEMPORARY, 10016: FailureKind.TEMPORARY,
    10000: FailureKind.TEMPORARY,
}

_CLASS_KINDS = CCXT_CLASS_KINDS
_RET_CODE = re.compile(r'"ret_?[cC]ode"\s*:\s*"?(-?\d+)')
_HTTP_STATUS = re.compile(r"^bybit (?:GET|POST|PUT|DELETE) \S+ (\d{3}) ")
_WOULD_TRIGGER = re.compile(r"expect (Rising|Falling), but trigger_price")


def translate(e: Exception, *, placing: bool,
              headers: Mapping[str, Any] | None = None,
              now_ms: int | None = None) -> ExchangeError:
    """Map a ccxt exception to an ExchangeError; `placing`: the call creates an order;
    `headers`: the failed response's headers (ccxt's last_response_headers), if any."""
    text = str(e)
    code = bybit_code(text)
    kind = _CODE_KINDS.get(code) if code is not None else None
    if kind is None and code == 10001 and _WOULD_TRIGGER.search(text):
        kind = FailureKind.WOULD_TRIGGER  # the 2023 spelling of 110092 / 110093
    if kind is None:
        kind = next((k for cls, k in _CLASS_KINDS if isinstance(e, cls)), FailureKind.TEMPORARY)
    status = _refusal_status(text, code)
    if placing and (status is not None or (kind is FailureKind.TEMPORARY
                                           and isinstance(e, ccxt.NetworkError)
                                           and code is None)):
        # No answer (or a refusal we cannot be sure ran first): the order may exist.
        kind = FailureKind.UNKNOWN_OUTCOME
    retry = _retry_after_ms(headers, now_ms) if status == 429 else None
    return ExchangeError(ExchangeFailure(kind, code, _short(text), status, retry))


def bybit_code(text: str) -> int | None:
    """The retCode a ccxt error message carries (its body), if any."""
    match = _RET_CODE.search(text)
    return int(match.group(1)) if match else None


def _refusal_status(text: str, code: int | None) -> int | None:
    """429 (10006, on HTTP 200) or 403 (the IP limit) when Bybit refused for its limits."""
    if code == RATE_LIMIT_CODE:
        return 429
    match = _HTTP_STATUS.match(text)
    if match and int(match.group(1)) == IP_LIMIT_STATUS:
        return IP_LIMIT_STATUS
    return None


def rate_usage(headers: Mapping[str, Any] | None, refusal: ExchangeFailure | None = None,
               *, orders: bool = False) -> RateUsage | None:
    """The endpoint's counter of one response (X-Bapi-Limit - X-Bapi-Limit-Status = used
    in this second) as the first order window's count when the call was an order call,
    and its refusal; None if neither (the pool decides what a 10006 holds by the op)."""
    h = {str(k).lower(): v for k, v in (headers or {}).items()}
    limit, left = _int(h.get("x-bapi-limit")), _int(h.get("x-bapi-limit-status"))
    used = limit - left if orders and limit is not None and left is not None else None
    if refusal is None:
        return None if used is None else RateUsage(None, used, None)
    return RateUsage(None, used, None, refusal.http_status, refusal.code,
                     refusal.retry_after_ms)


def _retry_after_ms(headers: Mapping[str, Any] | None, now_ms: int | None) -> int | None:
    """X-Bapi-Limit-Reset-Timestamp (ms, absolute) as a wait from now; None without it
    (a 10006 without the header happens: pybit#340)."""
    h = {str(k).lower(): v for k, v in (headers or {}).items()}
    reset = _int(h.get("x-bapi-limit-reset-timestamp"))
    if reset is None:
        return None
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return max(0, reset - now)


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _short(text: str) -> str:
    return text if len(text) <= 300 else text[:297] + "..."
