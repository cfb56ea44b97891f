"""The fixed reduce-only stop: where its life differs from the trailing order's.

It carries the managed trail (a move is a replacement placed new-first, and the trail only
counts the move once the new stop rests), it is what a quarantine over an unplaceable stop
waits for, and its refusals are counted: MAX_STOP_FAILURES in a row quarantine the symbol,
while a position with no resting stop keeps being protected (actors/machine/coverage.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from actors.machine.core import (
    MAX_STOP_FAILURES,
    Context,
    Step,
    attempt_delay_ms,
    backoff_ms,
    close_at_market,
    payload,
    quarantine,
)
from actors.machine.reprice import reprice
from actors.machine.slot import Slot, again_at, place_stop, protect, resize_trigger
from actors.messages import (
    AlgoUpdate,
    ExchangeFailure,
    ExchangeReply,
    FailureKind,
    PlaceStop,
    StopPurpose,
)
from actors.protection import accept_move
from actors.symbol_state import State, StopOrder, SymbolState
from venue.vocab import OrderKind, OrderStatus

TRIGGERED = (OrderStatus.TRIGGERING, OrderStatus.TRIGGERED, OrderStatus.FINISHED)
GONE = (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED)


class StopSlot(Slot):
    """`SymbolState.stop` / `pending_stop`."""

    name = "stop"
    kind = OrderKind.STOP
    resting_field = "stop"
    pending_field = "pending_stop"

    def _stale_info(self, info: dict[str, Any]) -> dict[str, Any]:
        return {"client_id": info["client_id"]}

    def _ends_quarantine(self, s: SymbolState) -> bool:
        return s.release_on_stop

    def _rests(self, s: SymbolState, placed: StopOrder, ctx: Context) -> tuple[SymbolState, str]:
        old = s.stop
        new = s.replace(stop=placed, state=State.PROTECTED, stop_failures=0,
                        quarantine_reason=None)
        kind = "stop_placed"
        trail = new.trail
        # A resize before trailing activates is priced from the entry, not moved by the trail.
        repriced = old is not None and old.qty != placed.qty and not (trail and trail.active)
        if old is not None and old.client_id != placed.client_id:
            moved = old.trigger_price != placed.trigger_price and not repriced
            kind = "stop_moved" if moved else "stop_resized"
            if trail is not None and placed.trigger_price is not None and moved:
                new = new.replace(trail=accept_move(trail, placed.trigger_price, ctx.now_ms))
        if kind != "stop_moved" and trail is not None and placed.trigger_price is not None \
                and trail.stop_price != placed.trigger_price:
            new = new.replace(trail=dataclasses.replace(trail, stop_price=placed.trigger_price))
        return new, kind

    def _again_for_size(self, s: SymbolState, placed: StopOrder, ctx: Context
                        ) -> tuple[SymbolState, Any]:
        # `placed` rests now: re-sized in place where the venue amends, else new-first.
        return reprice(s, ctx, resize_trigger(s, ctx, placed.trigger_price),
                       purpose=StopPurpose.RESIZE)

    def _failure_info(self, op: PlaceStop, f: ExchangeFailure) -> dict[str, Any]:
        return payload(client_id=op.client_id, kind=f.kind.value, code=f.code, error=f.message,
                       http_status=f.http_status, retry_after_ms=f.retry_after_ms)

    def _refused(self, s: SymbolState, f: ExchangeFailure, op: PlaceStop,
                 info: dict[str, Any], err: str, ctx: Context, quarantined: bool) -> Step:
        # -2021 is its own trigger (STOP_WOULD_TRIGGER, `would_trigger`): never counted.
        assert f.kind is not FailureKind.WOULD_TRIGGER
        failures = s.stop_failures + 1
        s = s.replace(stop_failures=failures, last_error=err)
        if quarantined:
            return _failed_while_quarantined(s, info, failures, ctx)
        if f.kind is FailureKind.HALT or failures >= MAX_STOP_FAILURES:
            return _failed_for_good(s, err, info, failures, ctx)
        if f.kind is FailureKind.TEMPORARY:
            return Step(s, "stop_retry_scheduled", info, retry_after_ms=backoff_ms(failures))
        return Step(s.replace(state=State.RECONCILING, pending_stop=None), "stop_rejected",
                    info, refetch=True)

    def _again(self, s: SymbolState, p: StopOrder, ctx: Context
               ) -> tuple[SymbolState, PlaceStop]:
        return place_stop(s, ctx, again_at(s, ctx), purpose=StopPurpose.AGAIN,
                          client_id=p.client_id)

    def _unresolved(self, s: SymbolState, info: dict[str, Any]) -> Step:
        return Step(s.replace(state=State.RECONCILING), "stop_unresolved", info, refetch=True)


STOP = StopSlot()


def would_trigger(s: SymbolState, r: ExchangeReply, ctx: Context, *, moving: bool) -> Step:
    """-2021: the price is already past the stop we tried to place. The position closes at
    market, unless `moving` (a move's new stop: the old one still rests) and the policy says
    keep it (protection.on_stop_would_trigger)."""
    info, err = STOP.failure_info(r)
    cleared = s.replace(pending_stop=None, last_error=err)
    if moving and ctx.policy.on_stop_would_trigger == "keep":
        return Step(cleared.replace(state=State.PROTECTED), "stop_move_skipped", info)
    if not cleared.has_position:
        return Step(cleared.replace(state=State.FLAT), "stop_not_needed", info)
    new, op = close_at_market(cleared, ctx, f"would-trigger-{s.order_counter + 1}")
    return Step(new, "stop_would_trigger_close", info, requests=(op,))


def _failed_for_good(s: SymbolState, err: str, info: dict[str, Any], failures: int,
                     ctx: Context) -> Step:
    """The placement failed for good (HALT) or MAX_STOP_FAILURES times in a row."""
    if not s.unprotected:
        # A stop rests (a move or resize failed): the operator decides, nothing is sent.
        return quarantine(s.replace(pending_stop=None), err, info)
    step = quarantine(s, err, info)
    return dataclasses.replace(step, state=step.state.replace(release_on_stop=True),
                               retry_after_ms=attempt_delay_ms(s, ctx, failures))


def _failed_while_quarantined(s: SymbolState, info: dict[str, Any], failures: int,
                              ctx: Context) -> Step:
    """A placement failed while QUARANTINED: the next attempt if no stop rests."""
    if not s.unprotected:
        return Step(s.replace(pending_stop=None), "stop_failed_while_quarantined", info)
    return Step(s, "stop_retry_scheduled", info,
                retry_after_ms=attempt_delay_ms(s, ctx, failures))


def resting_stop_event(s: SymbolState, ev: AlgoUpdate, ctx: Context, *,
                       replace_lost: bool) -> Step | None:
    """ALGO_UPDATE for our resting stop: it triggered, or it is gone without us cancelling
    it (we move a stop to `cancelling` first); `replace_lost`: place a new one at once (not
    while a replacement is already in flight, MOVING_STOP)."""
    assert s.stop is not None
    if ev.status in TRIGGERED:
        return Step(s, "stop_triggered", payload(status=ev.status, client_id=ev.client_id))
    if ev.status in GONE and s.has_position:
        lost = s.replace(stop=None, last_error=f"stop {ev.client_id} {ev.status} on exchange")
        if s.amending is not None and s.amending.client_id == s.stop.client_id:
            # Its amend can only answer for an order that is gone now: settled here, so the
            # replacement below is the one re-pricing in flight (a late answer is stale).
            lost = lost.replace(amending=None)
        if not replace_lost:
            return Step(lost, "stop_lost", payload(status=ev.status))
        new, ops = protect(lost, ctx, StopPurpose.RESTORE)
        return Step(new, "stop_lost", payload(status=ev.status), requests=tuple(ops))
    return None
