"""Exchange failures grouped by what to do about them, and the rate-limit counters a call
reports. Venue-neutral: each adapter translates its own errors into these."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, unique


@unique
class FailureKind(Enum):
    """What to do about a failed exchange call (errors grouped by remedy)."""

    TEMPORARY = "temporary"        # network, 5xx, 429: retry later with backoff
    UNKNOWN_OUTCOME = "unknown"    # timed out: the order may exist; look it up by client id
    WOULD_TRIGGER = "would_trigger"  # -2021: price already past the stop
    REJECTED = "rejected"          # the exchange refused the order: do not retry as is
    NOT_FOUND = "not_found"        # the order is not there (already gone)
    HALT = "halt"                  # authentication, permissions, config: stop trading


@dataclass(frozen=True, slots=True)
class ExchangeFailure:
    """A translated exchange error, carried as data between actors."""

    kind: FailureKind
    """The remedy group."""
    code: int | None
    """The venue's error code, if any (Binance: -2021, -1003, ...)."""
    message: str
    """The exchange's (or transport's) message."""
    http_status: int | None = None
    """429 (rate limited) or 418 (IP banned) when the exchange refused the call; else None."""
    retry_after_ms: int | None = None
    """The refusal's Retry-After, in ms: the pool sends nothing of that kind before it."""


@dataclass(frozen=True, slots=True)
class RateUsage:
    """What the exchange's last response of one call said about the rate limits."""

    used_weight_1m: int | None
    """X-MBX-USED-WEIGHT-1M: request weight this IP used in the current minute."""
    order_count_10s: int | None
    """X-MBX-ORDER-COUNT-10S: orders the account placed in the 10 s window (orders only)."""
    order_count_1m: int | None
    """X-MBX-ORDER-COUNT-1M: orders the account placed in the minute (orders only)."""
    http_status: int | None = None
    """429 (rate limited) or 418 (IP banned) when the call was refused; else None."""
    code: int | None = None
    """The venue's code of the refusal (Binance: -1003 request weight, -1015 orders); None
    if none."""
    retry_after_ms: int | None = None
    """Retry-After of the refusal, in ms (None when the exchange sent none)."""
