"""Orders per stop move, counted from what the simulator's book accepted (its probe).

A managed trailing move is, on the venue:
- Binance (no amend): a new stop placed, then the old one cancelled: two orders;
- Bybit (amend in place, `/v5/order/amend`): one amend of the resting order.

The probe records every algo placement and cancel the simulator's engine accepted
(system/sim/probe.py); an amend is recorded as the order's old trigger cancelled and its new
one placed, both with the same client id at the same instant (system/sim/engine_attached.py).
So in one window: an *amend* is a cancel paired with a placement of the same symbol, client
id and time; every other placement is a *create*, every other cancel a *cancel*. Each is one
request the venue accepted and counted against the account's order limits.

Pure: probe records in, counts out (tests/unit/system/bench/test_orders_per_move.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def count(placements: Iterable[dict], cancels: Iterable[dict]) -> dict:
    """{"creates", "amends", "cancels", "orders"} of one window's probe records."""
    placed = Counter((p["symbol"], p["client_algo_id"], p["t_mono"]) for p in placements)
    gone = Counter((c["symbol"], c["client_algo_id"], c["t_mono"]) for c in cancels)
    amends = sum((placed & gone).values())
    creates = sum(placed.values()) - amends
    cancelled = sum(gone.values()) - amends
    return {"creates": creates, "amends": amends, "cancels": cancelled,
            "orders": creates + amends + cancelled}


def per_move(placements: Iterable[dict], cancels: Iterable[dict], moves: int) -> dict:
    """The window's counts and orders per move (None when no move was made).

    `moves` is the window's stop moves (system/bench/reaction.py: every accepted stop
    placement, an amend included). A cancel of a move placed just before the window, or a
    placement whose cancel falls after it, makes the ratio off by at most one order per
    symbol per window.
    """
    c = count(placements, cancels)
    c["moves"] = moves
    c["orders_per_move"] = round(c["orders"] / moves, 3) if moves else None
    return c


def merge(windows: Iterable[dict]) -> dict:
    """The counts of several windows together, their ratio recomputed."""
    total = dict.fromkeys(("creates", "amends", "cancels", "orders", "moves"), 0)
    for w in windows:
        for k in total:
            total[k] += w.get(k, 0)
    total["orders_per_move"] = round(total["orders"] / total["moves"], 3) \
        if total["moves"] else None
    return total
