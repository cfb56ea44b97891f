"""ccxt's exception classes in posguard's remedy groups, for every ccxt venue.

A venue's error translation (venues/<name>/errors.py) reads the venue's own codes first and
falls back to these rows; a venue puts its own, more specific classes before them. Order
matters: subclasses before their bases (isinstance walks the rows top down).
"""

from __future__ import annotations

import ccxt

from venue.errors import FailureKind

CCXT_CLASS_KINDS: tuple[tuple[type[Exception], FailureKind], ...] = (
    (ccxt.OrderNotFound, FailureKind.NOT_FOUND),
    (ccxt.RequestTimeout, FailureKind.UNKNOWN_OUTCOME),
    (ccxt.AuthenticationError, FailureKind.HALT),
    (ccxt.PermissionDenied, FailureKind.HALT),
    (ccxt.AccountSuspended, FailureKind.HALT),
    (ccxt.InvalidNonce, FailureKind.TEMPORARY),
    (ccxt.DDoSProtection, FailureKind.TEMPORARY),
    (ccxt.RateLimitExceeded, FailureKind.TEMPORARY),
    (ccxt.ExchangeNotAvailable, FailureKind.TEMPORARY),
    (ccxt.OnMaintenance, FailureKind.TEMPORARY),
    (ccxt.NetworkError, FailureKind.TEMPORARY),
    (ccxt.InvalidOrder, FailureKind.REJECTED),
    (ccxt.InsufficientFunds, FailureKind.REJECTED),
    (ccxt.BadRequest, FailureKind.REJECTED),
    (ccxt.BadSymbol, FailureKind.REJECTED),
    (ccxt.ExchangeError, FailureKind.REJECTED),
)
