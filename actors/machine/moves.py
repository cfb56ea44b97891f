"""Stop moves under the order budget: deferred by the pool, wished for, granted.

The protocol (actors/dispatch.py has the pool's half):
- PROTECTED + a mark that moves the trail: the new stop is placed (MOVING_STOP), or on a
  venue that amends in place the resting one is amended (actors/machine/reprice.py);
- the pool cannot send it now: MoveDeferred. Nothing was sent, so the old stop still rests:
  back to PROTECTED with a MoveWish, and the urgency goes to the pool (MoveWanted);
- while the wish stands, each mark only updates the trail and sends the latest urgency (no
  placement: one move per symbol, in flight or wished for, never both);
- MoveGrant: the move is placed (or amended) now at the target of the LATEST trail state
  (never the one of the deferred placement), or the wish is withdrawn if nothing is left to
  move;
- a grant that finds the symbol elsewhere (closing, reconciling, moving for another reason)
  is declined (the wish withdrawn, so the pool's budget goes to the next symbol).
A deferral of anything but our pending move is a stale answer and changes nothing. A move
accepted while the trail went on past it is followed by the next one at once (`again`), if
the policy allows a move now (trailing.min_update_interval_ms counts from the acceptance, so
with an interval the next tick after it moves, as before).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from actors.machine.core import Context, Step, payload
from actors.machine.reprice import answers, reprice
from actors.machine.slot import protect, resize_trigger
from actors.messages import MarkPrice, MoveDeferred, MoveGrant, MoveWanted, StopPurpose
from actors.protection import on_mark
from actors.symbol_state import MoveWish, State, SymbolState
from actors.urgency import ideal_stop, urgency_bps


def urgency_of(s: SymbolState, ctx: Context) -> float | None:
    """The symbol's urgency now (actors/urgency.py), None when it cannot be weighed (no
    resting stop, trail, mark or rules)."""
    stop, trail, mark = s.stop, s.trail, s.mark_price
    if (stop is None or stop.trigger_price is None or trail is None or mark is None
            or s.side is None or ctx.rules is None):
        return None
    return urgency_bps(ideal_stop(s.side, trail, ctx.policy, ctx.rules), stop.trigger_price,
                       mark)


def wanted(s: SymbolState, ctx: Context) -> MoveWanted:
    # A wish that cannot be weighed still wants: 0 bps (the least urgent, never dropped).
    u = urgency_of(s, ctx)
    return MoveWanted(s.symbol, 0.0 if u is None else u)


def withdrawn(s: SymbolState) -> MoveWanted:
    """The notice that `s`'s symbol no longer wants a move (any grant it holds returned)."""
    return MoveWanted(s.symbol, None)


# --------------------------------------------------------------------------- deferred


def move_deferred(s: SymbolState, ev: MoveDeferred, ctx: Context) -> Step | None:
    """MOVING_STOP: the pool did not send our move (a placement, or an amend in place). The
    old stop rests: PROTECTED with a wish; unless it was lost meanwhile (then a stop is
    placed at once, as protection) or the position changed size meanwhile (then the resting
    one is resized at once)."""
    p, a = s.pending_stop, s.amending
    if answers(a, ev.op):
        assert a is not None
        s = s.replace(amending=None)
        info = payload(client_id=a.client_id, trigger=a.trigger_price, amend=True)
    elif p is not None and p.client_id == ev.op.client_id:
        s = s.replace(pending_stop=None)
        info = payload(client_id=p.client_id, trigger=p.trigger_price)
    else:
        return None
    if s.stop is None:
        new, ops = protect(s, ctx, StopPurpose.RESTORE)
        return Step(new, "stop_move_deferred", {**info, "then": "restore"},
                    requests=tuple(ops))
    if s.stop.qty != s.qty:
        new, op = reprice(s, ctx, resize_trigger(s, ctx, s.stop.trigger_price),
                          purpose=StopPurpose.RESIZE)
        return Step(new, "stop_move_deferred", {**info, "then": "resize"}, requests=(op,))
    wish = s.move_wish or MoveWish(ctx.now_ms)
    new = s.replace(state=State.PROTECTED, move_wish=wish)
    return Step(new, "stop_move_deferred", info, notices=(wanted(new, ctx),))


def move_deferred_elsewhere(s: SymbolState, ev: MoveDeferred, ctx: Context) -> Step | None:
    """Not MOVING_STOP (closing, reconciling, gone flat... while the move was on its way):
    the stop (or amend) it names was never sent, so it is forgotten; nothing else changes."""
    a = s.amending
    if answers(a, ev.op):
        assert a is not None
        return Step(s.replace(amending=None), "stop_move_deferred",
                    payload(client_id=a.client_id, amend=True, state=s.state.value))
    p = s.pending_stop
    if p is None or p.client_id != ev.op.client_id:
        return None
    return Step(s.replace(pending_stop=None), "stop_move_deferred",
                payload(client_id=p.client_id, state=s.state.value))


# --------------------------------------------------------------------------- wished for


def wish_on_mark(s: SymbolState, ev: MarkPrice, ctx: Context) -> Step:
    """PROTECTED with a wish: the trail follows the price, the pool hears the latest
    urgency; nothing is placed until the grant."""
    s = s.replace(mark_price=ev.price)
    moved = s
    if s.trail is not None and s.side is not None and s.entry_price is not None \
            and ctx.rules is not None:
        d = on_mark(s.side, s.entry_price, ev.price, s.trail, ctx.policy, ctx.rules,
                    ctx.now_ms)
        moved = s.replace(trail=d.state)
    notice = (wanted(moved, ctx),)
    if moved.trail != s.trail:
        trail = moved.trail
        assert trail is not None
        return Step(moved, "trail_updated",
                    payload(active=trail.active, peak=trail.peak, mark=ev.price, wish=True),
                    notices=notice)
    return Step(moved, "mark", {}, persist=False, notices=notice)


def move_granted(s: SymbolState, ev: MoveGrant, ctx: Context) -> Step:
    """PROTECTED: the pool has budget for our move: placed now at the LATEST target (the
    trail as it is now), or the wish withdrawn if there is nothing (left) to move."""
    if s.move_wish is None:
        return grant_declined(s, ev, ctx)
    target = move_target(s, ctx)
    if target is None or s.stop is None:
        return Step(s.replace(move_wish=None), "stop_move_withdrawn",
                    payload(since_ms=s.move_wish.since_ms), notices=(withdrawn(s),))
    new, op = reprice(s, ctx, target, purpose=StopPurpose.MOVE)
    return Step(new, "stop_move_requested",
                payload(peak=s.trail.peak if s.trail else None, old=s.stop.trigger_price,
                        new=target, client_id=op.client_id, mark=s.mark_price,
                        granted=True, waited_ms=ctx.now_ms - s.move_wish.since_ms),
                requests=(op,))


def grant_declined(s: SymbolState, ev: MoveGrant, ctx: Context) -> Step:
    """A grant this state cannot use (not PROTECTED, or no wish): returned to the pool."""
    if s.move_wish is None:
        return Step(s, "move_grant_declined", {}, persist=False, notices=(withdrawn(s),))
    return Step(s.replace(move_wish=None), "move_grant_declined",
                payload(state=s.state.value), notices=(withdrawn(s),))


def move_target(s: SymbolState, ctx: Context) -> Any:
    """Where the policy puts the stop now, given the latest mark (None: no move allowed)."""
    if (s.trail is None or s.side is None or s.entry_price is None or s.mark_price is None
            or ctx.rules is None):
        return None
    return on_mark(s.side, s.entry_price, s.mark_price, s.trail, ctx.policy, ctx.rules,
                   ctx.now_ms).move_to


# --------------------------------------------------------------------------- accepted

MOVED = ("stop_moved", "stop_amended")
"""Journal kinds of a move that rests: new-first (a new stop) and in place (amended)."""



def again(step: Step, ctx: Context) -> Step:
    """A move's new stop rests (PROTECTED): if the trail's target went past it while it was
    in flight (and the policy allows a move now), the next move is placed at once rather
    than on the next tick."""
    s = step.state
    if step.kind not in MOVED or s.state is not State.PROTECTED or s.stop is None:
        return step
    target = move_target(s, ctx)
    if target is None:
        return step
    new, op = reprice(s, ctx, target, purpose=StopPurpose.MOVE)
    return dataclasses.replace(
        step, state=new, requests=(*step.requests, op),
        payload={**step.payload, "then_move_to": str(target), "then_client_id": op.client_id})
