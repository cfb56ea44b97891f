"""Native trailing (`protection.trailing.mode: native`): the exchange's TRAILING_STOP_MARKET.

posguard only places, watches and restores it; it never moves it. The fixed reduce-only
STOP_MARKET at the initial stop stays in place beside it as the hard floor, so the trailing
order's lifecycle runs alongside the state machine's states instead of through them: the
resting order is `SymbolState.trailing`, a placement in flight `SymbolState.pending_trailing`.
A resize (the position changed) places the new order first and cancels the old one only after
the exchange accepted the new one, like the fixed stop.

Pure functions called by the handlers in actors/symbol_handlers.py (and actors/reconcile.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from actors import client_ids
from actors.messages import AlgoUpdate, ExchangeFailure, FailureKind, OrderInfo, PlaceStop
from actors.protection import closing_order_side
from actors.symbol_machine import (
    MAX_STOP_FAILURES,
    TRAILING,
    Context,
    Step,
    cancel_ops,
    lookup,
    native,
    on_tick,
    payload,
    place_trailing,
    retry_or_quarantine,
    succeeded,
)
from actors.symbol_state import State, StopOrder, SymbolState

# Where a trailing order may be (re-)placed on our own initiative: a known position that is
# not being closed and not waiting for the operator.
_PLACING_STATES = (State.OPEN_UNPROTECTED, State.PROTECTED, State.MOVING_STOP)


def tracks(s: SymbolState, client_id: str) -> bool:
    """True if `client_id` is our resting or in-flight trailing order."""
    return any(o is not None and o.client_id == client_id
               for o in (s.trailing, s.pending_trailing))


def _place_key(client_id: str) -> str:
    return f"place:{client_id}"


# --------------------------------------------------------------------------- replies


def on_reply(s: SymbolState, r: Any, ctx: Context) -> Step:
    """The REST reply to the trailing placement in flight (`s.pending_trailing`)."""
    op = r.op
    assert isinstance(op, PlaceStop) and s.pending_trailing is not None
    if r.failure is None:
        assert isinstance(r.result, OrderInfo)
        return accepted(s, r.result.order_id, ctx, "rest")
    return _failed(s, r.failure, op, ctx)


def accepted(s: SymbolState, algo_id: str, ctx: Context, source: str) -> Step:
    """The exchange accepted our trailing order (REST reply, stream or lookup)."""
    p = s.pending_trailing
    assert p is not None
    placed = dataclasses.replace(p, algo_id=algo_id)
    info = payload(client_id=p.client_id, algo_id=algo_id, qty=p.qty,
                   callback_rate=p.callback_rate_pct, activate=p.activate_price, source=source)
    s = succeeded(s.replace(pending_trailing=None), _place_key(p.client_id))
    if not s.has_position or s.state in (State.FLAT, State.CLOSING):
        # The position closed (or is closing) while it was in flight (I-4): remove it.
        new, cancels = cancel_ops(s, [placed])
        return Step(new, "stale_stop_cancelled", info, requests=tuple(cancels))
    if s.state is State.QUARANTINED:
        # It rests and protects: track it, send nothing; the operator's release reconciles.
        return Step(s.replace(trailing=placed), "trailing_placed_while_quarantined", info)
    old, new = s.trailing, s.replace(trailing=placed)
    ops: list[Any] = []
    kind = "trailing_placed"
    if old is not None and old.client_id != placed.client_id:
        new, ops = cancel_ops(new, [old])  # new first, then the old one (a resize)
        kind = "trailing_resized"
    if placed.qty != new.qty:
        new, op = place_trailing(new, ctx)  # the position changed while it was in flight
        ops.append(op)
    return Step(new, kind, info, requests=tuple(ops))


def _failed(s: SymbolState, f: ExchangeFailure, op: PlaceStop, ctx: Context) -> Step:
    p = s.pending_trailing
    assert p is not None
    info = payload(client_id=op.client_id, kind=f.kind.value, code=f.code, error=f.message)
    err = f"trailing {op.client_id}: {f.message}"
    if f.kind is FailureKind.UNKNOWN_OUTCOME:
        # It may rest: look it up by its client id, never place a second one blindly.
        return Step(s.replace(last_error=err), "trailing_outcome_unknown", info,
                    requests=(lookup(s.symbol, op.client_id, algo=True),))
    if f.kind is FailureKind.WOULD_TRIGGER and p.activate_price is not None:
        # -2021 on a trailing order means the market has already passed activatePrice (a SELL
        # must activate above the market, a BUY below). The position is then at least
        # activation_pct in profit, so trailing is due now: send the same order without
        # activatePrice, which Binance activates at the current price (the stop starts
        # callbackRate behind it). Same client id: the refused order does not exist.
        new, op = place_trailing(s.replace(last_error=err), ctx,
                                 again=dataclasses.replace(p, activate_price=None))
        return Step(new, "trailing_activate_now", info, requests=(op,))
    if f.kind in (FailureKind.REJECTED, FailureKind.WOULD_TRIGGER):
        # Refused as is (e.g. -2022: nothing left to reduce): the exchange's truth decides.
        return recheck(s.replace(pending_trailing=None, last_error=err), "trailing_rejected",
                       info)
    return retry_or_quarantine(s, _place_key(op.client_id), f, f"trailing {op.client_id}",
                               "trailing_retry_scheduled", info, cap=MAX_STOP_FAILURES)


def on_lookup(s: SymbolState, info: OrderInfo | None, ctx: Context) -> Step:
    """The lookup of our in-flight trailing order after an unknown outcome."""
    p = s.pending_trailing
    assert p is not None
    if info is not None and info.status == "NEW":
        return accepted(s, info.order_id, ctx, "lookup")
    if info is None and s.state in _PLACING_STATES:
        new, op = place_trailing(s, ctx, again=p)
        return Step(new, "trailing_placed_again", payload(client_id=p.client_id),
                    requests=(op,))
    # Found but no longer resting (triggered, cancelled, expired), or nothing to place now.
    return recheck(s.replace(pending_trailing=None), "trailing_unresolved",
                   payload(client_id=p.client_id, status=info.status if info else None))


def recheck(s: SymbolState, kind: str, info: dict[str, Any]) -> Step:
    """Fetch the exchange's truth, unless the operator (QUARANTINED) or a close decides."""
    if s.state in (State.QUARANTINED, State.CLOSING, State.FLAT):
        return Step(s, kind, info)
    return Step(s.replace(state=State.RECONCILING), kind, info, refetch=True)


# --------------------------------------------------------------------------- stream


def on_algo(s: SymbolState, ev: AlgoUpdate, ctx: Context) -> Step | None:
    """ALGO_UPDATE for our trailing order (resting or in flight)."""
    p = s.pending_trailing
    if p is not None and ev.client_id == p.client_id:
        return accepted(s, ev.algo_id, ctx, "stream") if ev.status == "NEW" else None
    t = s.trailing
    assert t is not None and ev.client_id == t.client_id
    info = payload(status=ev.status, client_id=ev.client_id, reason=ev.reject_reason or None)
    if ev.status in ("TRIGGERING", "TRIGGERED"):
        return Step(s, "trailing_triggered", info)
    if ev.status == "FINISHED":
        # It filled. Its ORDER_TRADE_UPDATE fill (or the ACCOUNT_UPDATE) normally arrives
        # first and ends the position (stop_filled / position_closed); if we still see a
        # position, those events were lost: let the exchange say what is left.
        return recheck(s.replace(trailing=None), "trailing_finished", info)
    if ev.status in ("CANCELED", "EXPIRED", "REJECTED"):
        # Not cancelled by us (we move an order to `cancelling` before cancelling it).
        lost = s.replace(trailing=None, last_error=f"trailing {ev.client_id} {ev.status}")
        if s.state in _PLACING_STATES and s.pending_trailing is None:
            new, op = place_trailing(lost, ctx)
            return Step(new, "trailing_lost", info, requests=(op,))
        return Step(lost, "trailing_lost", info)
    return None


def resize(s: SymbolState, ctx: Context) -> tuple[SymbolState, list[Any]]:
    """The position size changed: place a trailing order for the new size (new first)."""
    t = s.trailing
    if (not native(ctx) or t is None or s.pending_trailing is not None or t.qty == s.qty
            or s.state not in _PLACING_STATES):
        return s, []  # an order in flight is re-sized when it is accepted
    s, op = place_trailing(s, ctx)
    return s, [op]


# --------------------------------------------------------------------------- reconcile


def is_trailing_order(o: OrderInfo) -> bool:
    """True for a trailing order of ours (by the purpose in its client id)."""
    parsed = client_ids.parse(o.client_id)
    return parsed is not None and parsed.purpose is client_ids.Purpose.TRAILING


def _as_trailing(o: OrderInfo, ctx: Context) -> StopOrder:
    # The exchange pads prices (151.5000 for 151.50): keep the tick's decimals, so a restart
    # shows the activatePrice it placed.
    activate = None if o.activate_price is None else on_tick(o.activate_price, ctx.rules)
    return StopOrder(o.client_id, o.order_id, None, o.qty, TRAILING, o.callback_rate_pct,
                     activate)


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


def _pick(before: SymbolState, found: list[OrderInfo], closing_side: str) -> OrderInfo | None:
    """The trailing order to keep: the newest we know of, else the newest of ours."""
    usable = [o for o in found if o.side == closing_side and o.order_type == TRAILING]
    for wanted in (before.pending_trailing, before.trailing):
        if wanted is not None:
            match = next((o for o in usable if o.client_id == wanted.client_id), None)
            if match is not None:
                return match
    if not usable:
        return None
    return max(usable, key=lambda o: client_ids.parse(o.client_id).n)  # type: ignore[union-attr]


def reconcile(step: Step, before: SymbolState, found: list[OrderInfo], ctx: Context) -> Step:
    """After the fixed stop is reconciled: keep one trailing order of ours that matches the
    position (native mode), restore it if missing, resize it new-first if its size is wrong;
    cancel every other trailing order of ours (all of them in the other modes)."""
    s = step.state
    keep = None
    if native(ctx) and s.side is not None:
        keep = _pick(before, found, closing_order_side(s.side))
    extras = [_as_trailing(o, ctx) for o in found if o is not keep]
    kept = None if keep is None else _with_known_params(_as_trailing(keep, ctx), before)
    s, ops = cancel_ops(s.replace(trailing=kept), extras)
    action = "kept" if keep is not None else None
    if native(ctx) and s.has_position and (keep is None or keep.qty != s.qty):
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
