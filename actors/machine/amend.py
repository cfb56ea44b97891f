"""Stop moves in place: the outcomes of an AmendStop of the resting stop (venues whose
Capabilities.amend_in_place is True; how a move is sent is actors/machine/reprice.py).

While the amend is in flight the symbol is MOVING_STOP, `stop` is the stop as it rested
before (old trigger, old size) and `amending` what was asked. Never a gap, never two stops:
the one order rests throughout, at one of the two triggers, and nothing else is placed until
the outcome is known:
- accepted (the REST reply, the stream's NEW at the new trigger, or a lookup that finds it
  there: one trigger, AMEND_ACCEPTED) -> the stop's trigger is the new one; the trail counts
  the move; a size that changed meanwhile is amended next, a trail that went on past it
  moves next (moves.again);
- refused because it no longer rests (the venue's "not found / too late", 110001 on Bybit)
  -> reconcile: the position may have closed by that very stop (incident I-4), and nothing
  is re-placed before the exchange's truth is read;
- refused otherwise -> the old stop still rests: kept (PROTECTED), retried with backoff at
  the LATEST target (a RETRY, or the next mark tick), at most MAX_STOP_FAILURES in a row
  before the operator decides (QUARANTINED, the stop still resting);
- would trigger at once -> as a move's new stop that would (protection.on_stop_would_trigger);
- unknown outcome -> LookupOrder(algo=True) of the stop's client id, settled on the trigger
  found: the new one -> accepted; the old one -> not amended (as a refusal); gone or another
  -> reconcile.
An answer that finds the symbol elsewhere (closing, quarantined) only settles `amending`;
while RECONCILING it only marks the fetch stale. An answer to an earlier amend of the same
stop (same client id, another target) is stale and changes nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from actors.machine import moves
from actors.machine.core import (
    MAX_STOP_FAILURES,
    Context,
    Step,
    backoff_ms,
    close_at_market,
    lookup,
    note_event_time,
    payload,
    quarantine,
    start_reconcile,
    succeeded,
)
from actors.machine.reprice import amends, answers, reprice
from actors.machine.slot import resize_trigger
from actors.messages import AlgoUpdate, ExchangeReply, FailureKind, OrderInfo, StopPurpose
from actors.protection import accept_move
from actors.symbol_state import State, StopAmend, StopOrder, SymbolState
from venue.requests import AmendStop, LookupOrder
from venue.vocab import OrderKind, OrderStatus

_BY_FAILURE = {FailureKind.NOT_FOUND: "AMEND_NOT_RESTING",
               FailureKind.WOULD_TRIGGER: "AMEND_WOULD_TRIGGER",
               FailureKind.UNKNOWN_OUTCOME: "AMEND_UNKNOWN"}


# --------------------------------------------------------------------------- refining


def refine_amend_reply(s: SymbolState, r: ExchangeReply) -> str:
    """The AMEND_REPLY's finer trigger (symbol_machine.refine): what it says about the amend
    in flight; AMEND_REPLY when it answers none (stale)."""
    if not answers(s.amending, r.op):
        return "AMEND_REPLY"
    if r.failure is None:
        return "AMEND_ACCEPTED"
    return _BY_FAILURE.get(r.failure.kind, "AMEND_REFUSED")


def at_target(a: StopAmend, info: OrderInfo | AlgoUpdate | None) -> bool:
    """True when `info` shows the stop resting as the amend `a` asked."""
    return (info is not None and info.status == OrderStatus.NEW
            and info.trigger_price == a.trigger_price and info.qty == a.qty)


def refine_amend_lookup(s: SymbolState, r: ExchangeReply) -> str | None:
    """A successful lookup for the amend in flight: AMEND_ACCEPTED when it shows the new
    trigger, else AMEND_LOOKUP; None when the lookup is not the amend's."""
    a = s.amending
    if a is None or not a.looking_up or r.op.client_id != a.client_id:
        return None
    return "AMEND_ACCEPTED" if at_target(a, r.result) else "AMEND_LOOKUP"


def refine_amend_update(s: SymbolState, ev: AlgoUpdate) -> str | None:
    """The stream's NEW of the stop at the amended trigger: AMEND_ACCEPTED (else None: the
    update is the resting stop's, as on any venue)."""
    a = s.amending
    if a is not None and ev.client_id == a.client_id and at_target(a, ev):
        return "AMEND_ACCEPTED"
    return None


# --------------------------------------------------------------------------- accepted


def amended(s: SymbolState, event: Any, ctx: Context) -> Step:
    """MOVING_STOP: the stop rests at the amended trigger (and size): PROTECTED; then the
    size again if the position changed meanwhile, or the next move if the trail went on.
    If the stream reported the stop gone meanwhile, the exchange's truth decides."""
    s, placed, info = _landed(s, event)
    old = s.stop
    if old is None:
        return _lost_meanwhile(s, "stop_amended", info)
    new = s.replace(stop=placed, amending=None, state=State.PROTECTED, stop_failures=0,
                    quarantine_reason=None)
    trail = new.trail
    # A resize before trailing activates is priced from the entry, not moved by the trail.
    repriced = old.qty != placed.qty and not (trail and trail.active)
    moved = old.trigger_price != placed.trigger_price and not repriced
    kind = "stop_amended" if moved else "stop_resized"
    if trail is not None and placed.trigger_price is not None:
        new = new.replace(trail=accept_move(trail, placed.trigger_price, ctx.now_ms) if moved
                          else dataclasses.replace(trail, stop_price=placed.trigger_price))
    info = {**info, "old": str(old.trigger_price)}
    if placed.qty != new.qty:
        # The position changed while the amend was in flight: amended again for its size.
        again, op = reprice(new, ctx, resize_trigger(new, ctx, placed.trigger_price),
                            purpose=StopPurpose.RESIZE)
        return Step(again, kind, {**info, "then_resize_to": str(new.qty)}, requests=(op,))
    return moves.again(Step(new, kind, info), ctx)


def amended_elsewhere(s: SymbolState, event: Any, ctx: Context) -> Step:
    """Not MOVING_STOP (closing, quarantined... while the amend was in flight): the stop's
    trigger is the new one; nothing else follows from it here."""
    s, placed, info = _landed(s, event)
    stop = placed if s.stop is not None and s.stop.client_id == placed.client_id else s.stop
    return Step(s.replace(stop=stop, amending=None), "stop_amended",
                {**info, "state": s.state.value})


def _landed(s: SymbolState, event: Any) -> tuple[SymbolState, StopOrder, dict[str, Any]]:
    """(`s` with what the news itself settles, the stop as amended, the journal payload)."""
    a = s.amending
    assert a is not None
    algo_id = s.stop.algo_id if s.stop is not None else None
    source = "rest"
    if isinstance(event, AlgoUpdate):
        s, algo_id, source = note_event_time(s, event.event_ms), event.algo_id, "stream"
    elif isinstance(event, ExchangeReply) and isinstance(event.result, OrderInfo):
        algo_id = event.result.order_id or algo_id
        if isinstance(event.op, LookupOrder):
            s, source = succeeded(s, f"lookup:{a.client_id}"), "lookup"
    placed = StopOrder(a.client_id, algo_id, a.trigger_price, a.qty, OrderKind.STOP)
    return s, placed, payload(client_id=a.client_id, algo_id=algo_id, trigger=a.trigger_price,
                              qty=a.qty, source=source)


# --------------------------------------------------------------------------- refused


def _lost_meanwhile(s: SymbolState, kind: str, info: dict[str, Any]) -> Step:
    """The stream reported the stop gone while its amend was in flight: nothing rests that
    the amend could have moved, so reconcile (the position may be closed; if not, the
    reconcile restores the stop). Never PROTECTED without a stop."""
    return start_reconcile(s.replace(amending=None), kind, {**info, "then": "stop lost"})


def not_resting(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """MOVING_STOP: the stop no longer rests (it filled, triggered or was cancelled while we
    moved it, I-4): reconcile; nothing is placed before the exchange's truth is read."""
    info, _ = _failure(s, r)
    return start_reconcile(s.replace(amending=None, last_error=_err(r)),
                           "stop_amend_not_resting", info)


def refused(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """MOVING_STOP: refused, the old trigger still rests: kept, and tried again with backoff
    at the latest target (`retry`); for good (HALT, or MAX_STOP_FAILURES in a row) the
    operator decides, the stop still resting."""
    info, a = _failure(s, r)
    if s.stop is None:
        return _lost_meanwhile(s, "stop_amend_refused", info)
    failures = s.stop_failures + 1
    kept = s.replace(amending=None, state=State.PROTECTED, stop_failures=failures,
                     last_error=_err(r))
    assert r.failure is not None
    if r.failure.kind is FailureKind.HALT or failures >= MAX_STOP_FAILURES:
        return quarantine(kept, _err(r), info)
    return Step(kept, "stop_amend_refused", {**info, "attempt": failures},
                retry_after_ms=backoff_ms(failures))


def would_trigger(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """MOVING_STOP: the price is already past the new trigger; the old one rests. Kept
    (protection.on_stop_would_trigger: keep) or the position closed at market (close)."""
    info, _ = _failure(s, r)
    cleared = s.replace(amending=None, last_error=_err(r))
    if s.stop is None:
        return _lost_meanwhile(cleared, "stop_amend_would_trigger", info)
    if ctx.policy.on_stop_would_trigger == "keep":
        return Step(cleared.replace(state=State.PROTECTED), "stop_move_skipped", info)
    new, op = close_at_market(cleared, ctx, f"would-trigger-{s.order_counter + 1}")
    return Step(new, "stop_would_trigger_close", info, requests=(op,))


def unknown(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """MOVING_STOP: no answer: the stop rests at the old or the new trigger; a lookup by its
    client id says which (nothing is sent again blindly)."""
    info, a = _failure(s, r)
    if s.stop is None:
        return _lost_meanwhile(s, "stop_amend_outcome_unknown", info)
    return Step(s.replace(amending=StopAmend(a.client_id, a.trigger_price, a.qty, True),
                          last_error=_err(r)),
                "stop_amend_outcome_unknown", info,
                requests=(lookup(s.symbol, a.client_id, algo=True),))


def looked_up(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """MOVING_STOP: the lookup after an unknown outcome found the stop not at the new
    trigger: at the old one it was not amended (kept, tried again as after a refusal); gone,
    or at a trigger we never asked for, the exchange's truth decides (reconcile)."""
    a = s.amending
    assert a is not None and isinstance(r.op, LookupOrder)
    found = r.result if isinstance(r.result, OrderInfo) else None
    s = succeeded(s.replace(amending=None), f"lookup:{a.client_id}")
    info = payload(client_id=a.client_id, trigger=a.trigger_price,
                   status=found.status if found else "absent",
                   found=found.trigger_price if found else None)
    old = s.stop
    if (found is not None and old is not None and found.status == OrderStatus.NEW
            and found.trigger_price == old.trigger_price and found.qty == old.qty):
        marker = AmendStop(s.symbol, old.algo_id, old.client_id, a.trigger_price, a.qty)
        return Step(s.replace(state=State.PROTECTED), "stop_amend_not_applied", info,
                    retry_after_ms=backoff_ms(1), retry_op=marker)
    return start_reconcile(s, "stop_amend_settled", info)


def settled_elsewhere(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """Not MOVING_STOP: the amend is no longer followed up here (the close, the operator or
    the reconcile decides); only `amending` is settled."""
    a = s.amending
    assert a is not None
    outcome = "looked_up" if r.failure is None else r.failure.kind.value
    return Step(s.replace(amending=None), "stop_amend_settled",
                payload(client_id=a.client_id, trigger=a.trigger_price, outcome=outcome,
                        state=s.state.value))


def _failure(s: SymbolState, r: ExchangeReply) -> tuple[dict[str, Any], StopAmend]:
    a, f = s.amending, r.failure
    assert a is not None and f is not None
    return payload(client_id=a.client_id, trigger=a.trigger_price, qty=a.qty,
                   old=s.stop.trigger_price if s.stop else None, kind=f.kind.value, code=f.code,
                   error=f.message, http_status=f.http_status), a


def _err(r: ExchangeReply) -> str:
    assert r.failure is not None
    return f"stop amend {r.op.client_id}: {r.failure.message}"


# --------------------------------------------------------------------------- retried


def retry(s: SymbolState, op: AmendStop, ctx: Context) -> Step | None:
    """A RETRY after a refused (or not applied) amend: PROTECTED with the stop resting and
    nothing in flight or wished for -> amended now at the LATEST target (the size the
    position has now, or where the trail puts the stop now; the refused target is never
    sent as it was). Anything else: the retry is no longer wanted."""
    stop = s.stop
    if (s.state is not State.PROTECTED or stop is None or stop.client_id != op.client_id
            or s.amending is not None or s.move_wish is not None or not amends(s, ctx)):
        return None
    if stop.qty != s.qty:
        new, again = reprice(s, ctx, resize_trigger(s, ctx, stop.trigger_price),
                             purpose=StopPurpose.RESIZE)
        return Step(new, "stop_resize_requested",
                    payload(client_id=stop.client_id, qty=s.qty, retry=True),
                    requests=(again,))
    target = moves.move_target(s, ctx)
    if target is None:
        return None
    new, again = reprice(s, ctx, target, purpose=StopPurpose.MOVE)
    return Step(new, "stop_move_requested",
                payload(old=stop.trigger_price, new=target, client_id=stop.client_id,
                        mark=s.mark_price, retry=True), requests=(again,))
