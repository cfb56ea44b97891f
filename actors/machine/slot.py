"""One resting order of ours and its lifecycle ("slot"), written once for both kinds.

posguard keeps at most two resting orders per position: the fixed reduce-only stop
(`SymbolState.stop` / `pending_stop`) and, in native mode, the exchange's trailing order
(`trailing` / `pending_trailing`). Both live the same life:

- placed: a placement in flight is the slot's pending order, under a deterministic client id;
- accepted (REST reply, stream or lookup, all one trigger: STOP_ACCEPTED / TRAILING_ACCEPTED):
  it rests; if it replaces one of ours, the new order rested first and the old one is
  cancelled only now (new-first), and if the position changed while it was in flight it is
  placed again for the size it has now; if the position is gone it is removed (I-4);
- failed: an unknown outcome is looked up by client id, never placed twice blindly; what a
  refusal means differs per kind (`_refused`);
- looked up: found resting -> accepted; never placed -> placed again under the SAME client id
  (a late copy of the first attempt is then refused, -4116); found spent -> the exchange's
  truth decides;
- stray: a reply for an order we no longer track is cancelled if it (may) rest;
- reconciled: of the orders found on the exchange the newest we know of is kept (`pick`), the
  rest are extras to cancel, and a missing one is restored.

`Slot` holds that skeleton; `StopSlot` and `TrailingSlot` say only where the two differ
(the fixed stop's trail bookkeeping and quarantine rules, the trailing order's re-checks).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any, ClassVar

from actors import client_ids
from actors.client_ids import Purpose
from actors.machine.core import (
    Context,
    Step,
    cancel_ops,
    lookup,
    native,
    next_client_id,
    on_tick,
    payload,
    succeeded,
)
from actors.messages import (
    ExchangeFailure,
    ExchangeReply,
    FailureKind,
    OrderInfo,
    PlaceStop,
    StopPurpose,
)
from actors.protection import (
    TrailState,
    closing_order_side,
    initial_trail_state,
    native_trailing_params,
)
from actors.symbol_state import State, StopOrder, SymbolState
from venue.vocab import OrderKind

# --------------------------------------------------------------------------- placing


def place_stop(s: SymbolState, ctx: Context, trigger: Decimal, *, purpose: StopPurpose,
               client_id: str | None = None) -> tuple[SymbolState, PlaceStop]:
    """Make a full-size reduce-only stop at `trigger`; record it as pending (`purpose`: how
    the pool schedules it, actors/dispatch.py). Any wish for a move is settled by it."""
    assert s.side is not None
    counter = s.order_counter
    trigger = on_tick(trigger, ctx.rules)
    if client_id is None:
        client_id, counter = next_client_id(s, ctx, Purpose.STOP)
    op = PlaceStop(symbol=s.symbol, side=closing_order_side(s.side), qty=s.qty,
                   client_id=client_id, order_type=OrderKind.STOP, trigger_price=trigger,
                   working_type=ctx.policy.working_type, purpose=purpose)
    pending = StopOrder(client_id, None, trigger, s.qty, OrderKind.STOP)
    return s.replace(pending_stop=pending, order_counter=counter, move_wish=None), op


def current_trail(s: SymbolState, ctx: Context) -> TrailState:
    """The trail a (re-)placed stop follows: the persisted one once trailing has activated
    (its stop comes from the peak), else a fresh one: stop_loss_pct from the position's entry,
    which after a partial fill or an add is the average entry the exchange reports."""
    assert s.side is not None and s.entry_price is not None and ctx.rules is not None
    if s.trail is not None and s.trail.active:
        return s.trail
    return initial_trail_state(s.side, s.entry_price, ctx.policy, ctx.rules)


def resize_trigger(s: SymbolState, ctx: Context, resting: Decimal | None) -> Decimal:
    """Where the stop goes when it is re-placed for a new size: the trailed stop once trailing
    has activated, else stop_loss_pct from the (average) entry; `resting` when unknown."""
    if s.side is None or s.entry_price is None or ctx.rules is None:
        return resting or Decimal(0)
    if s.trail is not None and s.trail.active and resting is not None:
        return resting
    return current_trail(s, ctx).stop_price


def again_at(s: SymbolState, ctx: Context) -> Decimal:
    """Trigger of a re-sent pending stop: its own, unless the position changed meanwhile."""
    p = s.pending_stop
    assert p is not None
    if p.qty == s.qty or p.trigger_price is None:
        return p.trigger_price or resize_trigger(s, ctx, None)
    return resize_trigger(s, ctx, p.trigger_price)


def protect(s: SymbolState, ctx: Context, purpose: StopPurpose = StopPurpose.FIRST
            ) -> tuple[SymbolState, list[Any]]:
    """Position known, no stop: place the stop the policy asks for (OPEN_UNPROTECTED)."""
    trail = current_trail(s, ctx)
    s, op = place_stop(s.replace(trail=trail), ctx, trail.stop_price, purpose=purpose)
    return s.replace(state=State.OPEN_UNPROTECTED), [op]


def trailing_op(s: SymbolState, ctx: Context, order: StopOrder) -> PlaceStop:
    """The PlaceStop for `order` (a native trailing record), closing `s`'s position."""
    assert s.side is not None
    return PlaceStop(symbol=s.symbol, side=closing_order_side(s.side), qty=order.qty,
                     client_id=order.client_id, order_type=OrderKind.TRAILING,
                     trigger_price=None, working_type=ctx.policy.working_type,
                     callback_rate_pct=order.callback_rate_pct,
                     activate_price=order.activate_price)


def place_trailing(s: SymbolState, ctx: Context, *,
                   again: StopOrder | None = None) -> tuple[SymbolState, PlaceStop]:
    """Make a full-size reduce-only native trailing order; record it as pending.

    `again`: re-send that order under its own client id (sized to the position now), so that
    if an earlier attempt landed after all the exchange refuses the copy (-4116).
    """
    assert s.side is not None and s.entry_price is not None and ctx.rules is not None
    if again is not None:
        order = dataclasses.replace(again, qty=s.qty)
        return s.replace(pending_trailing=order), trailing_op(s, ctx, order)
    params = native_trailing_params(s.side, s.entry_price, ctx.policy, ctx.rules,
                                    ctx.venue.trailing_callback_pct)
    client_id, counter = next_client_id(s, ctx, Purpose.TRAILING)
    order = StopOrder(client_id, None, None, s.qty, OrderKind.TRAILING, params.callback_rate_pct,
                      on_tick(params.activate_price, ctx.rules))
    return s.replace(pending_trailing=order, order_counter=counter), trailing_op(s, ctx, order)


def protect_new(s: SymbolState, ctx: Context) -> tuple[SymbolState, list[Any]]:
    """A new position: its stop, and in native mode the exchange's trailing stop as well."""
    s, ops = protect(s, ctx)
    if native(ctx):
        s, op = place_trailing(s, ctx)
        ops.append(op)
    return s, ops


def recheck(s: SymbolState, kind: str, info: dict[str, Any]) -> Step:
    """Fetch the exchange's truth, unless the operator (QUARANTINED) or a close decides."""
    if s.state in (State.QUARANTINED, State.CLOSING, State.FLAT):
        return Step(s, kind, info)
    return Step(s.replace(state=State.RECONCILING), kind, info, refetch=True)


# --------------------------------------------------------------------------- the lifecycle


class Slot:
    """The lifecycle both resting orders share; subclasses fill in where they differ."""

    name: ClassVar[str]
    """The journal's word for it ("stop", "trailing")."""
    kind: ClassVar[OrderKind]
    resting_field: ClassVar[str]
    pending_field: ClassVar[str]

    # ---- where it lives

    def resting(self, s: SymbolState) -> StopOrder | None:
        """The order of this slot that rests on the exchange."""
        return getattr(s, self.resting_field)

    def pending(self, s: SymbolState) -> StopOrder | None:
        """The placement of this slot in flight."""
        return getattr(s, self.pending_field)

    def tracks(self, s: SymbolState, client_id: str) -> bool:
        """True if `client_id` is this slot's resting or in-flight order."""
        return any(o is not None and o.client_id == client_id
                   for o in (self.resting(s), self.pending(s)))

    @staticmethod
    def place_key(client_id: str) -> str:
        """The op_failures key of a placement."""
        return f"place:{client_id}"

    # ---- accepted (the table's STOP_ACCEPTED / TRAILING_ACCEPTED rows)

    def accepted(self, s: SymbolState, algo_id: str, ctx: Context, source: str) -> Step:
        """It rests and the position it protects is known: keep it (new-first replacement,
        again for a size that changed in flight)."""
        s, placed, info = self._acceptance(s, algo_id, source)
        if not s.has_position:
            return self._remove(s, placed, info)
        return self._rest(s, placed, info, ctx)

    def accepted_late(self, s: SymbolState, algo_id: str, source: str) -> Step:
        """It rests, but the position closed (or is closing) while it was in flight (I-4):
        remove what we created."""
        s, placed, info = self._acceptance(s, algo_id, source)
        return self._remove(s, placed, info)

    def accepted_while_quarantined(self, s: SymbolState, algo_id: str, ctx: Context,
                                   source: str) -> Step:
        """QUARANTINED: it rests and protects, so it is tracked and nothing is sent (the
        operator's release reconciles, and cancels the older order of ours if both rest);
        unless the quarantine was about this very order not resting (`_ends_quarantine`)."""
        s, placed, info = self._acceptance(s, algo_id, source)
        if not s.has_position:
            return self._remove(s, placed, info)
        if self._ends_quarantine(s):
            # Quarantined because this order could not be placed: now it is, the reason is gone.
            return self._rest(s, placed, {**info, "released": "quarantine"}, ctx)
        return Step(s.replace(**{self.resting_field: placed}),
                    f"{self.name}_placed_while_quarantined", info)

    def _acceptance(self, s: SymbolState, algo_id: str, source: str
                    ) -> tuple[SymbolState, StopOrder, dict[str, Any]]:
        p = self.pending(s)
        assert p is not None
        info = payload(client_id=p.client_id, algo_id=algo_id, trigger=p.trigger_price,
                       qty=p.qty, callback_rate=p.callback_rate_pct, activate=p.activate_price,
                       source=source)
        s = succeeded(s.replace(**{self.pending_field: None}), self.place_key(p.client_id))
        return s, dataclasses.replace(p, algo_id=algo_id), info

    def _remove(self, s: SymbolState, placed: StopOrder, info: dict[str, Any]) -> Step:
        new, cancels = cancel_ops(s, [placed])
        return Step(new, "stale_stop_cancelled", self._stale_info(info), requests=tuple(cancels))

    def _rest(self, s: SymbolState, placed: StopOrder, info: dict[str, Any], ctx: Context
              ) -> Step:
        old = self.resting(s)
        new, kind = self._rests(s, placed, ctx)
        ops: list[Any] = []
        if old is not None and old.client_id != placed.client_id:
            new, ops = cancel_ops(new, [old])  # new first, then the old one
        if placed.qty != new.qty:
            # The position changed while it was in flight: again, for the size it has now.
            new, op = self._again_for_size(new, placed, ctx)
            ops.append(op)
        return Step(new, kind, info, requests=tuple(ops))

    def _stale_info(self, info: dict[str, Any]) -> dict[str, Any]:
        return info

    def _ends_quarantine(self, s: SymbolState) -> bool:
        return False

    def _rests(self, s: SymbolState, placed: StopOrder, ctx: Context) -> tuple[SymbolState, str]:
        raise NotImplementedError

    def _again_for_size(self, s: SymbolState, placed: StopOrder, ctx: Context
                        ) -> tuple[SymbolState, PlaceStop]:
        raise NotImplementedError

    # ---- failed

    def failed(self, s: SymbolState, r: ExchangeReply, ctx: Context, *,
               quarantined: bool = False) -> Step:
        """The REST reply to our pending placement reports a failure (`quarantined`: the
        symbol is QUARANTINED, the operator decides)."""
        f, op = r.failure, r.op
        assert f is not None and isinstance(op, PlaceStop)
        info, err = self.failure_info(r)
        if f.kind is FailureKind.UNKNOWN_OUTCOME:
            # It may rest: look it up by its client id, never place a second one blindly.
            return Step(s.replace(last_error=err), f"{self.name}_outcome_unknown", info,
                        requests=(lookup(s.symbol, op.client_id, algo=True),))
        return self._refused(s, f, op, info, err, ctx, quarantined)

    def failure_info(self, r: ExchangeReply) -> tuple[dict[str, Any], str]:
        """The journal payload and the last_error of a failed placement."""
        f, op = r.failure, r.op
        assert f is not None and isinstance(op, PlaceStop)
        return self._failure_info(op, f), f"{self.name} {op.client_id}: {f.message}"

    def _failure_info(self, op: PlaceStop, f: ExchangeFailure) -> dict[str, Any]:
        return payload(client_id=op.client_id, kind=f.kind.value, code=f.code, error=f.message)

    def _refused(self, s: SymbolState, f: ExchangeFailure, op: PlaceStop,
                 info: dict[str, Any], err: str, ctx: Context, quarantined: bool) -> Step:
        raise NotImplementedError

    # ---- looked up

    def found(self, s: SymbolState, info: OrderInfo | None, ctx: Context, *,
              place_again: bool = True) -> Step:
        """The lookup of our pending order after an unknown outcome found it not resting (one
        found resting is accepted: the ACCEPTED rows)."""
        p = self.pending(s)
        assert p is not None
        if info is None and place_again:
            # Never placed: again under the SAME client id, so that if the first attempt
            # still lands the exchange refuses the copy (-4116) instead of doubling it.
            new, op = self._again(s, p, ctx)
            return Step(new, f"{self.name}_placed_again", payload(client_id=p.client_id),
                        requests=(op,))
        return self._unresolved(s.replace(**{self.pending_field: None}), payload(
            client_id=p.client_id, status=info.status if info else None))

    def _again(self, s: SymbolState, p: StopOrder, ctx: Context
               ) -> tuple[SymbolState, PlaceStop]:
        raise NotImplementedError

    def _unresolved(self, s: SymbolState, info: dict[str, Any]) -> Step:
        raise NotImplementedError

    # ---- reconciled

    def pick(self, before: SymbolState, found: list[OrderInfo]) -> OrderInfo | None:
        """The order to keep of those found: the newest we know of (a move's or resize's new
        order beats the old one), else the newest of ours by its client id's counter."""
        for wanted in (self.pending(before), self.resting(before)):
            if wanted is not None:
                match = next((o for o in found if o.client_id == wanted.client_id), None)
                if match is not None:
                    return match
        if not found:
            return None
        return max(found, key=lambda o: (client_ids.parse(o.client_id) or _ZERO).n)


_ZERO = client_ids.ParsedClientId(0, "", client_ids.Purpose.STOP, 0)


def stray_reply(s: SymbolState, r: ExchangeReply) -> Step | None:
    """A placement reply for an order no slot tracks: cancel it if it rests (or may)."""
    op = r.op
    assert isinstance(op, PlaceStop)
    if any(o is not None and o.client_id == op.client_id for o in (s.stop, s.trailing)):
        return None  # already accepted through the stream
    landed = r.failure is None and isinstance(r.result, OrderInfo)
    maybe = r.failure is not None and r.failure.kind is FailureKind.UNKNOWN_OUTCOME
    if landed or maybe:
        # It rests (or may rest) for a position that no longer wants it: cancel by client id
        # when the algo id is unknown; a cancel of an order that is not there is harmless.
        algo_id = r.result.order_id if landed and isinstance(r.result, OrderInfo) else None
        stray = StopOrder(op.client_id, algo_id, op.trigger_price, op.qty, op.order_type)
        new, ops = cancel_ops(s, [stray])
        return Step(new, "stale_stop_cancelled", payload(client_id=op.client_id),
                    requests=tuple(ops))
    return None
