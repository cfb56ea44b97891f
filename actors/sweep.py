"""The periodic reconciler's decision: the account's positions vs the symbol actors' views.

Pure: the supervisor fetches every open position (one REST call through the exchange pool)
and acts on the plan. A position on the exchange with no actor gets one (it adopts and
protects it); an actor whose settled view disagrees with the exchange reconciles. Actors in
the middle of a request are left alone (their own replies settle them), and quarantined
symbols wait for the operator.

The stop check (issue 13): at most every `reconcile.stop_check_min_interval_secs` the sweep
reads every open algo order of the account as well, in one call (GET openAlgoOrders without
a symbol: weight 40, plus positionRisk's 5; Binance allows 2,400 per minute per IP, so at the
default 60 s sweep that is 45 of them a minute, 1.9 %, and never more than 40 x 6 + 5 x 60
= 540, 22 %, at the fastest 1 s sweep with the default 10 s floor). `plan_stop_checks` hands
each running actor with a position or a stop of ours on the exchange what the exchange shows
for it (StopCheck): the actor judges (actors/machine/coverage.py), since only it knows what it has in
flight. Our stops resting for a symbol with no actor get one (it reconciles: flat, so they
are cancelled), and a position on a symbol whose actor is quarantined by the supervisor with
no stop of ours resting is reported, so that the supervisor alerts and restarts it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from actors import client_ids
from actors.child_status import ALIVE, ChildStatus
from actors.messages import AccountSnapshot, OrderInfo, PositionInfo, StopCheck
from actors.routing import Child
from venue.vocab import OrderKind

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
                    if s not in children or children[s].status == ChildStatus.PASSIVATED)
    reconcile = []
    for symbol, child in sorted(children.items()):
        view = child.view
        if child.status not in ALIVE or view is None or view.state not in SETTLED:
            continue
        if signed_qty(view.side, view.qty) != on_exchange.get(symbol, Decimal(0)):
            reconcile.append(symbol)
    return create, reconcile


@dataclass
class StopPlan:
    """What the stop check of one sweep asks the supervisor to do."""

    checks: list[StopCheck] = field(default_factory=list)
    """One per running symbol actor with a position or a stop of ours on the exchange."""
    create: list[str] = field(default_factory=list)
    """Symbols with stops of ours resting, no position and no actor (it cancels them)."""
    naked_quarantined: list[str] = field(default_factory=list)
    """Symbols the supervisor quarantined whose position has no stop of ours resting."""


def ours_by_symbol(orders: tuple[OrderInfo, ...]) -> dict[str, list[OrderInfo]]:
    """The algo orders posguard placed (client id pg-<epoch>-<SYMBOL>-...), by symbol, and
    every trailing stop without a client id: a position-attached one (Bybit trading-stop)
    has none, and only the symbol's actor can tell whether it is ours (by its order id,
    actors/machine/trailing.py `claimed_id`)."""
    out: dict[str, list[OrderInfo]] = defaultdict(list)
    for o in orders:
        if client_ids.is_ours(o.client_id, o.symbol) or (
                not o.client_id and o.order_type == OrderKind.TRAILING):
            out[o.symbol].append(o)
    return dict(out)


def plan_stop_checks(snap: AccountSnapshot, children: dict[str, Child],
                     reconciling: set[str] | frozenset[str] = frozenset()) -> StopPlan:
    """The stop check of one sweep; `reconciling`: symbols the size check already sent a
    ReconcileRequest (their reconcile reads the stops anyway)."""
    ours = ours_by_symbol(snap.algo_orders)
    amounts = {p.symbol: p.amount for p in snap.positions if p.amount != 0}
    plan = StopPlan()
    for symbol in sorted(set(amounts) | set(ours)):
        child = children.get(symbol)
        if child is None or child.status == ChildStatus.PASSIVATED:
            if symbol not in amounts:  # (a position without an actor: plan_sweep creates it)
                plan.create.append(symbol)
        elif child.status == ChildStatus.QUARANTINED:
            if symbol in amounts and symbol not in ours:
                plan.naked_quarantined.append(symbol)
        elif child.status == ChildStatus.RUNNING and child.address is not None \
                and symbol not in reconciling:
            plan.checks.append(StopCheck(symbol, amounts.get(symbol, Decimal(0)),
                                         tuple(ours.get(symbol, ())), snap.fetched_ms))
    return plan
