"""The engine's own words for orders and their fates (venue-neutral).

The values are the strings posguard has always journaled and persisted (they were Binance's),
so snapshots and journals written before the venue boundary read back unchanged. An adapter
maps its venue's words onto these (Binance's are the same; Bybit's are not).
StrEnum members compare equal to their values, so a persisted plain string still matches.
"""

from __future__ import annotations

from enum import StrEnum, unique


@unique
class OrderKind(StrEnum):
    """What an order does."""

    MARKET = "MARKET"
    STOP = "STOP_MARKET"
    """A stop that closes at market once the trigger price is touched."""
    TRAILING = "TRAILING_STOP_MARKET"
    """A stop the exchange itself trails (protection.trailing.mode: native)."""


@unique
class OrderStatus(StrEnum):
    """Where an order (plain or conditional) is in its life."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"
    TRIGGERING = "TRIGGERING"
    TRIGGERED = "TRIGGERED"
    FINISHED = "FINISHED"


@unique
class ExecType(StrEnum):
    """What an order event reports."""

    NEW = "NEW"
    TRADE = "TRADE"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    CALCULATED = "CALCULATED"
    AMENDMENT = "AMENDMENT"
