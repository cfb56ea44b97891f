"""Native trailing (`protection.trailing.mode: native`): the exchange's trailing stop order.

posguard only places, watches and restores it; it never moves it. The fixed reduce-only stop
at the initial stop stays in place beside it as the hard floor, so the trailing order's
lifecycle (actors/machine/slot.py) runs alongside the state machine's states instead of
through them. What differs from the fixed stop: a refusal is retried like a read, capped at
MAX_STOP_FAILURES, or hands over to the exchange's truth (a reconcile), and a filled order is
re-checked rather than trusted, since its fill events may have been lost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from actors import client_ids
from actors.machine.core import (
    MAX_STOP_FAILURES,
    Context,
    Step,
    cancel_ops,
    native,
    on_tick,
    payload,
    retry_or_quarantine,
)
from actors.machine.slot import Slot, place_trailing, recheck
from actors.messages import (
    AlgoUpdate,
    ExchangeFailure,
    FailureKind,
    OrderInfo,
    OrderUpdate,
    PlaceStop,
)
from actors.protection import closing_order_side
from actors.symbol_state import StopOrder, SymbolState
from venue.vocab import OrderKind, OrderStatus

TRIGGERED = (OrderStatus.TRIGGERING, OrderStatus.TRIGGERED)
GONE = (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED)


class TrailingSlot(Slot):
    """`SymbolState.trailing` / `pending_trailing`."""

    name = "trailing"
    kind = OrderKind.TRAILING
    resting_field = "trailing"
    pending_field = "pending_trailing"

    def _rests(self, s: SymbolState, placed: StopOrder, ctx: Context) -> tuple[SymbolState, str]:
        old = s.trailing
        kind = "trailing_resized" if old is not None and old.client_id != placed.client_id \
            else "trailing_placed"
        return s.replace(trailing=placed), kind

    def _rest(self, s: SymbolState, placed: StopOrder, info: dict[str, Any], ctx: Context
              ) -> Step:
        if not follows_position(ctx):
            return super()._rest(s, placed, info, ctx)
        # Attached to the position: the venue replaced the old one itself and sizes this
        # one to the position, so nothing is cancelled (a cancel by the old one's id could
        # name the only trailing stop) and nothing is placed again for the size.
        new, kind = self._rests(s, dataclasses.replace(placed, qty=s.qty), ctx)
        return Step(new, kind, info)

    def _again_for_size(self, s: SymbolState, placed: StopOrder, ctx: Context
                        ) -> tuple[SymbolState, PlaceStop]:
        return place_trailing(s, ctx)

    def _refused(self, s: SymbolState, f: ExchangeFailure, op: PlaceStop,
                 info: dict[str, Any], err: str, ctx: Context, quarantined: bool) -> Step:
        p = s.pending_trailing
        assert p is not None
        if f.kind is FailureKind.WOULD_TRIGGER and p.activate_price is not None:
            # -2021 on a trailing order means the market has already passed activatePrice (a
            # SELL must activate above the market, a BUY below). The position is then at least
            # activation_pct in profit, so trailing is due now: send the same order without
            # activatePrice, which Binance activates at the current price (the stop starts
            # callbackRate behind it). Same client id: the refused order does not exist.
            new, again = place_trailing(s.replace(last_error=err), ctx,
                                        again=dataclasses.replace(p, activate_price=None))
            return Step(new, "trailing_activate_now", info, requests=(again,))
        if f.kind in (FailureKind.REJECTED, FailureKind.WOULD_TRIGGER):
            # Refused as is (e.g. -2022: nothing left to reduce): the exchange's truth decides.
            return recheck(s.replace(pending_trailing=None, last_error=err),
                           "trailing_rejected", info)
        return retry_or_quarantine(s, self.place_key(op.client_id), f,
                                   f"trailing {op.client_id}", "trailing_retry_scheduled",
                                   info, cap=MAX_STOP_FAILURES)

    def _again(self, s: SymbolState, p: StopOrder, ctx: Context
               ) -> tuple[SymbolState, PlaceStop]:
        return place_trailing(s, ctx, again=p)

    def _unresolved(self, s: SymbolState, info: dict[str, Any]) -> Step:
        # Found but no longer resting (triggered, cancelled, expired), or nothing to place now.
        return recheck(s, "trailing_unresolved", info)


TRAILING = TrailingSlot()


# --------------------------------------------------------------------------- stream


def resting_trailing_event(s: SymbolState, ev: AlgoUpdate, ctx: Context, *,
                           replace_lost: bool) -> Step | None:
    """ALGO_UPDATE for our resting trailing order; `replace_lost`: a lost one is placed again
    at once (only where we place on our own initiative, see symbol_machine.PLACING)."""
    t = s.trailing
    assert t is not None and ev.client_id == t.client_id
    info = payload(status=ev.status, client_id=ev.client_id, reason=ev.reject_reason or None)
    if ev.status in TRIGGERED:
        return Step(s, "trailing_triggered", info)
    if ev.status == OrderStatus.NEW and not t.algo_id and ev.algo_id:
        # Its placement could not read the order id back (an attached trailing stop): the
        # stream names it now.
        learned = s.replace(trailing=dataclasses.replace(t, algo_id=ev.algo_id))
        return Step(learned, "trailing_id_learned", {**info, "algo_id": ev.algo_id})
    if ev.status == OrderStatus.FINISHED:
        # It filled. Its ORDER_TRADE_UPDATE fill (or the ACCOUNT_UPDATE) normally arrives
        # first and ends the position (stop_filled / position_closed); if we still see a
        # position, those events were lost: let the exchange say what is left.
        return recheck(s.replace(trailing=None), "trailing_finished", info)
    if ev.status in GONE:
        # Not cancelled by us (we move an order to `cancelling` before cancelling it).
        lost = s.replace(trailing=None, last_error=f"trailing {ev.client_id} {ev.status}")
        if replace_lost and s.pending_trailing is None:
            new, op = place_trailing(lost, ctx)
            return Step(new, "trailing_lost", info, requests=(op,))
        return Step(lost, "trailing_lost", info)
    return None


def resize(s: SymbolState, ctx: Context) -> tuple[SymbolState, list[Any]]:
    """The position size changed: place a trailing order for the new size (new first)."""
    t = s.trailing
    if not native(ctx) or t is None or s.pending_trailing is not None or t.qty == s.qty:
        return s, []  # an order in flight is re-sized when it is accepted
    if follows_position(ctx):
        # The venue resizes the position's trailing stop itself: only our record follows.
        return s.replace(trailing=dataclasses.replace(t, qty=s.qty)), []
    s, op = place_trailing(s, ctx)
    return s, [op]


def follows_position(ctx: Context) -> bool:
    """True when the venue's native trailing stop is the position's own (Bybit)."""
    return ctx.venue.native_trailing_follows_position


# --------------------------------------------------------------------------- attached


def claimed_id(s: SymbolState, client_id: str, order_id: str, order_type: str) -> str | None:
    """Our client id for an order the venue reports without one, if it is our trailing stop.

    A position-attached trailing stop (Bybit trading-stop) has no orderLinkId: it is ours
    when it is the order our placement read back (its order id), or, while its id is not
    known yet, the one trailing stop the position has after our placement (one per position:
    a placement of ours replaces whatever was there). Anything else is not claimed."""
    if client_id or order_type != OrderKind.TRAILING:
        return None
    t, p = s.trailing, s.pending_trailing
    if t is not None and t.algo_id and t.algo_id == order_id:
        return t.client_id
    if p is not None and (p.algo_id is None or p.algo_id == order_id):
        return p.client_id
    if t is not None and not t.algo_id:
        return t.client_id
    return None


def claim(s: SymbolState, event: Any, ctx: Context) -> Any:
    """`event` naming our attached trailing stop by our client id (AlgoUpdate, OrderUpdate),
    so every rule that matches by client id applies; anything else unchanged."""
    if not follows_position(ctx) or not isinstance(event, (AlgoUpdate, OrderUpdate)) \
            or event.client_id:
        return event
    order_id = event.algo_id if isinstance(event, AlgoUpdate) else event.order_id
    cid = claimed_id(s, event.client_id, order_id, event.order_type)
    return event if cid is None else dataclasses.replace(event, client_id=cid)


def claim_rows(s: SymbolState, found: Sequence[OrderInfo], ctx: Context) -> list[OrderInfo]:
    """The exchange's open algo orders with our attached trailing stop named as ours."""
    if not follows_position(ctx):
        return list(found)
    out = []
    for o in found:
        cid = claimed_id(s, o.client_id, o.order_id, o.order_type)
        out.append(o if cid is None else dataclasses.replace(o, client_id=cid))
    return out


# --------------------------------------------------------------------------- reconcile


def is_trailing_order(o: OrderInfo) -> bool:
    """True for a trailing order of ours (by the purpose in its client id)."""
    parsed = client_ids.parse(o.client_id)
    return parsed is not None and parsed.purpose is client_ids.Purpose.TRAILING


def _as_trailing(o: OrderInfo, ctx: Context) -> StopOrder:
    # The exchange pads prices (151.5000 for 151.50): keep the tick's decimals, so a restart
    # shows the activatePrice it placed.
    activate = None if o.activate_price is None else on_tick(o.activate_price, ctx.rules)
    return StopOrder(o.client_id, o.order_id, None, o.qty, OrderKind.TRAILING,
                     o.callback_rate_pct, activate)


def _with_known_params(kept: StopOrder, before: SymbolState) -> StopOrder:
    """`kept` with the callbackRate / activatePrice we placed it with where the exchange did
    not report them: Binance's openAlgoOrders rows carry neither (its SDK's models), so a
    missing value means "not reported", not "none"."""
    placed = next((o for o in (before.trailing, before.pending_trailing)
                   if o is not None and o.client_id == kept.client_id), None)
    if placed is None:
        return kept
    return dataclasses.replace(
        kept, callback_rate_pct=kept.callback_rate_pct or placed.callback_rate_pct,
        activate_price=kept.activate_price or placed.activate_price)


def reconcile(step: Step, before: SymbolState, found: list[OrderInfo], ctx: Context) -> Step:
    """After the fixed stop is reconciled: keep one trailing order of ours that matches the
    position (native mode), restore it if missing, resize it new-first if its size is wrong;
    cancel every other trailing order of ours (all of them in the other modes)."""
    s = step.state
    keep = None
    if native(ctx) and s.side is not None:
        side = closing_order_side(s.side)
        keep = TRAILING.pick(before, [o for o in found if o.side == side
                                      and o.order_type == OrderKind.TRAILING])
    extras = [_as_trailing(o, ctx) for o in found if o is not keep]
    kept = None if keep is None else _with_known_params(_as_trailing(keep, ctx), before)
    s, ops = cancel_ops(s.replace(trailing=kept), extras)
    action = "kept" if keep is not None else None
    resize_due = keep is not None and keep.qty != s.qty and not follows_position(ctx)
    if native(ctx) and s.has_position and (keep is None or resize_due):
        s, op = place_trailing(s, ctx)
        ops.append(op)
        action = "restored" if keep is None else "resized"
    kind = step.kind
    if kind == "reconciled_protected" and action in ("restored", "resized"):
        kind = f"trailing_{action}_on_reconcile"
    elif kind == "reconciled_protected" and extras:
        kind = "duplicate_trailing_cancelled"
    info = {**step.payload, "trailing": action,
            "trailing_cancelled": [e.client_id for e in extras] or None}
    return Step(s, kind, {k: v for k, v in info.items() if v is not None},
                requests=step.requests + tuple(ops))
