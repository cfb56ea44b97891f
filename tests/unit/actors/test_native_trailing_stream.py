"""Native trailing: the stream's news of the trailing order (filled, finished, lost, our own
cancel) and resizes and closes, new order first.
"""

from __future__ import annotations


import pytest

from actors.messages import CancelStop, ClosePosition, PlaceMarket, PlaceStop
from actors.symbol_machine import Trigger, handle
from actors.symbol_state import State, StopOrder
from tests.fakes.native import (
    D,
    QTY,
    TRAILING,
    TR_ID,
    NATIVE,
    nctx,
    native_protected,
    trailing_ops,
    fixed_ops,
    open_native_and_protect,
    filled_with_trailing_in_flight,
)
from tests.fakes.machine import (
    SYMBOL,
    Driver,
    accept,
    algo_update,
    filled,
    only,
    order_update,
    position,
)


# --------------------------------------------------------------------------- stream events


def test_trailing_fill_goes_flat_and_cancels_only_the_fixed_stop():
    d = Driver(pol=NATIVE)
    stop, trail = open_native_and_protect(d)
    d.apply(Trigger.ALGO, algo_update(trail.client_id, "TRIGGERED", algo_id="4000000002",
                                      order_type=TRAILING))
    assert d.kinds[-1] == "trailing_triggered" and d.s.state is State.PROTECTED
    step = d.apply(Trigger.ORDER, order_update(trail.client_id, order_type=TRAILING,
                                               avg="60695", pnl="6.95"))
    assert step.kind == "trailing_filled" and step.state.state is State.FLAT
    cancel = only(step, CancelStop)
    assert (cancel.client_id, cancel.algo_id) == (stop.client_id, "4000000001")
    assert step.state.trailing is None and step.state.realized_pnl == D("6.95")
    # the rest of the fill's events change nothing
    assert d.apply(Trigger.POSITION, position("0", "0")) is None
    assert d.apply(Trigger.ALGO, algo_update(trail.client_id, "FINISHED",
                                             order_type=TRAILING)) is None


def test_fixed_stop_fill_cancels_the_trailing_order():
    d = Driver(pol=NATIVE)
    stop, trail = open_native_and_protect(d)
    step = d.apply(Trigger.ORDER, order_update(stop.client_id))
    assert step.kind == "stop_filled" and only(step, CancelStop).client_id == trail.client_id


def test_trailing_finished_without_its_fill_events_reconciles():
    d = Driver(pol=NATIVE)
    _, trail = open_native_and_protect(d)
    step = d.apply(Trigger.ALGO, algo_update(trail.client_id, "FINISHED",
                                             order_type=TRAILING))
    assert step.kind == "trailing_finished" and step.state.state is State.RECONCILING
    assert step.refetch


@pytest.mark.parametrize("status", ["CANCELED", "EXPIRED", "REJECTED"])
def test_trailing_order_lost_on_the_exchange_is_placed_again(status):
    d = Driver(pol=NATIVE)
    _, trail = open_native_and_protect(d)
    step = d.apply(Trigger.ALGO, algo_update(trail.client_id, status, order_type=TRAILING))
    again = only(step, PlaceStop)
    assert step.kind == "trailing_lost" and again.order_type == TRAILING
    assert again.client_id != trail.client_id and again.qty == QTY
    assert step.state.trailing is None and step.state.pending_trailing.client_id == \
        again.client_id


def test_trailing_order_lost_while_closing_is_not_placed_again():
    step = handle(native_protected(state=State.CLOSING), Trigger.ALGO,
                  algo_update(TR_ID, "CANCELED", order_type=TRAILING), nctx())
    assert step.kind == "trailing_lost" and step.requests == ()


def test_our_own_cancel_of_the_trailing_order_is_not_a_loss():
    d = Driver(s=native_protected(), pol=NATIVE)
    d.apply(Trigger.POSITION, position("0", "0"))
    step = d.apply(Trigger.ALGO, algo_update(TR_ID, "CANCELED", order_type=TRAILING))
    assert step.kind == "stop_cancelled" and step.requests == ()


# --------------------------------------------------------------------------- resize, close


def test_position_change_resizes_both_stops_new_first():
    # Arrange
    d = Driver(pol=NATIVE)
    stop, trail = open_native_and_protect(d)
    # Act: the position doubles
    step = d.apply(Trigger.POSITION, position("0.020", "60000"))
    # Assert: both replacements placed, nothing cancelled yet
    (new_stop,), (new_trail,) = fixed_ops(step), trailing_ops(step)
    assert new_stop.qty == new_trail.qty == D("0.020")
    assert new_trail.client_id != trail.client_id
    assert not any(isinstance(r, CancelStop) for r in step.requests)
    assert step.state.trailing.client_id == trail.client_id  # the old one still rests
    # the new trailing order accepted: only now is the old one cancelled
    step = d.apply(Trigger.TRAILING_REPLY, accept(new_trail, algo_id="90"))
    assert step.kind == "trailing_resized" and only(step, CancelStop).client_id == \
        trail.client_id
    step = d.apply(Trigger.STOP_REPLY, accept(new_stop, algo_id="91"))
    assert only(step, CancelStop).client_id == stop.client_id
    assert d.s.state is State.PROTECTED and d.s.trailing.qty == d.s.stop.qty == D("0.020")


def test_position_change_while_the_fixed_stop_is_in_flight_resizes_the_trailing_order():
    d = Driver(s=native_protected(state=State.MOVING_STOP, pending_stop=StopOrder(
        "pg-7-BTCUSDT-sl-4", None, D("58800"), QTY, "STOP_MARKET"), order_counter=4),
        pol=NATIVE)
    step = d.apply(Trigger.POSITION, position("0.005", "60000"))
    assert step.kind == "trailing_resize_requested"
    assert only(step, PlaceStop).qty == D("0.005")


def test_trailing_accepted_after_the_size_changed_is_resized_again():
    d = Driver(pol=NATIVE)
    trail = filled_with_trailing_in_flight(d)
    d.apply(Trigger.POSITION, position("0.020"))
    step = d.apply(Trigger.TRAILING_REPLY, accept(trail))
    again = [r for r in trailing_ops(step)]
    assert len(again) == 1 and again[0].qty == D("0.020")
    assert step.state.trailing.client_id == trail.client_id


def test_close_cancels_both_orders_after_the_close_fills():
    d = Driver(pol=NATIVE)
    stop, trail = open_native_and_protect(d)
    close = only(d.apply(Trigger.CLOSE, ClosePosition(SYMBOL, command_id="cmd-c")), PlaceMarket)
    step = d.apply(Trigger.MARKET_REPLY, filled(close, avg="60100"))
    assert step.state.state is State.FLAT
    assert {c.client_id for c in step.requests} == {stop.client_id, trail.client_id}


def test_position_closed_while_the_trailing_order_is_in_flight_cancels_it_when_accepted():
    d = Driver(pol=NATIVE)
    trail = filled_with_trailing_in_flight(d)
    step = d.apply(Trigger.POSITION, position("0", "0"))
    assert step.state.state is State.FLAT and step.state.pending_trailing is None
    step = d.apply(Trigger.TRAILING_REPLY, accept(trail, algo_id="81"))
    cancel = only(step, CancelStop)
    assert (cancel.client_id, cancel.algo_id) == (trail.client_id, "81")
    assert step.kind == "stale_stop_cancelled"

