"""How urgently a symbol's stop should move: the profit its resting stop gives back
compared with the ideal one, in basis points of the mark.

The ideal stop is the managed trail's current target (the policy on the peak the trail has
seen: callback_pct behind it, rounded away from the market as a placed stop would be); the
resting stop is the one on the exchange. When the order budget binds, the exchange pool
grants moves to the most urgent symbols first (actors/dispatch.py). Pure functions.
"""

from __future__ import annotations

from decimal import Decimal

from actors.protection import (
    MarketRules,
    ProtectionPolicy,
    Side,
    TrailState,
    round_stop,
)

BPS = Decimal(10_000)


def ideal_stop(side: Side, trail: TrailState, policy: ProtectionPolicy,
               rules: MarketRules) -> Decimal:
    """The stop the policy wants now: callback_pct behind the peak once trailing is active,
    else where the trail's stop is (nothing to move before activation)."""
    if not trail.active or trail.peak is None:
        return trail.stop_price
    sign = 1 if side is Side.LONG else -1
    callback = Decimal(str(policy.trailing.callback_pct)) / 100
    return round_stop(side, trail.peak * (1 - sign * callback), rules)


def urgency_bps(ideal: Decimal, resting: Decimal, mark: Decimal) -> float:
    """|ideal - resting| / mark, in bps (0 for a non-positive mark: nothing to weigh by)."""
    if mark <= 0:
        return 0.0
    return float(abs(ideal - resting) / mark * BPS)
