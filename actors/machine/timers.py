"""Retry timers: a failed operation's next attempt, armed by the shell (Step.retry_after_ms).

A timer armed in one state may fire in another; each state's row decides whether the
operation it carries is still wanted.
"""

from __future__ import annotations

from typing import Any

from actors.machine import amend
from actors.machine.core import (
    Context,
    Step,
    close_at_market,
    is_trailing,
    limit_ms,
    payload,
    pending_ids,
)
from actors.machine.coverage import overdue_alert
from actors.machine.slot import again_at, place_stop, place_trailing, protect
from actors.messages import CancelStop, FetchSymbol, LookupOrder, PlaceStop, StopPurpose
from actors.symbol_state import State, SymbolState
from venue.requests import AmendStop


def retry(s: SymbolState, op: Any, ctx: Context) -> Step | None:
    """Resend `op` if it is still wanted (its order still in flight or being cancelled)."""
    cid = getattr(op, "client_id", None)
    if isinstance(op, PlaceStop):
        return _retry_place(s, op, ctx)
    if isinstance(op, AmendStop):
        return amend.retry(s, op, ctx)
    wanted = (
        (isinstance(op, CancelStop) and any(c.client_id == cid for c in s.cancelling))
        or (isinstance(op, LookupOrder) and cid in pending_ids(s))
    )
    if wanted:
        return Step(s, "retry", payload(op=type(op).__name__, client_id=cid), requests=(op,),
                    persist=False)
    return None


def _retry_place(s: SymbolState, op: PlaceStop, ctx: Context) -> Step | None:
    """Resend a stop (or native trailing) placement that is still in flight."""
    trailing = is_trailing(op)
    p = s.pending_trailing if trailing else s.pending_stop
    if p is None or p.client_id != op.client_id:
        return None
    if s.side is None or op.qty == s.qty:
        return Step(s, "retry", payload(op="PlaceStop", client_id=op.client_id),
                    requests=(op,), persist=False)
    # The position changed while the retry waited: re-place for the size it has now
    # (same client id, as after a lookup), never a stop larger or smaller than it.
    if trailing:
        new, again = place_trailing(s, ctx, again=p)
    else:
        new, again = place_stop(s, ctx, again_at(s, ctx), purpose=StopPurpose.AGAIN,
                                 client_id=p.client_id)
    return Step(new, "retry", payload(op="PlaceStop", client_id=op.client_id, qty=new.qty),
                requests=(again,))


def retry_during_reconcile(s: SymbolState, op: Any, ctx: Context) -> Step | None:
    """RECONCILING: only the fetch itself is retried; the truth decides the rest."""
    if isinstance(op, FetchSymbol):
        return Step(s, "retry", payload(op="FetchSymbol"), persist=False, refetch=True)
    return None


def retry_while_quarantined(s: SymbolState, op: Any, ctx: Context) -> Step | None:
    """QUARANTINED: the operator decides and nothing is sent, unless the position has no
    resting stop; then the attempt in flight goes on (its placement, or its lookup), or a new
    one starts, and past unprotectable_after_minutes `on_unprotectable: close` closes it."""
    if not s.unprotected:
        return None
    since = s.unprotected_since_ms if s.unprotected_since_ms is not None else ctx.now_ms
    if (ctx.policy.on_unprotectable == "close" and s.close_order is None
            and ctx.now_ms - since >= limit_ms(ctx)):
        new, close = close_at_market(s, ctx, f"unprotectable-{s.order_counter + 1}")
        return Step(new, "unprotectable_close",
                    payload(client_id=close.client_id, qty=s.qty,
                            unprotected_ms=ctx.now_ms - since), requests=(close,),
                    alert=overdue_alert(s, ctx, since))
    p = s.pending_stop
    if p is None:
        new, ops = protect(s, ctx, StopPurpose.RESTORE)
        return Step(new.replace(state=State.QUARANTINED), "protection_retry",
                    payload(client_id=new.pending_stop.client_id if new.pending_stop else None,
                            attempt=s.stop_failures + 1), requests=tuple(ops))
    if isinstance(op, LookupOrder) and op.client_id == p.client_id:
        return Step(s, "retry", payload(op="LookupOrder", client_id=op.client_id),
                    requests=(op,), persist=False)
    if isinstance(op, PlaceStop) and op.client_id == p.client_id:
        new, again = place_stop(s, ctx, again_at(s, ctx), purpose=StopPurpose.AGAIN,
                                 client_id=p.client_id)
        return Step(new, "protection_retry",
                    payload(client_id=p.client_id, qty=new.qty, attempt=s.stop_failures + 1),
                    requests=(again,))
    return None  # a timer of another operation: the attempt under way has its own
