"""Unit tests for native trailing (actors/native_trailing.py through the state machine).

In native mode the fixed reduce-only STOP_MARKET rests at the initial stop as the hard floor and
an exchange TRAILING_STOP_MARKET rests beside it; posguard places, watches and restores it.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from actors.messages import (
    CancelStop,
    ClosePosition,
    FailureKind,
    LookupOrder,
    OpenPosition,
    PlaceMarket,
    PlaceStop,
)
from actors.protection import Side, initial_trail_state
from actors.symbol_machine import TABLE, Trigger, handle
from actors.symbol_state import PendingOrder, State, StopOrder, SymbolState, from_dict, to_dict
from tests.fakes.machine import (
    RULES,
    SYMBOL,
    TIMEOUT,
    WOULD_TRIGGER,
    Driver,
    accept,
    algo_update,
    ctx,
    failure,
    filled,
    mark,
    only,
    order_update,
    policy,
    position,
    reply,
)

D = Decimal
QTY = D("0.010")
ENTRY = D("60000")
TRAILING = "TRAILING_STOP_MARKET"
STOP_ID = "pg-7-BTCUSDT-sl-2"
TR_ID = "pg-7-BTCUSDT-tr-3"
NATIVE = policy(mode="native")


def nctx():
    return ctx(pol=NATIVE)


def trailing_order(cid: str = TR_ID, algo_id: str | None = "4000000002",
                   qty: Decimal = QTY) -> StopOrder:
    return StopOrder(cid, algo_id, None, qty, TRAILING, D("0.5"), D("60600"))


def native_protected(**kw) -> SymbolState:
    """PROTECTED in native mode: the fixed stop and the trailing order both rest."""
    s = SymbolState(SYMBOL, State.PROTECTED, Side.LONG, QTY, ENTRY,
                    trail=initial_trail_state(Side.LONG, ENTRY, NATIVE, RULES), order_counter=3,
                    stop=StopOrder(STOP_ID, "4000000001", D("58800"), QTY, "STOP_MARKET"),
                    trailing=trailing_order())
    return s.replace(**kw)


def trailing_ops(step) -> list[PlaceStop]:
    return [r for r in step.requests if isinstance(r, PlaceStop) and r.order_type == TRAILING]


def fixed_ops(step) -> list[PlaceStop]:
    return [r for r in step.requests if isinstance(r, PlaceStop) and r.order_type != TRAILING]


def _open_and_protect(d: Driver, side: str = "long") -> tuple[PlaceStop, PlaceStop]:
    """FLAT -> PROTECTED in native mode; returns (fixed stop op, trailing op), both accepted."""
    op = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, side, QTY, "cmd-1")), PlaceMarket)
    step = d.apply(Trigger.MARKET_REPLY, filled(op, avg="60000"))
    (stop,), (trail,) = fixed_ops(step), trailing_ops(step)
    d.apply(Trigger.STOP_REPLY, accept(stop, algo_id="4000000001"))
    d.apply(Trigger.TRAILING_REPLY, accept(trail, algo_id="4000000002"))
    return stop, trail


def _filled_with_trailing_in_flight(d: Driver) -> PlaceStop:
    op = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", QTY, "cmd-1")), PlaceMarket)
    step = d.apply(Trigger.MARKET_REPLY, filled(op, avg="60000"))
    d.apply(Trigger.STOP_REPLY, accept(fixed_ops(step)[0], algo_id="4000000001"))
    return trailing_ops(step)[0]


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
    _open_and_protect(d)
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
    _open_and_protect(d)
    for price in ("60700", "61500", "62500"):
        step = d.apply(Trigger.MARK, mark(price))
        assert step.requests == () and step.persist is False
    assert d.s.stop.trigger_price == D("58800") and d.s.state is State.PROTECTED


def test_trailing_accepted_through_the_stream_first_then_its_rest_reply_changes_nothing():
    d = Driver(pol=NATIVE)
    trail = _filled_with_trailing_in_flight(d)
    step = d.apply(Trigger.ALGO, algo_update(trail.client_id, "NEW", algo_id="77",
                                             order_type=TRAILING))
    assert step.kind == "trailing_placed" and step.state.trailing.algo_id == "77"
    assert d.apply(Trigger.TRAILING_REPLY, accept(trail, algo_id="77")) is None


# --------------------------------------------------------------------------- reply failures


def test_unknown_outcome_looks_the_trailing_order_up_and_never_places_a_second_one():
    d = Driver(pol=NATIVE)
    trail = _filled_with_trailing_in_flight(d)
    look = only(d.apply(Trigger.TRAILING_REPLY, reply(trail, fail=TIMEOUT)), LookupOrder)
    assert (look.client_id, look.algo) == (trail.client_id, True)
    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, accept(trail, algo_id="55").result))
    assert step.kind == "trailing_placed" and step.state.trailing.algo_id == "55"
    assert len([r for r in d.requests if isinstance(r, PlaceStop)
                and r.order_type == TRAILING]) == 1


def test_lookup_not_found_places_the_trailing_order_again_under_the_same_client_id():
    d = Driver(pol=NATIVE)
    trail = _filled_with_trailing_in_flight(d)
    counter = d.s.order_counter
    look = only(d.apply(Trigger.TRAILING_REPLY, reply(trail, fail=TIMEOUT)), LookupOrder)
    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, None))
    assert step.kind == "trailing_placed_again" and only(step, PlaceStop) == trail
    assert step.state.order_counter == counter


def test_lookup_found_triggered_lets_the_exchange_decide():
    d = Driver(pol=NATIVE)
    trail = _filled_with_trailing_in_flight(d)
    look = only(d.apply(Trigger.TRAILING_REPLY, reply(trail, fail=TIMEOUT)), LookupOrder)
    finished = dataclasses.replace(accept(trail).result, status="FINISHED")
    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, finished))
    assert step.kind == "trailing_unresolved" and step.state.state is State.RECONCILING
    assert step.refetch and step.state.pending_trailing is None


def test_2021_on_activate_price_places_the_same_order_activated_at_the_current_price():
    # Arrange: the market already passed activatePrice when the order reached the exchange
    d = Driver(pol=NATIVE)
    trail = _filled_with_trailing_in_flight(d)
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
    trail = _filled_with_trailing_in_flight(d)
    again = only(d.apply(Trigger.TRAILING_REPLY, reply(trail, fail=WOULD_TRIGGER)), PlaceStop)
    step = d.apply(Trigger.TRAILING_REPLY, reply(again, fail=WOULD_TRIGGER))
    assert step.kind == "trailing_rejected" and step.state.state is State.RECONCILING


def test_rejected_trailing_order_reconciles_and_keeps_the_fixed_stop():
    d = Driver(pol=NATIVE)
    trail = _filled_with_trailing_in_flight(d)
    step = d.apply(Trigger.TRAILING_REPLY,
                   reply(trail, fail=failure(FailureKind.REJECTED, -2022)))
    assert step.kind == "trailing_rejected" and step.refetch
    assert step.state.stop is not None and not any(isinstance(r, CancelStop)
                                                   for r in step.requests)


def test_temporary_failures_retry_the_same_order_then_quarantine_at_the_cap():
    d = Driver(pol=NATIVE)
    trail = _filled_with_trailing_in_flight(d)
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
    trail = _filled_with_trailing_in_flight(d)
    step = d.apply(Trigger.TRAILING_REPLY, reply(trail, fail=failure(FailureKind.HALT, -2015)))
    assert step.state.state is State.QUARANTINED and step.requests == ()
    assert step.state.stop.algo_id == "4000000001"


def test_trailing_retry_after_the_position_grew_is_resized_under_the_same_client_id():
    d = Driver(pol=NATIVE)
    trail = _filled_with_trailing_in_flight(d)
    d.apply(Trigger.TRAILING_REPLY, reply(trail, fail=failure(FailureKind.TEMPORARY, -1001)))
    d.apply(Trigger.POSITION, position("0.020"))
    step = d.apply(Trigger.RETRY, trail)
    again = [r for r in step.requests if r.client_id == trail.client_id][0]
    assert again.qty == D("0.020") and step.persist


# --------------------------------------------------------------------------- stream events


def test_trailing_fill_goes_flat_and_cancels_only_the_fixed_stop():
    d = Driver(pol=NATIVE)
    stop, trail = _open_and_protect(d)
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
    stop, trail = _open_and_protect(d)
    step = d.apply(Trigger.ORDER, order_update(stop.client_id))
    assert step.kind == "stop_filled" and only(step, CancelStop).client_id == trail.client_id


def test_trailing_finished_without_its_fill_events_reconciles():
    d = Driver(pol=NATIVE)
    _, trail = _open_and_protect(d)
    step = d.apply(Trigger.ALGO, algo_update(trail.client_id, "FINISHED",
                                             order_type=TRAILING))
    assert step.kind == "trailing_finished" and step.state.state is State.RECONCILING
    assert step.refetch


@pytest.mark.parametrize("status", ["CANCELED", "EXPIRED", "REJECTED"])
def test_trailing_order_lost_on_the_exchange_is_placed_again(status):
    d = Driver(pol=NATIVE)
    _, trail = _open_and_protect(d)
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
    stop, trail = _open_and_protect(d)
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
    trail = _filled_with_trailing_in_flight(d)
    d.apply(Trigger.POSITION, position("0.020"))
    step = d.apply(Trigger.TRAILING_REPLY, accept(trail))
    again = [r for r in trailing_ops(step)]
    assert len(again) == 1 and again[0].qty == D("0.020")
    assert step.state.trailing.client_id == trail.client_id


def test_close_cancels_both_orders_after_the_close_fills():
    d = Driver(pol=NATIVE)
    stop, trail = _open_and_protect(d)
    close = only(d.apply(Trigger.CLOSE, ClosePosition(SYMBOL, command_id="cmd-c")), PlaceMarket)
    step = d.apply(Trigger.MARKET_REPLY, filled(close, avg="60100"))
    assert step.state.state is State.FLAT
    assert {c.client_id for c in step.requests} == {stop.client_id, trail.client_id}


def test_position_closed_while_the_trailing_order_is_in_flight_cancels_it_when_accepted():
    d = Driver(pol=NATIVE)
    trail = _filled_with_trailing_in_flight(d)
    step = d.apply(Trigger.POSITION, position("0", "0"))
    assert step.state.state is State.FLAT and step.state.pending_trailing is None
    step = d.apply(Trigger.TRAILING_REPLY, accept(trail, algo_id="81"))
    cancel = only(step, CancelStop)
    assert (cancel.client_id, cancel.algo_id) == (trail.client_id, "81")
    assert step.kind == "stale_stop_cancelled"


# --------------------------------------------------------------------------- table rows


STATE_WITH_TRAILING_IN_FLIGHT = {
    State.FLAT: lambda: SymbolState(SYMBOL),
    State.OPENING: lambda: SymbolState(SYMBOL, State.OPENING, order_counter=1, open_order=
                                       PendingOrder("pg-7-BTCUSDT-op-1", "c", "BUY", QTY)),
    State.OPEN_UNPROTECTED: lambda: native_protected(
        state=State.OPEN_UNPROTECTED, stop=None, trailing=None,
        pending_stop=StopOrder(STOP_ID, None, D("58800"), QTY, "STOP_MARKET"),
        pending_trailing=trailing_order(algo_id=None)),
    State.PROTECTED: lambda: native_protected(trailing=None,
                                              pending_trailing=trailing_order(algo_id=None)),
    State.MOVING_STOP: lambda: native_protected(
        state=State.MOVING_STOP, trailing=None, pending_trailing=trailing_order(algo_id=None),
        pending_stop=StopOrder("pg-7-BTCUSDT-sl-4", None, D("58800"), QTY, "STOP_MARKET")),
    State.CLOSING: lambda: native_protected(
        state=State.CLOSING, trailing=None, pending_trailing=trailing_order(algo_id=None),
        close_order=PendingOrder("pg-7-BTCUSDT-cl-4", "c", "SELL", QTY)),
    State.RECONCILING: lambda: native_protected(state=State.RECONCILING, trailing=None,
                                                pending_trailing=trailing_order(algo_id=None)),
    State.QUARANTINED: lambda: native_protected(state=State.QUARANTINED, trailing=None,
                                                pending_trailing=trailing_order(algo_id=None)),
}
EXPECTED_KIND = {
    State.FLAT: "stale_stop_cancelled", State.OPENING: "stale_stop_cancelled",
    State.OPEN_UNPROTECTED: "trailing_placed", State.PROTECTED: "trailing_placed",
    State.MOVING_STOP: "trailing_placed", State.CLOSING: "stale_stop_cancelled",
    State.RECONCILING: "event_during_reconcile",
    State.QUARANTINED: "trailing_placed_while_quarantined",
}


def test_trailing_reply_is_legal_in_every_state():
    assert set(TABLE[Trigger.TRAILING_REPLY]) == set(State)


@pytest.mark.parametrize("state", list(State), ids=lambda v: v.name)
def test_every_trailing_reply_row(state):
    # Arrange: a trailing placement in flight (or, FLAT / OPENING, one we no longer track)
    s = STATE_WITH_TRAILING_IN_FLIGHT[state]()
    op = PlaceStop(SYMBOL, "SELL", QTY, TR_ID, TRAILING, None, "MARK_PRICE", D("0.5"),
                   D("60600"))
    # Act
    step = handle(s, Trigger.TRAILING_REPLY, accept(op, algo_id="4000000009"), nctx())
    # Assert
    assert step.kind == EXPECTED_KIND[state]
    assert step.state.state is state
    cancels = [r for r in step.requests if isinstance(r, CancelStop)]
    if EXPECTED_KIND[state] == "stale_stop_cancelled":
        assert [(c.client_id, c.algo_id) for c in cancels] == [(TR_ID, "4000000009")]
    else:
        assert cancels == [] and not any(isinstance(r, PlaceStop) for r in step.requests)
    if EXPECTED_KIND[state].startswith("trailing_placed"):
        assert step.state.trailing.algo_id == "4000000009"
    assert from_dict(to_dict(step.state)) == step.state


def test_retry_row_while_quarantined_sends_nothing():
    s = native_protected(state=State.QUARANTINED, cancelling=(trailing_order("pg-7-X-tr-1"),))
    op = CancelStop(SYMBOL, "4000000002", "pg-7-X-tr-1")
    assert TABLE[Trigger.RETRY][State.QUARANTINED] == "_retry_while_quarantined"
    assert handle(s, Trigger.RETRY, op, nctx()) is None
    assert handle(s.replace(state=State.PROTECTED), Trigger.RETRY, op, nctx()).requests == (op,)


# --------------------------------------------------------------------------- snapshot


def test_snapshot_round_trip_keeps_the_trailing_orders_and_failure_counts():
    s = native_protected(pending_trailing=trailing_order("pg-7-BTCUSDT-tr-5", None),
                         op_failures={"cancel:pg-7-BTCUSDT-sl-1": 2},
                         cancelling=(trailing_order("pg-7-BTCUSDT-tr-1"),))
    back = from_dict(to_dict(s))
    assert back == s
    assert back.trailing.callback_rate_pct == D("0.5") and back.trailing.activate_price == \
        D("60600")


def test_snapshot_written_before_native_trailing_loads_with_defaults():
    # Arrange: a schema-1 snapshot as it was stored before these fields existed
    d = to_dict(native_protected(trailing=None))
    for key in ("trailing", "pending_trailing", "op_failures"):
        del d[key]
    for key in ("callback_rate_pct", "activate_price"):
        del d["stop"][key]
    # Act
    s = from_dict(d)
    # Assert
    assert s.trailing is None and s.pending_trailing is None and s.op_failures == {}
    assert s.stop == StopOrder(STOP_ID, "4000000001", D("58800"), QTY, "STOP_MARKET")
    assert s == native_protected(trailing=None)


def test_a_trailing_placement_in_flight_keeps_a_flat_symbol_live():
    s = SymbolState(SYMBOL, pending_trailing=trailing_order(algo_id=None))
    assert s.live and not SymbolState(SYMBOL).live
