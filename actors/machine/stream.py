"""The user stream and the mark price: what the exchange tells us without being asked.

Which handler runs is the table's decision (actors/symbol_machine.py): by state, and for order
and algo updates by whose order the event names (symbol_machine.refine). While RECONCILING
every stream event only marks the fetch in flight as stale (core.fetch_again).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from actors import client_ids
from actors.machine import amend, moves, trailing
from actors.machine.core import (
    Context,
    Step,
    cancel_ops,
    fetch_again,
    go_flat,
    note_event_time,
    note_position,
    payload,
    report_ms,
    side_of,
    start_reconcile,
)
from actors.machine.reprice import reprice
from actors.machine.slot import protect_new, resize_trigger
from actors.machine.stop import GONE, resting_stop_event
from actors.machine.trailing import resting_trailing_event
from actors.messages import AlgoUpdate, MarkPrice, OrderUpdate, PositionUpdate, StopPurpose
from actors.protection import Side, on_mark
from actors.symbol_state import State, StopOrder, SymbolState
from venue.vocab import ExecType, OrderKind, OrderStatus

ENDED = (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.FINISHED, OrderStatus.REJECTED)


def event_during_reconcile(s: SymbolState, ev: Any, ctx: Context) -> Step:
    """RECONCILING: the fetch in flight may predate this event, so fetch again after it."""
    return fetch_again(note_event_time(s, ev.event_ms))


# --------------------------------------------------------------------------- mark price


def remember_mark(s: SymbolState, ev: MarkPrice, ctx: Context) -> Step:
    """No trail to follow in this state: only the price is kept (in memory)."""
    return Step(s.replace(mark_price=ev.price), "mark", {}, persist=False)


def follow_mark(s: SymbolState, ev: MarkPrice, ctx: Context) -> Step:
    """A stop placement is in flight: the trail follows the price, nothing is moved yet."""
    s, d = _trail_on_mark(s, ev, ctx)
    return _trail_followed(s, d, ev)


def move_on_mark(s: SymbolState, ev: MarkPrice, ctx: Context) -> Step:
    """PROTECTED: the managed trail may move the stop (the new stop first, or amended in
    place where the venue amends: MOVING_STOP, actors/machine/reprice.py); with a move
    deferred by the pool (MoveWish) only the wish is updated (moves.py)."""
    if s.move_wish is not None:
        return moves.wish_on_mark(s, ev, ctx)
    s, d = _trail_on_mark(s, ev, ctx)
    if d is not None and d.move_to is not None and s.stop is not None:
        new, op = reprice(s.replace(trail=d.state), ctx, d.move_to, purpose=StopPurpose.MOVE)
        return Step(new, "stop_move_requested",
                    payload(peak=d.state.peak, old=s.stop.trigger_price, new=d.move_to,
                            client_id=op.client_id, mark=ev.price), requests=(op,))
    return _trail_followed(s, d, ev)


def _trail_followed(s: SymbolState, d: Any, ev: MarkPrice) -> Step:
    if d is None:
        return Step(s, "mark", {}, persist=False)
    moved = s.replace(trail=d.state)
    if d.state != s.trail:
        return Step(moved, "trail_updated",
                    payload(active=d.state.active, peak=d.state.peak, mark=ev.price))
    return Step(moved, "mark", {}, persist=False)


def _trail_on_mark(s: SymbolState, ev: MarkPrice, ctx: Context) -> tuple[SymbolState, Any]:
    s = s.replace(mark_price=ev.price)
    if s.trail is None or s.side is None or s.entry_price is None or ctx.rules is None:
        return s, None
    return s, on_mark(s.side, s.entry_price, ev.price, s.trail, ctx.policy, ctx.rules,
                      ctx.now_ms)


# --------------------------------------------------------------------------- position


def refine_position(s: SymbolState, ev: PositionUpdate) -> str:
    """A report older than the newest one applied is stale (symbol_machine.refine): the
    stream may deliver out of order, and applying an old size would resize the stop to a
    position that no longer exists (a 1.00 short left with a 0.42 stop, chaos seed
    3032071012). Equal times are applied: two changes in one ms cannot be ordered."""
    return "STALE_POSITION" if report_ms(ev) < s.position_ms else "POSITION"


def stale_position(s: SymbolState, ev: PositionUpdate, ctx: Context) -> Step:
    """Journaled and otherwise ignored: a newer report (or REST read) already said more."""
    return Step(note_event_time(s, ev.event_ms), "stale_position_ignored",
                payload(amount=ev.amount, entry=ev.entry_price, reason=ev.reason,
                        report_ms=report_ms(ev), newest_ms=s.position_ms))


def position_during_reconcile(s: SymbolState, ev: PositionUpdate, ctx: Context) -> Step:
    """RECONCILING: as any event (the fetch may predate it), and its time is the newest."""
    return fetch_again(note_position(s, ev))


def position_while_flat(s: SymbolState, ev: PositionUpdate, ctx: Context) -> Step | None:
    """A position appeared that we did not open: adopt it and protect it."""
    return _position_appeared(s, ev, ctx, adopted=True)


def position_while_opening(s: SymbolState, ev: PositionUpdate, ctx: Context) -> Step | None:
    """Our entry order filled (a zero is the state before the fill)."""
    return _position_appeared(s, ev, ctx, adopted=False)


def _position_appeared(s: SymbolState, ev: PositionUpdate, ctx: Context, *, adopted: bool
                       ) -> Step | None:
    side = side_of(ev.amount)
    if side is None:
        return None
    return new_position(note_position(s, ev), side, abs(ev.amount), ev.entry_price,
                        ctx, f"stream:{ev.reason}", adopted=adopted)


def position_while_quarantined(s: SymbolState, ev: PositionUpdate, ctx: Context) -> Step:
    """The operator decides, except that a closed position no longer needs its stop."""
    s = note_position(s, ev)
    if side_of(ev.amount) is None and s.has_position:
        new, ops = go_flat(s, "closed")
        return Step(new, "position_closed", payload(reason=ev.reason, was="QUARANTINED"),
                    requests=tuple(ops))
    return Step(s, "event_while_quarantined", payload(amount=ev.amount))


def position_changed(s: SymbolState, ev: PositionUpdate, ctx: Context) -> Step | None:
    """An open position closed, flipped or changed size (the trailing order follows; the
    fixed stop's own placement in flight is re-sized when it is accepted)."""
    return _position_changed(note_position(s, ev), ev, ctx, resize_stop=False)


def position_changed_protected(s: SymbolState, ev: PositionUpdate, ctx: Context
                               ) -> Step | None:
    """PROTECTED: as position_changed, and the resting stop is re-placed for a new size."""
    return _position_changed(note_position(s, ev), ev, ctx, resize_stop=True)


def position_changed_while_closing(s: SymbolState, ev: PositionUpdate, ctx: Context
                                   ) -> Step | None:
    """CLOSING: as position_changed, but nothing is re-placed: the close takes it all."""
    return _position_changed(note_position(s, ev), ev, ctx, resize_stop=False,
                             resize_trailing=False)


def _position_changed(s: SymbolState, ev: PositionUpdate, ctx: Context, *,
                      resize_stop: bool, resize_trailing: bool = True) -> Step | None:
    side, qty, entry = side_of(ev.amount), abs(ev.amount), ev.entry_price
    if side is None:
        new, ops = go_flat(s, "closed")
        return Step(new, "position_closed", payload(reason=ev.reason), requests=tuple(ops))
    info = payload(side=side.value, qty=qty, entry=entry, source=f"stream:{ev.reason}")
    if side != s.side:
        return Step(s.replace(state=State.RECONCILING), "reconcile_started",
                    {**info, "why": "side flipped"}, refetch=True)
    if qty == s.qty and entry == s.entry_price:
        return None
    # Both stops are resized the same way: the new order first, the old one cancelled after
    # (the fixed stop is amended in place, size and trigger at once, where the venue amends).
    changed, ops = s.replace(qty=qty, entry_price=entry), []
    if resize_trailing:
        changed, ops = trailing.resize(changed, ctx)
    if resize_stop and s.stop is not None and qty != s.stop.qty:
        # Priced for the position as it is now: from the average entry until trailing is on.
        new, op = reprice(changed, ctx, resize_trigger(changed, ctx, s.stop.trigger_price),
                          purpose=StopPurpose.RESIZE)
        return Step(new, "stop_resize_requested",
                    {**info, "client_id": op.client_id}, requests=(op, *ops))
    if ops:
        return Step(changed, "trailing_resize_requested",
                    {**info, "client_id": ops[0].client_id}, requests=tuple(ops))
    return Step(changed, "position_changed", info)


def new_position(s: SymbolState, side: Side, qty: Decimal, entry: Decimal, ctx: Context,
                 source: str, *, adopted: bool) -> Step:
    """A position we did not have: ours (OPENING, our fill) or `adopted` (FLAT): protect it."""
    info = payload(side=side.value, qty=qty, entry=entry, source=source)
    if ctx.rules is None:
        return Step(s.replace(state=State.RECONCILING), "reconcile_started", info,
                    refetch=True)
    known = s.replace(side=side, qty=qty, entry_price=entry, adopted=adopted, trail=None)
    new, ops = protect_new(known, ctx)
    kind = "position_adopted" if adopted else "open_filled"
    return Step(new, kind, info, requests=tuple(ops))


# --------------------------------------------------------------------------- fills


def stop_filled(s: SymbolState, ev: OrderUpdate, ctx: Context) -> Step:
    """A stop (fixed or native trailing) traded: the position is reduced or gone."""
    kind = "trailing_filled" if ev.order_type == OrderKind.TRAILING else "stop_filled"
    return _reduced(note_event_time(s, ev.event_ms), ev, kind)


def close_filled(s: SymbolState, ev: OrderUpdate, ctx: Context) -> Step:
    """Our close order traded: the position is reduced or gone."""
    return _reduced(note_event_time(s, ev.event_ms), ev, "closed_at_market")


def _reduced(s: SymbolState, ev: OrderUpdate, kind: str) -> Step:
    s = s.replace(realized_pnl=s.realized_pnl + ev.realized_pnl)
    if ev.status == OrderStatus.FILLED and s.has_position and ev.cum_qty >= s.qty:
        # The order that filled is spent: cancel the others (a native trailing fill cancels
        # the fixed stop, and the other way round).
        new, ops = go_flat(s, "closed", spent=ev.client_id)
        return Step(new, kind, payload(price=ev.avg_price, pnl=ev.realized_pnl,
                                       client_id=ev.client_id), requests=tuple(ops))
    return Step(s, "reduce_fill", payload(qty=ev.last_qty, pnl=ev.realized_pnl))


# --------------------------------------------------------------------------- algo updates


def stop_update(s: SymbolState, ev: AlgoUpdate, ctx: Context) -> Step | None:
    """Our resting stop triggered, or is gone (then a new one is placed at once)."""
    return resting_stop_event(note_event_time(s, ev.event_ms), ev, ctx, replace_lost=True)


def stop_update_while_moving(s: SymbolState, ev: AlgoUpdate, ctx: Context) -> Step | None:
    """MOVING_STOP: as stop_update, but a lost stop is not replaced: the move in flight is
    its replacement. An amend in flight is none (it moves the very stop that is gone), so
    then the exchange's truth decides at once (reconcile: restored if the position is open)."""
    step = resting_stop_event(note_event_time(s, ev.event_ms), ev, ctx, replace_lost=False)
    if step is not None and step.kind == "stop_lost" and s.amending is not None:
        return start_reconcile(step.state, "stop_lost",
                               {**step.payload, "then": "reconcile (amend in flight)"})
    return step


def pending_gone(s: SymbolState, ev: AlgoUpdate, ctx: Context) -> Step:
    """Our placement in flight (fixed stop or native trailing order) is already gone on the
    exchange, before its REST reply came (the stream often beats it, I-5). A later
    "accepted" reply would make us PROTECTED by an order that no longer exists, so the
    exchange's truth decides now: reconcile (a new order if the position is open; a move's
    old stop, if it rests, is kept)."""
    field = "pending_stop" if s.pending_stop and s.pending_stop.client_id == ev.client_id \
        else "pending_trailing"
    err = f"{ev.client_id} {ev.status} on exchange before its placement's reply"
    gone = note_event_time(s, ev.event_ms).replace(
        **{field: None}, state=State.RECONCILING, last_error=err)
    return Step(gone, "placement_gone", payload(client_id=ev.client_id, status=ev.status),
                refetch=True)


def trailing_update(s: SymbolState, ev: AlgoUpdate, ctx: Context) -> Step | None:
    """Our resting native trailing order triggered, finished or is gone (then it is placed
    again at once)."""
    return resting_trailing_event(note_event_time(s, ev.event_ms), ev, ctx, replace_lost=True)


def trailing_update_not_placing(s: SymbolState, ev: AlgoUpdate, ctx: Context
                                ) -> Step | None:
    """As trailing_update, but a lost order is not placed again: in this state we place
    nothing on our own initiative (a close, the operator or a reconcile decides)."""
    return resting_trailing_event(note_event_time(s, ev.event_ms), ev, ctx, replace_lost=False)


def cancelling_update(s: SymbolState, ev: AlgoUpdate, ctx: Context) -> Step | None:
    """An order we are cancelling: gone is what we asked for."""
    if ev.status not in ENDED:
        return None
    left = tuple(c for c in s.cancelling if c.client_id != ev.client_id)
    return Step(note_event_time(s, ev.event_ms).replace(cancelling=left), "stop_cancelled",
                payload(client_id=ev.client_id))


def stray_update(s: SymbolState, ev: AlgoUpdate, ctx: Context) -> Step:
    """Ours, resting, and wanted by nothing we track (e.g. accepted after the position
    closed): cancel it now rather than wait for its REST reply or a reconcile."""
    stray = StopOrder(ev.client_id, ev.algo_id, ev.trigger_price, ev.qty, ev.order_type)
    new, ops = cancel_ops(note_event_time(s, ev.event_ms), [stray])
    return Step(new, "stale_stop_cancelled", payload(client_id=ev.client_id, source="stream"),
                requests=tuple(ops))


def refine_algo(s: SymbolState, ev: AlgoUpdate) -> str:
    """Whose order an ALGO_UPDATE names (symbol_machine.refine): the Trigger's name."""
    cid, new = ev.client_id, ev.status == OrderStatus.NEW
    amended = amend.refine_amend_update(s, ev)
    if amended is not None:
        return amended
    if s.pending_stop and cid == s.pending_stop.client_id:
        if new:
            return "STOP_ACCEPTED"
        if ev.status in GONE:
            return "PENDING_GONE"
    if s.stop and cid == s.stop.client_id:
        return "STOP_UPDATE"
    if s.pending_trailing and cid == s.pending_trailing.client_id:
        if new:
            return "TRAILING_ACCEPTED"
        return "PENDING_GONE" if ev.status in GONE else "ALGO"
    if s.trailing and cid == s.trailing.client_id:
        return "TRAILING_UPDATE"
    if any(c.client_id == cid for c in s.cancelling):
        return "CANCELLING_UPDATE"
    if new and client_ids.is_ours(cid, s.symbol):
        return "STRAY_UPDATE"
    return "ALGO"


def refine_order(s: SymbolState, ev: OrderUpdate) -> str:
    """Whose order an ORDER_TRADE_UPDATE names (symbol_machine.refine): the Trigger's name."""
    if s.open_order and ev.client_id == s.open_order.client_id:
        return "OPEN_ORDER_UPDATE"
    if ev.exec_type != ExecType.TRADE:
        return "ORDER"
    if s.close_order is not None and ev.client_id == s.close_order.client_id:
        return "CLOSE_FILL"
    if ev.order_type in (OrderKind.STOP, OrderKind.TRAILING):
        return "STOP_FILL"
    return "ORDER"
