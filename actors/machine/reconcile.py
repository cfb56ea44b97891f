"""Reconciliation: make the symbol's state agree with the exchange's truth.

Rules (DESIGN.md, Recovery): closed while we were away -> record the close (with the fill of
the stop that fired, from the exchange's history: actors/away_close.py) and cancel our
leftovers; stop missing -> re-place it (at the trailed stop price if we had one, so a restart
restores trailing state, I-3); several of our stops -> keep one, cancel the extras; a position
we never opened -> adopt it and protect it with the default policy. Stops that are not ours
(no `pg-` client id) are left alone. Native trailing orders of ours (purpose `tr`) are
reconciled on their own, after the fixed stop (actors/machine/trailing.py). Which order to
keep of several is the slot's rule (actors/machine/slot.py `Slot.pick`).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from actors import away_close, client_ids
from actors.machine import moves, trailing
from actors.machine.core import Context, Step, cancel_ops, on_tick, payload, side_of
from actors.machine.reprice import reprice
from actors.machine.slot import protect, resize_trigger
from actors.machine.stop import STOP
from actors.messages import OrderInfo, StopPurpose, SymbolSnapshot
from actors.protection import initial_trail_state, on_mark
from actors.symbol_state import ReconcileProgress, State, StopOrder, SymbolState


def _as_stop(o: OrderInfo) -> StopOrder:
    return StopOrder(o.client_id, o.order_id, o.trigger_price, o.qty, o.order_type)


def reconcile_with(s: SymbolState, snap: SymbolSnapshot | None, ctx: Context) -> Step:
    """The exchange's truth -> a Step that repairs every difference."""
    assert snap is not None
    found = trailing.claim_rows(s, snap.open_algo_orders, ctx)  # an attached one is ours
    ours = [o for o in found if client_ids.is_ours(o.client_id, s.symbol, ctx.account)]
    foreign = len(found) - len(ours)
    trailing_found = [o for o in ours if trailing.is_trailing_order(o)]
    # stop_failures is kept: a stop refused by the exchange is followed by a reconcile, and
    # resetting the count here would let a refusal that repeats loop forever instead of
    # quarantining after MAX_STOP_FAILURES (it resets when a stop is accepted, the position
    # goes flat, or the operator releases a quarantine).
    base = s.replace(reconcile=ReconcileProgress(),
                     mark_price=snap.mark_price or s.mark_price, pending_stop=None, amending=None,
                     pending_trailing=None, open_order=None, close_order=None, cancelling=(),
                     op_failures={}, quarantine_reason=None, last_error=None,
                     position_ms=max(s.position_ms, snap.position_ms))
    side, qty = side_of(snap.amount), abs(snap.amount)
    info = payload(amount=snap.amount, entry=snap.entry_price, ours=len(ours),
                   foreign_stops=foreign or None)
    if side is None:
        flat = base.replace(state=State.FLAT, side=None, qty=Decimal(0), entry_price=None,
                            stop=None, trailing=None, trail=None, adopted=False)
        flat, ops = cancel_ops(flat, [_as_stop(o) for o in ours])
        if not s.has_position:
            return Step(flat, "reconciled_flat", info, requests=tuple(ops))
        # Closed while we were not watching: the history of our stops says how (or cannot).
        why, pnl = away_close.explain(s, snap.stop_history)
        if pnl is not None:
            flat = flat.replace(realized_pnl=flat.realized_pnl + pnl)
        return Step(flat, "closed_while_away", {**info, **why}, requests=tuple(ops))
    ours_open = s.open_order is not None and not s.has_position
    adopted = (not s.has_position or s.side != side) and not ours_open
    trail = None if adopted or ours_open else s.trail
    known = base.replace(side=side, qty=qty, entry_price=snap.entry_price, trail=trail,
                         adopted=adopted or (s.adopted and not ours_open))
    stops = [o for o in ours if o not in trailing_found]
    keep = STOP.pick(s, stops)
    extras = [_as_stop(o) for o in stops if o is not keep]
    if keep is None:
        new, ops = protect(known.replace(stop=None), ctx, StopPurpose.RESTORE)
        kind = "position_adopted" if adopted else (
            "stop_missing_replaced" if s.stop is not None else "open_recovered")
        step = Step(new, kind, {**info, "trigger": str(new.pending_stop.trigger_price)
                                if new.pending_stop else None}, requests=tuple(ops))
    else:
        step = _keep_stop(known, keep, extras, ctx, info)
    return _follow_known_mark(trailing.reconcile(step, s, trailing_found, ctx), ctx)


def _follow_known_mark(step: Step, ctx: Context) -> Step:
    """Reconciled PROTECTED with nothing placed: the mark the fetch showed (or the last tick)
    is followed now, as a tick would be. A quiet market may send no tick for a long time
    (Bybit's tickers push on change only), and a restart after a move that died with its
    store write (I-3) must still make that move."""
    s = step.state
    if (s.state is not State.PROTECTED or s.stop is None or s.mark_price is None
            or s.trail is None or s.side is None or s.entry_price is None or ctx.rules is None
            or s.pending_stop is not None or s.pending_trailing is not None):
        return step
    d = on_mark(s.side, s.entry_price, s.mark_price, s.trail, ctx.policy, ctx.rules,
                ctx.now_ms)
    if d.move_to is None:
        return dataclasses.replace(step, state=s.replace(trail=d.state))
    if s.move_wish is not None:
        # A move already wished for is placed at the latest target on the pool's grant; the
        # pool hears the wish again (it may not know it: a restart starts a new pool).
        moved = s.replace(trail=d.state)
        return dataclasses.replace(step, state=moved, notices=(
            *step.notices, moves.wanted(moved, ctx)))
    new, op = reprice(s.replace(trail=d.state), ctx, d.move_to, purpose=StopPurpose.MOVE)
    return dataclasses.replace(
        step, state=new, requests=(*step.requests, op),
        payload={**step.payload, "then_move_to": str(d.move_to), "mark": str(s.mark_price),
                 "then_client_id": op.client_id})


def _keep_stop(s: SymbolState, keep: OrderInfo, extras: list[StopOrder], ctx: Context,
               info: dict[str, object]) -> Step:
    assert s.side is not None and s.entry_price is not None and ctx.rules is not None
    if keep.trigger_price is not None:
        keep = dataclasses.replace(keep, trigger_price=on_tick(keep.trigger_price, ctx.rules))
    stop = _as_stop(keep)
    trail = s.trail
    if trail is None:
        trail = initial_trail_state(s.side, s.entry_price, ctx.policy, ctx.rules)
    if keep.trigger_price is not None and trail.stop_price != keep.trigger_price:
        # The resting order is the truth about where the stop is.
        trail = dataclasses.replace(trail, stop_price=keep.trigger_price)
    new = s.replace(stop=stop, trail=trail, state=State.PROTECTED)
    new, ops = cancel_ops(new, extras)
    kind = "reconciled_protected" if not extras else "duplicate_stops_cancelled"
    if keep.qty != s.qty and not keep.close_position:
        # For the size the position has now, priced from its (average) entry until trailing
        # is on (then the trailed stop stays where it is).
        new, op = reprice(new, ctx, resize_trigger(new, ctx, keep.trigger_price
                                                   or trail.stop_price),
                          purpose=StopPurpose.RESIZE)
        ops = [*ops, op]
        kind = "stop_resize_requested"
    return Step(new, kind, {**info, "kept": keep.client_id,
                            "cancelled": [e.client_id for e in extras]}, requests=tuple(ops))
