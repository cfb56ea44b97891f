"""Coverage: does a resting stop of ours cover the position, and what happens when none does.

Pure functions (no I/O), called by symbol_machine.handle and named in its TABLE.

- `track` runs after every transition, whatever handler made it: since when the position has
  had no resting stop (`unprotected_since_ms`), the ALERTs for that stretch, when our orders
  last changed (the sweep's stop check ignores exchange reads older than that), and a
  `last_error` that is no longer true once the symbol is PROTECTED and healthy.
- QUARANTINED never leaves a naked position (issue 13). A symbol quarantined with no resting
  stop keeps placing it, with the same capped backoff as before the quarantine (0.1 s doubling
  to 5 s, jittered by the shell), under the same client id (a copy of a stop that did land is
  refused, -4116, and looked up). An ALERT is logged at once; after
  `protection.unprotectable_after_minutes` without a resting stop `on_unprotectable` decides:
  keep_retrying (and ALERT again) or close the position at market. A quarantine that began
  because the stop could not be placed ends when it is: the reason is no longer true.
- The periodic sweep's stop check (`_stop_check`): our stops on the exchange, read account-wide
  by the supervisor, against this actor's own state. A stop of ours missing, extra or of the
  wrong size (or a position that differs) starts a reconcile, which repairs it
  (actors/reconcile.py). The actor decides, not the supervisor: only it knows what is in
  flight, and `orders_changed_ms` tells it when the read is too old to judge by.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from actors.messages import LookupOrder, PlaceStop, StopCheck
from actors.protection import Side
from actors.symbol_machine import (
    Context,
    Step,
    backoff_ms,
    close_at_market,
    payload,
    place_stop,
    protect,
    quarantine,
    resize_trigger,
)
from actors.symbol_state import State, SymbolState

RELEASE_ON_STOP = "release_on_stop"
"""`extra` key: this quarantine began because the stop could not be placed."""
QUARANTINE_ALERTED, OVERDUE_ALERTED = 1, 2
"""Bits of `unprotected_alerts`."""
CHECKED_STATES = (State.FLAT, State.PROTECTED, State.QUARANTINED)
"""States a stop check is judged in; in the others a request in flight settles things."""


# --------------------------------------------------------------------------- every transition


def track(before: SymbolState, step: Step, ctx: Context) -> Step:
    """`step` with the protection facts of its new state brought up to date (see module)."""
    s = step.state
    changes: dict[str, Any] = {}
    if _orders(before) != _orders(s):
        changes["orders_changed_ms"] = ctx.now_ms
    if s.state is not State.QUARANTINED and RELEASE_ON_STOP in s.extra:
        changes["extra"] = {k: v for k, v in s.extra.items() if k != RELEASE_ON_STOP}
    alert, retry_after, retry_op = step.alert, step.retry_after_ms, step.retry_op
    if not s.unprotected:
        if s.unprotected_since_ms is not None or s.unprotected_alerts:
            changes.update(unprotected_since_ms=None, unprotected_alerts=0)
        if s.last_error is not None and _healthy(s):
            changes["last_error"] = None  # the error it names is no longer true
    else:
        since = ctx.now_ms if s.unprotected_since_ms is None else s.unprotected_since_ms
        alerts = s.unprotected_alerts
        if s.state is State.QUARANTINED:
            if not alerts & QUARANTINE_ALERTED:
                alert, alerts = alert or _quarantine_alert(s, ctx), alerts | QUARANTINE_ALERTED
            if step.kind == "quarantined" and retry_after is None and not step.requests \
                    and not step.refetch:
                # (Re-)quarantined from a reply, and nothing in flight brings the symbol back
                # here: arm the next attempt (the shell arms it for the replied operation, or
                # for `retry_op`). Only here: a timer per step would start parallel attempts.
                retry_after = attempt_delay_ms(s, ctx, max(s.stop_failures, 1))
                retry_op = _attempt_op(s, ctx)
        if not alerts & OVERDUE_ALERTED and ctx.now_ms - since >= limit_ms(ctx):
            alert, alerts = alert or _overdue_alert(s, ctx, since), alerts | OVERDUE_ALERTED
        changes.update(unprotected_since_ms=since, unprotected_alerts=alerts)
    if not changes and (alert, retry_after, retry_op) == (step.alert, step.retry_after_ms,
                                                          step.retry_op):
        return step
    return dataclasses.replace(step, state=s.replace(**changes) if changes else s, alert=alert,
                               retry_after_ms=retry_after, retry_op=retry_op)


def _orders(s: SymbolState) -> tuple[Any, ...]:
    return (s.state, s.side, s.qty, s.stop, s.pending_stop, s.trailing, s.pending_trailing,
            s.cancelling)


def _healthy(s: SymbolState) -> bool:
    """PROTECTED with nothing failing or left to tidy up."""
    return (s.state is State.PROTECTED and s.stop_failures == 0 and not s.op_failures
            and s.pending_stop is None and not s.cancelling)


def limit_ms(ctx: Context) -> int:
    """protection.unprotectable_after_minutes in ms."""
    return int(ctx.policy.unprotectable_after_minutes * 60_000)


def _what(s: SymbolState) -> str:
    side = "long" if s.side is Side.LONG else "short"
    return f"{s.symbol} {side} {s.qty}"


def _quarantine_alert(s: SymbolState, ctx: Context) -> str:
    p = ctx.policy
    return (f"{s.symbol} QUARANTINED and UNPROTECTED: {_what(s)} has no resting stop "
            f"({s.quarantine_reason or s.last_error}). The stop keeps being placed; after "
            f"{p.unprotectable_after_minutes:g} min: on_unprotectable={p.on_unprotectable}")


def _overdue_alert(s: SymbolState, ctx: Context, since: int) -> str:
    p = ctx.policy
    then = ("closing it at market" if p.on_unprotectable == "close"
            and s.state is State.QUARANTINED else "still placing its stop")
    return (f"{s.symbol} UNPROTECTED for {(ctx.now_ms - since) / 60_000:.1f} min "
            f"(protection.unprotectable_after_minutes={p.unprotectable_after_minutes:g}, "
            f"on_unprotectable={p.on_unprotectable}): {_what(s)}, {then}")


# --------------------------------------------------------------------------- the quarantine


def stop_failed(s: SymbolState, err: str, info: dict[str, Any], failures: int,
                ctx: Context) -> Step:
    """The stop's placement failed for good (HALT) or MAX_STOP_FAILURES times in a row."""
    if not s.unprotected:
        # A stop rests (a move or resize failed): the operator decides, nothing is sent.
        return quarantine(s.replace(pending_stop=None), err, info)
    step = quarantine(s, err, info)
    held = step.state.replace(extra={**step.state.extra, RELEASE_ON_STOP: True})
    return dataclasses.replace(step, state=held,
                               retry_after_ms=attempt_delay_ms(s, ctx, failures))


def stop_failed_while_quarantined(s: SymbolState, info: dict[str, Any], failures: int,
                                  ctx: Context) -> Step:
    """A placement failed while QUARANTINED: the next attempt if no stop rests."""
    if not s.unprotected:
        return Step(s.replace(pending_stop=None), "stop_failed_while_quarantined", info)
    return Step(s, "stop_retry_scheduled", info,
                retry_after_ms=attempt_delay_ms(s, ctx, failures))


def attempt_delay_ms(s: SymbolState, ctx: Context, failures: int) -> int:
    """The capped backoff before the next attempt; with `on_unprotectable: close`, never past
    the moment the limit is reached, so the close comes when the policy says."""
    delay = backoff_ms(failures)
    if ctx.policy.on_unprotectable != "close":
        return delay
    since = ctx.now_ms if s.unprotected_since_ms is None else s.unprotected_since_ms
    return max(1, min(delay, since + limit_ms(ctx) - ctx.now_ms))


def _retry_while_quarantined(s: SymbolState, op: Any, ctx: Context) -> Step | None:
    """A retry timer while QUARANTINED: nothing is sent unless the position has no resting
    stop; then the attempt in flight goes on (its placement, or its lookup), or a new one
    starts, and past unprotectable_after_minutes `on_unprotectable: close` closes it."""
    if not s.unprotected:
        return None
    since = s.unprotected_since_ms if s.unprotected_since_ms is not None else ctx.now_ms
    if (ctx.policy.on_unprotectable == "close" and s.close_order is None
            and ctx.now_ms - since >= limit_ms(ctx)):
        new, close = close_at_market(s, ctx, f"unprotectable-{s.order_counter + 1}")
        return Step(new, "unprotectable_close",
                    payload(client_id=close.client_id, qty=s.qty,
                            unprotected_ms=ctx.now_ms - since), requests=(close,),
                    alert=_overdue_alert(s, ctx, since))
    p = s.pending_stop
    if p is None:
        new, ops = protect(s, ctx)
        return Step(new.replace(state=State.QUARANTINED), "protection_retry",
                    payload(client_id=new.pending_stop.client_id if new.pending_stop else None,
                            attempt=s.stop_failures + 1), requests=tuple(ops))
    if isinstance(op, LookupOrder) and op.client_id == p.client_id:
        return Step(s, "retry", payload(op="LookupOrder", client_id=op.client_id),
                    requests=(op,), persist=False)
    if isinstance(op, PlaceStop) and op.client_id == p.client_id:
        new, again = place_stop(s, ctx, again_at(s, ctx), client_id=p.client_id)
        return Step(new, "protection_retry",
                    payload(client_id=p.client_id, qty=new.qty, attempt=s.stop_failures + 1),
                    requests=(again,))
    return None  # a timer of another operation: the attempt under way has its own


def again_at(s: SymbolState, ctx: Context) -> Decimal:
    """Trigger of a re-sent pending stop: its own, unless the position changed meanwhile."""
    p = s.pending_stop
    assert p is not None
    if p.qty == s.qty or p.trigger_price is None:
        return p.trigger_price or resize_trigger(s, ctx, None)
    return resize_trigger(s, ctx, p.trigger_price)


def _attempt_op(s: SymbolState, ctx: Context) -> PlaceStop | None:
    """The RETRY payload that continues the pending stop's attempt (None: start a new one)."""
    if s.pending_stop is None or s.side is None or ctx.rules is None:
        return None
    return place_stop(s, ctx, again_at(s, ctx), client_id=s.pending_stop.client_id)[1]


# --------------------------------------------------------------------------- the sweep


def _stop_check(s: SymbolState, chk: StopCheck, ctx: Context) -> Step | None:
    """The sweep's read of our stops: reconcile if it shows a difference that is real."""
    if s.state not in CHECKED_STATES or s.orders_changed_ms >= chk.fetched_ms:
        return None  # something is in flight, or the read predates our last change
    found = differences(s, chk)
    if s.state is State.QUARANTINED:
        # The operator decides about extra stops; a position left uncovered cannot wait.
        found = [(kind, text) for kind, text in found if kind != "extra"]
    if not found:
        return None
    failures = 0 if s.state is State.QUARANTINED else s.stop_failures
    extra = {**s.extra, "dirty": False, "refetches": 0}
    return Step(s.replace(state=State.RECONCILING, extra=extra, quarantine_reason=None,
                          stop_failures=failures),
                "reconcile_started",
                payload(reason="sweep: stops differ", was=s.state.value,
                        differs=[text for _, text in found]), refetch=True)


def differences(s: SymbolState, chk: StopCheck) -> list[tuple[str, str]]:
    """(kind, what) for each way the exchange differs: position, missing, size, extra."""
    mine = s.qty if s.side is Side.LONG else -s.qty if s.side is Side.SHORT else Decimal(0)
    found: list[tuple[str, str]] = []
    if chk.amount != mine:
        found.append(("position", f"position {chk.amount} on the exchange, {mine} here"))
    resting = {o.client_id: o for o in chk.stops}
    for stop in (s.stop, s.trailing):
        if stop is None:
            continue
        o = resting.get(stop.client_id)
        if o is None:
            found.append(("missing", f"stop {stop.algo_id} ({stop.client_id}) is not on the "
                                     f"exchange"))
        elif not o.close_position and o.qty != s.qty:
            found.append(("size", f"stop {stop.algo_id} ({stop.client_id}) covers {o.qty} "
                                  f"of {s.qty}"))
    known = {o.client_id for o in (s.stop, s.pending_stop, s.trailing, s.pending_trailing,
                                   *s.cancelling) if o is not None}
    for cid, o in resting.items():
        if cid not in known:
            found.append(("extra", f"stop {o.order_id} ({cid}) rests and is not wanted"))
    return found
