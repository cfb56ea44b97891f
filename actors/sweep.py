"""The periodic reconciler's decision: the account's positions vs the symbol actors' views.

Pure: the supervisor fetches every open position (one REST call through the exchange pool)
and acts on the plan. A position on the exchange with no actor gets one (it adopts and
protects it); an actor whose settled view disagrees with the exchange reconciles. Actors in
the middle of a request are left alone (their own replies settle them), and quarantined
symbols wait for the operator.
"""

from __future__ import annotations

from decimal import Decimal

from actors.messages import PositionInfo
from actors.routing import ALIVE, PASSIVATED, Child

SETTLED = ("FLAT", "PROTECTED", "OPEN_UNPROTECTED")


def signed_qty(side: str | None, qty: str) -> Decimal:
    """A view's position as a signed amount (short < 0)."""
    amount = Decimal(qty) if side else Decimal(0)
    return -amount if side == "short" else amount


def plan_sweep(positions: tuple[PositionInfo, ...],
               children: dict[str, Child]) -> tuple[list[str], list[str]]:
    """(symbols that need an actor, symbols whose actor must reconcile)."""
    on_exchange = {p.symbol: p.amount for p in positions if p.amount != 0}
    create = sorted(s for s in on_exchange
                    if s not in children or children[s].status == PASSIVATED)
    reconcile = []
    for symbol, child in sorted(children.items()):
        view = child.view
        if child.status not in ALIVE or view is None or view.state not in SETTLED:
            continue
        if signed_qty(view.side, view.qty) != on_exchange.get(symbol, Decimal(0)):
            reconcile.append(symbol)
    return create, reconcile
