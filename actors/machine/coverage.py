"""Coverage: does a resting stop of ours cover the position, and what happens when none does.

Pure functions (no I/O): `track` is called by symbol_machine.handle after every handler;
the quarantine's handlers (actors/machine/timers.py, commands.py) and the stop's refusal
(actors/machine/slot.py) use the rest.

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
- The periodic sweep's stop check (`differences`; its rows are in actors/machine/commands.py):
  our stops on the exchange, read account-wide by the supervisor, against this actor's own
  state. A stop of ours missing, extra or of the
  wrong size (or a position that differs) starts a reconcile, which repairs it
  (actors/machine/reconcile.py). The actor decides, not the supervisor: only it knows what is in
  flight, and `orders_changed_ms` tells it when the read is too old to judge by.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from actors.machine.core import Context, Step, attempt_delay_ms, limit_ms
from actors.machine.slot import again_at, place_stop
from actors.machine.trailing import claim_rows
from actors.messages import PlaceStop, StopCheck, StopPurpose
from actors.protection import Side
from actors.symbol_state import State, SymbolState

QUARANTINE_ALERTED, OVERDUE_ALERTED = 1, 2
"""Bits of `unprotected_alerts`."""


# --------------------------------------------------------------------------- every transition


def track(before: SymbolState, step: Step, ctx: Context) -> Step:
    """`step` with the protection facts of its new state brought up to date (see module)."""
    s = step.state
    changes: dict[str, Any] = {}
    if _orders(before) != _orders(s):
        changes["orders_changed_ms"] = ctx.now_ms
    if s.state is not State.QUARANTINED and s.release_on_stop:
        changes["release_on_stop"] = False
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
            alert, alerts = alert or overdue_alert(s, ctx, since), alerts | OVERDUE_ALERTED
        changes.update(unprotected_since_ms=since, unprotected_alerts=alerts)
    if not changes and (alert, retry_after, retry_op) == (step.alert, step.retry_after_ms,
                                                          step.retry_op):
        return step
    return dataclasses.replace(step, state=s.replace(**changes) if changes else s, alert=alert,
                               retry_after_ms=retry_after, retry_op=retry_op)


def _orders(s: SymbolState) -> tuple[Any, ...]:
    return (s.state, s.side, s.qty, s.stop, s.pending_stop, s.trailing, s.pending_trailing,
            s.cancelling, s.amending)


def _healthy(s: SymbolState) -> bool:
    """PROTECTED with nothing failing or left to tidy up."""
    return (s.state is State.PROTECTED and s.stop_failures == 0 and not s.op_failures
            and s.pending_stop is None and s.amending is None and not s.cancelling)


def _what(s: SymbolState) -> str:
    side = "long" if s.side is Side.LONG else "short"
    return f"{s.symbol} {side} {s.qty}"


def _quarantine_alert(s: SymbolState, ctx: Context) -> str:
    p = ctx.policy
    return (f"{s.symbol} QUARANTINED and UNPROTECTED: {_what(s)} has no resting stop "
            f"({s.quarantine_reason or s.last_error}). The stop keeps being placed; after "
            f"{p.unprotectable_after_minutes:g} min: on_unprotectable={p.on_unprotectable}")


def overdue_alert(s: SymbolState, ctx: Context, since: int) -> str:
    p = ctx.policy
    then = ("closing it at market" if p.on_unprotectable == "close"
            and s.state is State.QUARANTINED else "still placing its stop")
    return (f"{s.symbol} UNPROTECTED for {(ctx.now_ms - since) / 60_000:.1f} min "
            f"(protection.unprotectable_after_minutes={p.unprotectable_after_minutes:g}, "
            f"on_unprotectable={p.on_unprotectable}): {_what(s)}, {then}")


def _attempt_op(s: SymbolState, ctx: Context) -> PlaceStop | None:
    """The RETRY payload that continues the pending stop's attempt (None: start a new one)."""
    if s.pending_stop is None or s.side is None or ctx.rules is None:
        return None
    return place_stop(s, ctx, again_at(s, ctx), purpose=StopPurpose.AGAIN,
                      client_id=s.pending_stop.client_id)[1]


# --------------------------------------------------------------------------- the sweep


def differences(s: SymbolState, chk: StopCheck, ctx: Context | None = None
                ) -> list[tuple[str, str]]:
    """(kind, what) for each way the exchange differs: position, missing, size, extra
    (`ctx`: an attached trailing stop without client id is matched as ours, trailing.claim)."""
    mine = s.qty if s.side is Side.LONG else -s.qty if s.side is Side.SHORT else Decimal(0)
    found: list[tuple[str, str]] = []
    if chk.amount != mine:
        found.append(("position", f"position {chk.amount} on the exchange, {mine} here"))
    stops = chk.stops
    if ctx is not None:
        stops = tuple(claim_rows(s, stops, ctx))
    # A trailing stop without a client id that is not claimed is someone else's (the sweep
    # hands every one over, actors/sweep.py): not ours to want or cancel.
    resting = {o.client_id: o for o in stops if o.client_id}
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
