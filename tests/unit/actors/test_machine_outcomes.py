"""Unknown outcomes and failed placements (looked up by client id, retried, quarantined), the
commands' ids, and stops of ours reported after the position is gone.
"""

from __future__ import annotations

from decimal import Decimal


from actors.messages import (
    CancelStop,
    ClosePosition,
    FailureKind,
    LookupOrder,
    OpenPosition,
    PlaceMarket,
    PlaceStop,
)
from actors.symbol_machine import Trigger
from actors.symbol_state import State, from_dict, to_dict
from tests.fakes.states import QTY, OPEN_ID, open_and_protect
from tests.fakes.machine import (
    SYMBOL,
    TIMEOUT,
    Driver,
    accept,
    algo_update,
    failure,
    only,
    position,
    reply,
    stop_in_flight,
    stop_info,
)

D = Decimal


# --------------------------------------------------------------------------- unknown outcome


def test_stop_timeout_looks_the_stop_up_by_its_client_id():
    d, stop = stop_in_flight()
    step = d.apply(Trigger.STOP_REPLY, reply(stop, fail=TIMEOUT))
    look = only(step, LookupOrder)
    assert (look.client_id, look.algo) == (stop.client_id, True)
    assert step.kind == "stop_outcome_unknown" and step.state.state is State.OPEN_UNPROTECTED


def test_stop_lookup_found_new_protects_without_placing_again():
    d, stop = stop_in_flight()
    look = only(d.apply(Trigger.STOP_REPLY, reply(stop, fail=TIMEOUT)), LookupOrder)
    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, stop_info(stop.client_id, "58800",
                                                               algo_id="777")))
    assert step.state.state is State.PROTECTED and step.state.stop.algo_id == "777"
    assert len([r for r in d.requests if isinstance(r, PlaceStop)]) == 1


def test_stop_lookup_not_found_places_again_under_the_same_client_id():
    d, stop = stop_in_flight()
    look = only(d.apply(Trigger.STOP_REPLY, reply(stop, fail=TIMEOUT)), LookupOrder)
    counter = d.s.order_counter
    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, None))
    again = only(step, PlaceStop)
    assert step.kind == "stop_placed_again"
    assert again == stop and step.state.order_counter == counter


def test_open_timeout_then_lookup_not_found_returns_to_flat():
    d = Driver()
    op = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", QTY, "cmd-1")), PlaceMarket)
    look = only(d.apply(Trigger.MARKET_REPLY, reply(op, fail=TIMEOUT)), LookupOrder)
    assert (look.client_id, look.algo) == (OPEN_ID, False)
    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, None))
    assert step.state.state is State.FLAT and step.kind == "open_not_placed"


def test_temporary_stop_failure_schedules_a_retry_that_resends_the_same_stop():
    d, stop = stop_in_flight()
    step = d.apply(Trigger.STOP_REPLY, reply(stop, fail=failure(FailureKind.TEMPORARY, -1001)))
    assert step.retry_after_ms is not None and step.requests == ()
    step = d.apply(Trigger.RETRY, stop)
    assert only(step, PlaceStop) == stop


def test_stop_retry_after_the_position_changed_places_the_stop_for_the_new_size():
    # Arrange: a resize to 0.020 fails temporarily, then the position goes back to 0.010
    d = Driver()
    open_and_protect(d)
    resize = only(d.apply(Trigger.POSITION, position("0.020", "60123.45")), PlaceStop)
    d.apply(Trigger.STOP_REPLY, reply(resize, fail=failure(FailureKind.TEMPORARY, -1001)))
    d.apply(Trigger.POSITION, position("0.010", "60123.45"))
    # Act: the retry timer fires with the original operation
    step = d.apply(Trigger.RETRY, resize)
    # Assert: same client id, but sized for the position as it is now
    again = only(step, PlaceStop)
    assert (again.client_id, again.qty, again.side) == (resize.client_id, QTY, "SELL")
    assert step.persist and step.state.pending_stop.qty == QTY


def test_third_stop_failure_quarantines_the_symbol():
    d, stop = stop_in_flight()
    for _ in range(3):
        step = d.apply(Trigger.STOP_REPLY, reply(stop, fail=failure(FailureKind.TEMPORARY)))
    assert step.state.state is State.QUARANTINED and step.kind == "quarantined"


# --------------------------------------------------------------------------- commands


def test_open_command_id_is_remembered_and_survives_the_snapshot_codec():
    step = Driver().apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", QTY, "cmd-42"))
    assert "cmd-42" in step.state.command_ids
    assert "cmd-42" in from_dict(to_dict(step.state)).command_ids


def test_rejected_open_still_remembers_its_command_id():
    step = Driver().apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", D("0.0001"), "cmd-43"))
    assert step.kind == "command_rejected" and step.outcome[0] == "rejected"
    assert step.state.state is State.FLAT and step.requests == ()
    assert "cmd-43" in from_dict(to_dict(step.state)).command_ids


def test_close_command_sends_a_reduce_only_market_order_and_remembers_its_id():
    d = Driver()
    open_and_protect(d)
    step = d.apply(Trigger.CLOSE, ClosePosition(SYMBOL, command_id="cmd-close"))
    close = only(step, PlaceMarket)
    assert step.state.state is State.CLOSING and close.reduce_only and close.side == "SELL"
    assert "cmd-close" in from_dict(to_dict(step.state)).command_ids


# --------------------------------------------------------------------------- known bug


def test_stop_accepted_during_reconcile_after_a_side_flip_keeps_reconciling():
    # Arrange: long opened, its stop in flight; the stream reports a SHORT (side flip)
    d, stop = stop_in_flight()
    assert d.apply(Trigger.POSITION, position("-0.010")).state.state is State.RECONCILING
    # Act: the old long's SELL stop is accepted while the fetch is in flight
    step = d.apply(Trigger.STOP_REPLY, accept(stop))
    # Assert: the reconcile must finish before the actor trusts its side again
    assert step.state.state is State.RECONCILING


def test_a_stop_of_ours_reported_new_after_the_position_closed_is_cancelled_at_once():
    # Arrange: flat, nothing tracked
    d = Driver()
    # Act: the stream reports one of our stops resting (accepted after the close)
    step = d.apply(Trigger.ALGO, algo_update("pg-7-BTCUSDT-sl-9", "NEW", algo_id="4000000077"))
    # Assert: it is cancelled by its algo id, not left resting
    cancel = only(step, CancelStop)
    assert (cancel.algo_id, cancel.client_id) == ("4000000077", "pg-7-BTCUSDT-sl-9")
    assert step.kind == "stale_stop_cancelled"


def test_a_foreign_stop_reported_new_is_left_alone():
    d = Driver()

    step = d.apply(Trigger.ALGO, algo_update("my-own-manual-stop", "NEW"))

    assert step is None
