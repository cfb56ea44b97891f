"""Native trailing (actors/machine/trailing.py through the state machine): placing the
exchange's trailing order beside the fixed stop, and what each failed placement leads to.
"""

from __future__ import annotations

import dataclasses

import pytest

from actors.messages import (
    CancelStop,
    FailureKind,
    LookupOrder,
    OpenPosition,
    PlaceMarket,
    PlaceStop,
)
from actors.symbol_machine import Trigger
from actors.symbol_state import State
from tests.fakes.native import (
    D,
    QTY,
    TRAILING,
    STOP_ID,
    NATIVE,
    trailing_ops,
    fixed_ops,
    open_native_and_protect,
    filled_with_trailing_in_flight,
)
from tests.fakes.machine import (
    SYMBOL,
    TIMEOUT,
    WOULD_TRIGGER,
    Driver,
    accept,
    algo_update,
    failure,
    filled,
    mark,
    only,
    position,
    reply,
)


# --------------------------------------------------------------------------- placement


@pytest.mark.parametrize(("side", "close_side", "stop_at", "activate_at"), [
    ("long", "SELL", D("58800"), D("60600")),
    ("short", "BUY", D("61200"), D("59400")),
])
def test_open_fill_places_the_fixed_stop_and_an_exchange_trailing_stop(side, close_side,
                                                                       stop_at, activate_at):
    d = Driver(pol=NATIVE)
    op = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, side, QTY, "cmd-1")), PlaceMarket)

    step = d.apply(Trigger.MARKET_REPLY, filled(op, avg="60000"))

    (stop,), (trail,) = fixed_ops(step), trailing_ops(step)
    assert (stop.side, stop.qty, stop.trigger_price) == (close_side, QTY, stop_at)
    assert (trail.side, trail.qty, trail.trigger_price) == (close_side, QTY, None)
    assert (trail.callback_rate_pct, trail.activate_price) == (D("0.5"), activate_at)
    assert trail.client_id == "pg-7-BTCUSDT-tr-3" and stop.client_id == STOP_ID
    assert step.state.state is State.OPEN_UNPROTECTED
    assert step.state.pending_trailing.client_id == trail.client_id


def test_both_accepted_is_protected_with_both_orders_tracked():
    d = Driver(pol=NATIVE)
    open_native_and_protect(d)
    assert d.s.state is State.PROTECTED
    assert d.s.stop.algo_id == "4000000001" and d.s.trailing.algo_id == "4000000002"
    assert d.s.pending_trailing is None and d.kinds[-1] == "trailing_placed"


def test_trailing_accepted_before_the_fixed_stop_keeps_waiting_for_the_fixed_stop():
    d = Driver(pol=NATIVE)
    op = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", QTY, "cmd-1")), PlaceMarket)
    step = d.apply(Trigger.MARKET_REPLY, filled(op))
    step = d.apply(Trigger.TRAILING_REPLY, accept(trailing_ops(step)[0]))
    assert step.state.state is State.OPEN_UNPROTECTED and step.state.trailing is not None


def test_marks_past_activation_never_move_anything_in_native_mode():
    d = Driver(pol=NATIVE)
    open_native_and_protect(d)
    for price in ("60700", "61500", "62500"):
        step = d.apply(Trigger.MARK, mark(price))
        assert step.requests == () and step.persist is False
    assert d.s.stop.trigger_price == D("58800") and d.s.state is State.PROTECTED


def test_trailing_accepted_through_the_stream_first_then_its_rest_reply_changes_nothing():
    d = Driver(pol=NATIVE)
    trail = filled_with_trailing_in_flight(d)
    step = d.apply(Trigger.ALGO, algo_update(trail.client_id, "NEW", algo_id="77",
                                             order_type=TRAILING))
    assert step.kind == "trailing_placed" and step.state.trailing.algo_id == "77"
    assert d.apply(Trigger.TRAILING_REPLY, accept(trail, algo_id="77")) is None


# --------------------------------------------------------------------------- reply failures


def test_unknown_outcome_looks_the_trailing_order_up_and_never_places_a_second_one():
    d = Driver(pol=NATIVE)
    trail = filled_with_trailing_in_flight(d)
    look = only(d.apply(Trigger.TRAILING_REPLY, reply(trail, fail=TIMEOUT)), LookupOrder)
    assert (look.client_id, look.algo) == (trail.client_id, True)
    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, accept(trail, algo_id="55").result))
    assert step.kind == "trailing_placed" and step.state.trailing.algo_id == "55"
    assert len([r for r in d.requests if isinstance(r, PlaceStop)
                and r.order_type == TRAILING]) == 1


def test_lookup_not_found_places_the_trailing_order_again_under_the_same_client_id():
    d = Driver(pol=NATIVE)
    trail = filled_with_trailing_in_flight(d)
    counter = d.s.order_counter
    look = only(d.apply(Trigger.TRAILING_REPLY, reply(trail, fail=TIMEOUT)), LookupOrder)
    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, None))
    assert step.kind == "trailing_placed_again" and only(step, PlaceStop) == trail
    assert step.state.order_counter == counter


def test_lookup_found_triggered_lets_the_exchange_decide():
    d = Driver(pol=NATIVE)
    trail = filled_with_trailing_in_flight(d)
    look = only(d.apply(Trigger.TRAILING_REPLY, reply(trail, fail=TIMEOUT)), LookupOrder)
    finished = dataclasses.replace(accept(trail).result, status="FINISHED")
    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, finished))
    assert step.kind == "trailing_unresolved" and step.state.state is State.RECONCILING
    assert step.refetch and step.state.pending_trailing is None


def test_2021_on_activate_price_places_the_same_order_activated_at_the_current_price():
    # Arrange: the market already passed activatePrice when the order reached the exchange
    d = Driver(pol=NATIVE)
    trail = filled_with_trailing_in_flight(d)
    # Act
    step = d.apply(Trigger.TRAILING_REPLY, reply(trail, fail=WOULD_TRIGGER))
    # Assert: same client id, same callback, no activatePrice; nothing closes the position
    again = only(step, PlaceStop)
    assert step.kind == "trailing_activate_now"
    assert (again.client_id, again.callback_rate_pct, again.activate_price, again.qty) == (
        trail.client_id, trail.callback_rate_pct, None, QTY)
    assert not any(isinstance(r, PlaceMarket) for r in step.requests)
    step = d.apply(Trigger.TRAILING_REPLY, accept(again, algo_id="66"))
    assert step.state.trailing.activate_price is None and step.state.state is State.PROTECTED


def test_2021_without_activate_price_is_a_rejection_that_reconciles():
    d = Driver(pol=NATIVE)
    trail = filled_with_trailing_in_flight(d)
    again = only(d.apply(Trigger.TRAILING_REPLY, reply(trail, fail=WOULD_TRIGGER)), PlaceStop)
    step = d.apply(Trigger.TRAILING_REPLY, reply(again, fail=WOULD_TRIGGER))
    assert step.kind == "trailing_rejected" and step.state.state is State.RECONCILING


def test_rejected_trailing_order_reconciles_and_keeps_the_fixed_stop():
    d = Driver(pol=NATIVE)
    trail = filled_with_trailing_in_flight(d)
    step = d.apply(Trigger.TRAILING_REPLY,
                   reply(trail, fail=failure(FailureKind.REJECTED, -2022)))
    assert step.kind == "trailing_rejected" and step.refetch
    assert step.state.stop is not None and not any(isinstance(r, CancelStop)
                                                   for r in step.requests)


def test_temporary_failures_retry_the_same_order_then_quarantine_at_the_cap():
    d = Driver(pol=NATIVE)
    trail = filled_with_trailing_in_flight(d)
    step = d.apply(Trigger.TRAILING_REPLY,
                   reply(trail, fail=failure(FailureKind.TEMPORARY, -1001)))
    assert step.kind == "trailing_retry_scheduled" and step.retry_after_ms
    assert only(d.apply(Trigger.RETRY, trail), PlaceStop) == trail
    d.apply(Trigger.TRAILING_REPLY, reply(trail, fail=failure(FailureKind.TEMPORARY, -1001)))
    step = d.apply(Trigger.TRAILING_REPLY,
                   reply(trail, fail=failure(FailureKind.TEMPORARY, -1001)))
    assert step.state.state is State.QUARANTINED and "3 times" in step.state.quarantine_reason
    assert step.state.stop is not None  # the fixed stop stays on the exchange


def test_halt_on_trailing_placement_quarantines_at_once_leaving_the_fixed_stop():
    d = Driver(pol=NATIVE)
    trail = filled_with_trailing_in_flight(d)
    step = d.apply(Trigger.TRAILING_REPLY, reply(trail, fail=failure(FailureKind.HALT, -2015)))
    assert step.state.state is State.QUARANTINED and step.requests == ()
    assert step.state.stop.algo_id == "4000000001"


def test_trailing_retry_after_the_position_grew_is_resized_under_the_same_client_id():
    d = Driver(pol=NATIVE)
    trail = filled_with_trailing_in_flight(d)
    d.apply(Trigger.TRAILING_REPLY, reply(trail, fail=failure(FailureKind.TEMPORARY, -1001)))
    d.apply(Trigger.POSITION, position("0.020"))
    step = d.apply(Trigger.RETRY, trail)
    again = [r for r in step.requests if r.client_id == trail.client_id][0]
    assert again.qty == D("0.020") and step.persist

