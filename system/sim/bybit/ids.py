"""Bybit order ids: UUID strings rendered from the engine's integer ids (and back).

Bybit's orderId is a UUID string (`2acea12b-...`); the engine numbers plain orders and
conditional (algo) orders from disjoint ranges, so one integer names one order of either kind.
"""

from __future__ import annotations

import uuid


def order_id(n: int) -> str:
    """The Bybit orderId of engine order / algo order `n`."""
    return str(uuid.UUID(int=n))


def parse_order_id(s: str) -> int | None:
    """The engine id of a Bybit orderId, or None when `s` is not one of ours."""
    try:
        return uuid.UUID(s).int
    except (ValueError, AttributeError, TypeError):
        return None
