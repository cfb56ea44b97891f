"""ccxt errors -> errors grouped by remedy (FailureKind), and the venue's rate-limit headers.

Translated once, here; callers raise `ExchangeError ... from` the ccxt exception.
- A network failure (timeouts, 5xx, 429, 418) while placing may have placed the order: it
  is UNKNOWN_OUTCOME, and the caller looks the order up by its client id (never re-sent
  blindly).
- HTTP 429 / 418 (ccxt 4.5.90 raises DDoSProtection for both, "binanceusdm <status> <reason>
  <body>") and the -1003 / -1015 bodies (RateLimitExceeded) carry their status, code and the
  Retry-After header, read from ccxt's `last_response_headers` (ccxt sets it before raising):
  the exchange pool pauses on them (actors/pacing.py; the codes are the adapter's RateLimits).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import ccxt

from venue.errors import ExchangeFailure, FailureKind, RateUsage
from venue.interface import ExchangeError
from venues.ccxt_errors import CCXT_CLASS_KINDS

RATE_LIMIT_CODES = (-1003, -1015)
"""-1003: too much request weight; -1015: too many new orders."""

_CODE_KINDS = {
    -2021: FailureKind.WOULD_TRIGGER,
    -2011: FailureKind.NOT_FOUND, -2013: FailureKind.NOT_FOUND,
    -1022: FailureKind.HALT, -2015: FailureKind.HALT, -2014: FailureKind.HALT,
    -1021: FailureKind.TEMPORARY, -1001: FailureKind.TEMPORARY, -1003: FailureKind.TEMPORARY,
    -1015: FailureKind.TEMPORARY,
}

# Binance's own row first: a subclass before its base (isinstance walks the rows top down).
_CLASS_KINDS: tuple[tuple[type[Exception], FailureKind], ...] = (
    (ccxt.OrderImmediatelyFillable, FailureKind.WOULD_TRIGGER), *CCXT_CLASS_KINDS)
_STATUS = re.compile(r"^\S+ (418|429) ")


def translate(e: Exception, *, placing: bool,
              headers: Mapping[str, Any] | None = None) -> ExchangeError:
    """Map a ccxt exception to an ExchangeError; `placing`: the call creates an order;
    `headers`: the failed response's headers (ccxt's last_response_headers), if any."""
    text = str(e)
    code = _binance_code(text)
    kind = _CODE_KINDS.get(code) if code is not None else None
    if kind is None:
        kind = next((k for cls, k in _CLASS_KINDS if isinstance(e, cls)), FailureKind.TEMPORARY)
    status = _refusal_status(e, text, code)
    if placing and (status is not None or (kind is FailureKind.TEMPORARY
                                           and isinstance(e, ccxt.NetworkError))):
        # A network failure while placing may have placed the order: never assume it did not.
        kind = FailureKind.UNKNOWN_OUTCOME
    if code == -4116:  # duplicated client id: the order exists (an earlier attempt landed)
        kind = FailureKind.UNKNOWN_OUTCOME
    retry_after = _retry_after_ms(headers) if status is not None else None
    return ExchangeError(ExchangeFailure(kind, code, _short(text), status, retry_after))


def _refusal_status(e: Exception, text: str, code: int | None) -> int | None:
    """429 or 418 when the venue refused the call for its rate limits, else None."""
    if isinstance(e, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        match = _STATUS.match(text)
        if match:
            return int(match.group(1))
    return 429 if code in RATE_LIMIT_CODES else None


def rate_usage(headers: Mapping[str, Any] | None,
               refusal: ExchangeFailure | None = None) -> RateUsage | None:
    """The counters of one response (and its refusal, if it was a 429/418); None if neither."""
    h = _lower(headers)
    weight = _int(h.get("x-mbx-used-weight-1m"))
    o10, o1m = _int(h.get("x-mbx-order-count-10s")), _int(h.get("x-mbx-order-count-1m"))
    if refusal is None and weight is None and o10 is None and o1m is None:
        return None
    if refusal is None:
        return RateUsage(weight, o10, o1m)
    return RateUsage(weight, o10, o1m, refusal.http_status, refusal.code,
                     refusal.retry_after_ms)


def _retry_after_ms(headers: Mapping[str, Any] | None) -> int | None:
    """Retry-After in ms (Binance sends seconds; an HTTP-date form is not used by it)."""
    raw = _lower(headers).get("retry-after")
    try:
        return None if raw is None else int(float(raw) * 1000)
    except ValueError:
        return None


def _lower(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    # requests' CaseInsensitiveDict in production, a plain dict in tests.
    return {str(k).lower(): v for k, v in (headers or {}).items()}


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _binance_code(text: str) -> int | None:
    marker = '"code":'
    i = text.find(marker)
    if i < 0:
        return None
    digits = text[i + len(marker):].lstrip().split(",")[0].split("}")[0].strip().strip('"')
    try:
        return int(digits)
    except ValueError:
        return None


def _short(text: str) -> str:
    return text if len(text) <= 300 else text[:297] + "..."
