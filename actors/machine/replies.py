"""REST replies to our stop placements, cancels, lookups and the reconcile's fetch.

A reply is matched to what it answers by client id. A placement accepted is the slot's
ACCEPTED trigger (actors/machine/accepted.py); its failures go to the slot that placed it
(actors/machine/slot.py); a reply for an order no slot tracks any more is a stray.
While RECONCILING a reply only marks the fetch in flight as stale: the next snapshot shows
what the reply's order did, and reconcile_with decides from that truth.
"""

from __future__ import annotations

from actors.machine.amend import refine_amend_lookup
from actors.machine.core import (
    TRANSIENT,
    Context,
    Step,
    backoff_ms,
    fetch_again,
    payload,
    pending_ids,
    quarantine,
    retry_or_quarantine,
    succeeded,
)
from actors.machine.reconcile import reconcile_with
from actors.machine.slot import Slot, stray_reply
from actors.machine.stop import STOP, would_trigger
from actors.machine.trailing import TRAILING
from actors.messages import (
    CancelStop,
    ExchangeFailure,
    ExchangeReply,
    FailureKind,
    LookupOrder,
    OrderInfo,
    PlaceStop,
    SymbolSnapshot,
)
from actors.symbol_state import ReconcileProgress, State, SymbolState
from venue.vocab import OrderStatus

MAX_REFETCHES = 3


def reply_during_reconcile(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """RECONCILING: fetch again after this reply (see module)."""
    return fetch_again(s)


def stop_failed(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step | None:
    """The REST reply to a fixed stop's placement, not an acceptance (that is STOP_ACCEPTED):
    a failure, or a reply for a stop we no longer track."""
    return _not_accepted(STOP, s, r, ctx)


def stop_failed_while_quarantined(s: SymbolState, r: ExchangeReply, ctx: Context
                                  ) -> Step | None:
    """QUARANTINED: a failed placement is only retried while no stop rests (coverage.py)."""
    return _not_accepted(STOP, s, r, ctx, quarantined=True)


def stop_would_trigger(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """-2021 on our stop's placement: the price is past it, the position closes at market."""
    return would_trigger(s, r, ctx, moving=False)


def stop_would_trigger_while_moving(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """-2021 on a move's new stop: closed at market, or the old stop kept (policy)."""
    return would_trigger(s, r, ctx, moving=True)


def trailing_failed(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step | None:
    """The REST reply to a native trailing order's placement, not an acceptance."""
    return _not_accepted(TRAILING, s, r, ctx)


def _not_accepted(slot: Slot, s: SymbolState, r: ExchangeReply, ctx: Context, *,
                  quarantined: bool = False) -> Step | None:
    op = r.op
    assert isinstance(op, PlaceStop)
    p = slot.pending(s)
    if p is None or p.client_id != op.client_id:
        return stray_reply(s, r)
    return slot.failed(s, r, ctx, quarantined=quarantined)


def refine_stop_reply(s: SymbolState, r: ExchangeReply) -> str:
    """Our stop's placement reply: accepted, would trigger at once (-2021), or else."""
    p = s.pending_stop
    if p is None or p.client_id != r.op.client_id:
        return "STOP_REPLY"
    if r.failure is None:
        return "STOP_ACCEPTED"
    if r.failure.kind is FailureKind.WOULD_TRIGGER:
        return "STOP_WOULD_TRIGGER"
    return "STOP_REPLY"


def cancel_reply(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step | None:
    """The REST reply to a cancel; an order already gone counts as cancelled."""
    assert isinstance(r.op, CancelStop)
    cid = r.op.client_id
    key = f"cancel:{cid}"
    if not any(c.client_id == cid for c in s.cancelling):
        return None
    if r.failure is None or r.failure.kind is FailureKind.NOT_FOUND:
        left = tuple(c for c in s.cancelling if c.client_id != cid)
        return Step(succeeded(s.replace(cancelling=left), key), "stop_cancelled",
                    payload(client_id=cid))
    return retry_or_quarantine(s, key, r.failure, f"cancel {cid}", "cancel_retry_scheduled",
                               payload(client_id=cid, error=r.failure.message))


def lookup_failed(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step | None:
    """A lookup by client id failed: retried while its order is still in flight."""
    op = r.op
    assert isinstance(op, LookupOrder)
    cid = op.client_id
    if r.failure is None or cid not in pending_ids(s):
        return None  # resolved meanwhile (stream, another reply): nothing to retry
    return retry_or_quarantine(s, f"lookup:{cid}", r.failure, f"lookup {cid}",
                               "lookup_retry_scheduled",
                               payload(client_id=cid, error=r.failure.message))


def stop_lookup(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """The lookup of our fixed stop's placement found it not resting (resting: STOP_ACCEPTED):
    never placed, or already spent."""
    return _slot_lookup(STOP, s, r, ctx)


def trailing_lookup(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """The lookup of our trailing order's placement found it not resting (resting:
    TRAILING_ACCEPTED): never placed (placed again), or spent."""
    return _slot_lookup(TRAILING, s, r, ctx)


def trailing_lookup_not_placing(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """As trailing_lookup, but one never placed is not placed again in this state: the
    exchange's truth (or the operator, or the close) decides."""
    return _slot_lookup(TRAILING, s, r, ctx, place_again=False)


def _slot_lookup(slot: Slot, s: SymbolState, r: ExchangeReply, ctx: Context, *,
                 place_again: bool = True) -> Step:
    assert isinstance(r.op, LookupOrder) and (r.result is None or isinstance(r.result, OrderInfo))
    return slot.found(succeeded(s, f"lookup:{r.op.client_id}"), r.result, ctx,
                      place_again=place_again)


def refine_lookup(s: SymbolState, r: ExchangeReply) -> str:
    """What a successful lookup was for (symbol_machine.refine); failures stay LOOKUP_REPLY."""
    if r.failure is not None:
        return "LOOKUP_REPLY"
    cid = r.op.client_id
    if s.open_order and cid == s.open_order.client_id:
        return "OPEN_LOOKUP"
    if s.close_order and cid == s.close_order.client_id:
        return "CLOSE_LOOKUP"
    amended = refine_amend_lookup(s, r)
    if amended is not None:
        return amended
    for slot in (STOP, TRAILING):
        p = slot.pending(s)
        if p is not None and cid == p.client_id:
            resting = r.result is not None and r.result.status == OrderStatus.NEW
            return f"{slot.name.upper()}_{'ACCEPTED' if resting else 'LOOKUP'}"
    return "LOOKUP_REPLY"


def snapshot(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """The reconcile's fetch came back: fetch again if something happened meanwhile (at
    most MAX_REFETCHES times), else make the state agree with what it shows."""
    if r.failure is not None:
        return _fetch_failed(s, r.failure, ctx)
    progress = s.reconcile
    if progress.dirty and progress.refetches < MAX_REFETCHES:
        return Step(s.replace(reconcile=ReconcileProgress(False, progress.refetches + 1)),
                    "reconcile_refetch", {}, persist=False, refetch=True)
    snap = r.result if isinstance(r.result, SymbolSnapshot) else None
    return reconcile_with(s, snap, ctx)


def _fetch_failed(s: SymbolState, f: ExchangeFailure, ctx: Context) -> Step:
    """The reconcile's fetch failed. Transient: fetched again with backoff. HALT (auth,
    permissions): quarantined. Refused as is (REJECTED: the venue does not list the symbol)
    would fail the same way for ever: with a position or an order of ours known it
    quarantines (the operator must look); with nothing known it settles FLAT, and the reason
    is what an open on it is refused with (market.open_position)."""
    err = f"reconcile: {f.message}"
    if f.kind is FailureKind.HALT:
        return quarantine(s, err, {})
    if f.kind in TRANSIENT:
        return Step(s.replace(last_error=err), "reconcile_retry_scheduled",
                    payload(error=f.message), retry_after_ms=backoff_ms(3))
    on = f" on account {ctx.account!r}" if ctx.account else ""
    refused = f"reconcile refused by the venue{on}: {f.message} ({f.kind.value}, not retried)"
    if _anything_known(s):
        return quarantine(s.replace(last_error=err), refused, payload(error=f.message))
    return Step(s.replace(state=State.FLAT, reconcile=ReconcileProgress(), last_error=refused),
                "reconcile_refused", payload(error=f.message, code=f.code))


def _anything_known(s: SymbolState) -> bool:
    """A position, or an order of ours, that the refused fetch leaves unaccounted for."""
    return (s.has_position or s.stop is not None or s.trailing is not None
            or s.pending_stop is not None or s.pending_trailing is not None
            or s.open_order is not None or s.close_order is not None or bool(s.cancelling))
