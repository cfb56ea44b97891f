"""Stop moves in place (actors/machine/amend.py) on a venue that amends (AMEND_CAPS, as
Bybit): every outcome of an AmendStop, driven through the real table
(symbol_machine.handle). Binance (amend_in_place False) keeps new-first: the last tests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.machine import amend
from actors.messages import ClosePosition, FailureKind, FetchSymbol, OrderInfo
from actors.symbol import _REPLY_TRIGGERS
from actors.symbol_machine import TABLE, Trigger
from actors.symbol_state import State, StopAmend, from_dict, to_dict
from tests.fakes.machine import (
    AMEND_CAPS,
    SYMBOL,
    TIMEOUT,
    WOULD_TRIGGER,
    AmendStop,
    CancelStop,
    Driver,
    LookupOrder,
    PlaceMarket,
    PlaceStop,
    algo_update,
    amended,
    failure,
    mark,
    only,
    order_update,
    policy,
    position,
    reply,
    snapshot,
    stop_info,
)
from tests.fakes.states import STOP_ID, open_and_protect

D = Decimal
OLD, NEW = D("58920.9"), D("60695.0")
"""The stop after the open (long from 60123.45) and where a mark of 61000 moves it."""
NOT_RESTING = failure(FailureKind.NOT_FOUND, 110001, "order not exists or too late to replace")


def amend_in_flight(pol=None) -> tuple[Driver, AmendStop]:
    """Protected long on an amend venue; a mark of 61000 moved the trail: the stop's amend
    to 60695 is in flight."""
    d = Driver(venue=AMEND_CAPS, **({} if pol is None else {"pol": pol}))
    open_and_protect(d)
    step = d.apply(Trigger.MARK, mark("61000"))
    return d, only(step, AmendStop)


def assert_old_stop_rests(d: Driver) -> None:
    stop = d.s.stop
    assert stop is not None and stop.client_id == STOP_ID and stop.algo_id == "4000000001"
    assert stop.trigger_price == OLD and stop.qty == D("0.010")


# --------------------------------------------------------------------------- the request


def test_a_trail_move_on_an_amend_venue_is_one_amend_of_the_resting_stop():
    # Arrange / Act
    d, op = amend_in_flight()
    step = d.steps[-1]
    # Assert: one request, the resting stop's ids, the new trigger, the size kept
    assert step.requests == (op,) and step.kind == "stop_move_requested"
    assert op == AmendStop(SYMBOL, "4000000001", STOP_ID, NEW, None)
    assert d.s.state is State.MOVING_STOP and d.s.pending_stop is None
    assert d.s.amending == StopAmend(STOP_ID, NEW, D("0.010"))
    assert_old_stop_rests(d)
    assert not d.s.unprotected
    assert from_dict(to_dict(d.s)) == d.s


def test_the_shell_sends_an_amend_reply_as_its_own_trigger():
    assert _REPLY_TRIGGERS[AmendStop] is Trigger.AMEND_REPLY


def test_marks_while_the_amend_is_in_flight_send_nothing():
    # Arrange
    d, _ = amend_in_flight()
    # Act
    step = d.apply(Trigger.MARK, mark("61500"))
    # Assert: one move in flight: the trail follows, nothing is sent
    assert step.requests == () and d.s.amending == StopAmend(STOP_ID, NEW, D("0.010"))
    assert d.s.trail.peak == D("61500")


# --------------------------------------------------------------------------- accepted


def test_an_accepted_amend_moves_the_stop_in_place_with_no_cancel():
    # Arrange
    d, op = amend_in_flight()
    # Act
    step = d.apply(Trigger.AMEND_REPLY, amended(op))
    # Assert: same order, new trigger, the trail counts the move; nothing to cancel
    assert TABLE[(State.MOVING_STOP, Trigger.AMEND_ACCEPTED)].handler is amend.amended
    assert step.kind == "stop_amended" and step.requests == ()
    assert d.s.state is State.PROTECTED and d.s.amending is None
    assert d.s.stop.client_id == STOP_ID and d.s.stop.trigger_price == NEW
    assert d.s.trail.stop_price == NEW and d.s.trail.moves == 1
    assert step.payload["old"] == str(OLD) and step.payload["source"] == "rest"


def test_the_streams_new_at_the_amended_trigger_is_the_acceptance_and_the_late_reply_is_stale():
    # Arrange
    d, op = amend_in_flight()
    # Act: Bybit's order topic reports the stop Untriggered at the new trigger first
    step = d.apply(Trigger.ALGO, algo_update(STOP_ID, "NEW", trigger=str(NEW)))
    late = d.apply(Trigger.AMEND_REPLY, amended(op))
    # Assert
    assert step.kind == "stop_amended" and step.payload["source"] == "stream"
    assert d.s.state is State.PROTECTED and d.s.stop.trigger_price == NEW
    assert late is None and d.s.trail.moves == 1


def test_the_streams_new_at_the_old_trigger_settles_nothing():
    d, _ = amend_in_flight()
    step = d.apply(Trigger.ALGO, algo_update(STOP_ID, "NEW", trigger=str(OLD)))
    assert step is None and d.s.state is State.MOVING_STOP and d.s.amending is not None


def test_a_trail_that_went_on_during_the_amend_is_amended_again_at_once():
    # Arrange: the price went on to 62000 while the amend was in flight (no move interval)
    d, op = amend_in_flight(policy(min_update_interval_ms=0))
    d.apply(Trigger.MARK, mark("62000"))
    # Act
    step = d.apply(Trigger.AMEND_REPLY, amended(op))
    # Assert: the next amend, at the LATEST target, straight away
    again = only(step, AmendStop)
    assert again.client_id == STOP_ID and again.trigger_price == D("61690.0")
    assert d.s.state is State.MOVING_STOP and d.s.stop.trigger_price == NEW
    assert d.s.amending.trigger_price == D("61690.0")


def test_a_stale_answer_to_an_earlier_amend_of_the_same_stop_changes_nothing():
    # Arrange: a second amend (61690) is in flight
    d, first = amend_in_flight(policy(min_update_interval_ms=0))
    d.apply(Trigger.MARK, mark("62000"))
    d.apply(Trigger.AMEND_REPLY, amended(first))
    before = d.s
    # Act: another answer to the first amend (same client id, its own target)
    step = d.apply(Trigger.AMEND_REPLY, reply(first, fail=TIMEOUT))
    # Assert
    assert step is None and d.s == before


# --------------------------------------------------------------------------- not resting


def test_an_amend_refused_as_not_resting_reconciles_and_places_nothing():
    # Arrange
    d, op = amend_in_flight()
    # Act
    step = d.apply(Trigger.AMEND_REPLY, reply(op, fail=NOT_RESTING))
    # Assert: the exchange's truth first (the position may have closed, I-4)
    assert step.kind == "stop_amend_not_resting" and step.refetch and step.requests == ()
    assert d.s.state is State.RECONCILING and d.s.amending is None
    assert_old_stop_rests(d)  # kept until the truth says otherwise: no false ALERT


def test_an_amend_that_raced_the_stops_fill_reconciles_to_flat_not_a_new_stop():
    # Arrange: the stop triggered and filled while its amend was on the way
    d, op = amend_in_flight()
    # Act: the venue refuses the amend (too late), then the reconcile reads a flat position
    refused = d.apply(Trigger.AMEND_REPLY, reply(op, fail=NOT_RESTING))
    step = d.apply(Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL), snapshot("0", "0")))
    # Assert: flat, and no stop is placed or amended for a position that is gone
    assert d.s.state is State.FLAT and step.kind == "closed_while_away"
    assert refused.requests == () and step.requests == ()


def test_a_fill_that_arrives_before_the_amends_refusal_goes_flat_and_the_refusal_is_stale():
    # Arrange
    d, op = amend_in_flight()
    # Act: the stream's fill of the stop, then the amend's refusal
    filled = d.apply(Trigger.ORDER, order_update(STOP_ID, pnl="-12"))
    late = d.apply(Trigger.AMEND_REPLY, reply(op, fail=NOT_RESTING))
    # Assert: flat at once; the refusal changes nothing, nothing is placed or cancelled
    assert filled.kind == "stop_filled" and d.s.state is State.FLAT and d.s.amending is None
    assert filled.requests == () and late is None


def test_a_position_closed_by_the_stream_during_the_amend_goes_flat_and_cancels_the_stop():
    d, op = amend_in_flight()
    step = d.apply(Trigger.POSITION, position("0"))
    assert d.s.state is State.FLAT and d.s.amending is None
    assert only(step, CancelStop).client_id == STOP_ID
    assert d.apply(Trigger.AMEND_REPLY, amended(op)) is None


# --------------------------------------------------------------------------- refused


def test_a_refused_amend_keeps_the_old_stop_and_retries_at_the_latest_target():
    # Arrange
    d, op = amend_in_flight()
    # Act: refused (rate limit); the price goes on; the retry timer fires
    step = d.apply(Trigger.AMEND_REPLY, reply(op, fail=failure(FailureKind.TEMPORARY, 10006)))
    kept = d.s
    d.apply(Trigger.MARK, mark("62000"))  # PROTECTED: the next tick moves again...
    d2, op2 = amend_in_flight()
    d2.apply(Trigger.AMEND_REPLY, reply(op2, fail=failure(FailureKind.TEMPORARY, 10006)))
    retried = d2.apply(Trigger.RETRY, op2)  # ...or the retry timer does, whichever is first
    # Assert
    assert step.kind == "stop_amend_refused" and step.retry_after_ms == 100
    assert kept.state is State.PROTECTED and kept.amending is None and kept.stop_failures == 1
    assert kept.stop.trigger_price == OLD and not kept.unprotected
    assert only(d.steps[-1], AmendStop).trigger_price == D("61690.0")
    assert only(retried, AmendStop).trigger_price == NEW and d2.s.state is State.MOVING_STOP


def test_a_retry_that_finds_the_move_already_made_sends_nothing():
    d, op = amend_in_flight()
    d.apply(Trigger.AMEND_REPLY, reply(op, fail=failure(FailureKind.TEMPORARY, 10006)))
    d.apply(Trigger.MARK, mark("61000"))  # the next tick amended again
    assert d.s.state is State.MOVING_STOP
    assert d.apply(Trigger.RETRY, op) is None


@pytest.mark.parametrize("kind", [FailureKind.TEMPORARY, FailureKind.REJECTED])
def test_refused_amends_three_times_in_a_row_quarantine_with_the_stop_resting(kind):
    # Arrange
    d, op = amend_in_flight()
    # Act
    for _ in range(3):
        step = d.apply(Trigger.AMEND_REPLY, reply(op, fail=failure(kind, 10001)))
        if d.s.state is State.PROTECTED:
            op = only(d.apply(Trigger.RETRY, op), AmendStop)
    # Assert: the operator decides; the stop still rests, nothing is sent
    assert step.kind == "quarantined" and d.s.state is State.QUARANTINED
    assert step.requests == () and d.s.amending is None
    assert_old_stop_rests(d)
    assert not d.s.unprotected


def test_an_amend_refused_for_good_quarantines_at_once_with_the_stop_resting():
    d, op = amend_in_flight()
    step = d.apply(Trigger.AMEND_REPLY, reply(op, fail=failure(FailureKind.HALT, 10003)))
    assert step.kind == "quarantined" and d.s.state is State.QUARANTINED
    assert_old_stop_rests(d)


def test_an_amend_that_would_trigger_keeps_the_old_stop_when_the_policy_says_keep():
    d, op = amend_in_flight(policy(on_stop_would_trigger="keep"))
    step = d.apply(Trigger.AMEND_REPLY, reply(op, fail=WOULD_TRIGGER))
    assert step.kind == "stop_move_skipped" and d.s.state is State.PROTECTED
    assert_old_stop_rests(d)


def test_an_amend_that_would_trigger_closes_at_market_by_default():
    d, op = amend_in_flight()
    step = d.apply(Trigger.AMEND_REPLY, reply(op, fail=WOULD_TRIGGER))
    close = only(step, PlaceMarket)
    assert step.kind == "stop_would_trigger_close" and d.s.state is State.CLOSING
    assert close.reduce_only and close.qty == D("0.010")
    assert_old_stop_rests(d)  # until the close fills


# --------------------------------------------------------------------------- unknown outcome


def lookup_sent() -> tuple[Driver, AmendStop, LookupOrder]:
    d, op = amend_in_flight()
    step = d.apply(Trigger.AMEND_REPLY, reply(op, fail=TIMEOUT))
    return d, op, only(step, LookupOrder)


def _found(look: LookupOrder, info: OrderInfo | None):
    return reply(look, info)


def test_an_amend_with_no_answer_is_looked_up_by_the_stops_client_id():
    d, _, look = lookup_sent()
    assert look == LookupOrder(SYMBOL, STOP_ID, True)
    assert d.steps[-1].kind == "stop_amend_outcome_unknown"
    assert d.s.state is State.MOVING_STOP and d.s.amending.looking_up
    assert_old_stop_rests(d)


def test_a_lookup_that_finds_the_new_trigger_settles_the_amend_as_accepted():
    d, _, look = lookup_sent()
    step = d.apply(Trigger.LOOKUP_REPLY, _found(look, stop_info(STOP_ID, str(NEW))))
    assert step.kind == "stop_amended" and step.payload["source"] == "lookup"
    assert d.s.state is State.PROTECTED and d.s.stop.trigger_price == NEW


def test_a_lookup_that_finds_the_old_trigger_keeps_it_and_tries_again():
    d, op, look = lookup_sent()
    step = d.apply(Trigger.LOOKUP_REPLY, _found(look, stop_info(STOP_ID, str(OLD))))
    assert step.kind == "stop_amend_not_applied" and step.retry_after_ms is not None
    assert d.s.state is State.PROTECTED and d.s.amending is None
    assert_old_stop_rests(d)
    retried = d.apply(Trigger.RETRY, step.retry_op)
    assert only(retried, AmendStop).trigger_price == NEW


@pytest.mark.parametrize("found", [None, stop_info(STOP_ID, str(OLD), status="FINISHED"),
                                   stop_info(STOP_ID, "59999.9")])
def test_a_lookup_that_finds_the_stop_gone_or_elsewhere_reconciles(found):
    d, _, look = lookup_sent()
    step = d.apply(Trigger.LOOKUP_REPLY, _found(look, found))
    assert step.kind == "stop_amend_settled" and step.refetch and step.requests == ()
    assert d.s.state is State.RECONCILING and d.s.amending is None


def test_a_failed_lookup_of_the_amend_is_retried():
    d, _, look = lookup_sent()
    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, fail=failure(FailureKind.TEMPORARY)))
    assert step.kind == "lookup_retry_scheduled" and step.retry_after_ms is not None
    retried = d.apply(Trigger.RETRY, look)
    assert retried.requests == (look,)


# --------------------------------------------------------------------------- elsewhere


def test_an_amend_answered_while_closing_only_settles_the_amend():
    # Arrange: the operator closes while the amend is in flight
    d, op = amend_in_flight()
    d.apply(Trigger.CLOSE, ClosePosition(SYMBOL, command_id="cmd-close"))
    assert d.s.state is State.CLOSING
    # Act
    step = d.apply(Trigger.AMEND_REPLY, amended(op))
    # Assert: the stop's trigger is the new one; the close goes on, nothing sent
    assert step.kind == "stop_amended" and step.requests == ()
    assert d.s.state is State.CLOSING and d.s.amending is None
    assert d.s.stop.trigger_price == NEW


def test_a_side_flip_during_the_amend_reconciles_and_the_snapshot_clears_it():
    d, op = amend_in_flight()
    d.apply(Trigger.POSITION, position("-0.010"))
    assert d.s.state is State.RECONCILING
    d.apply(Trigger.AMEND_REPLY, amended(op))  # during the reconcile: fetch again
    assert d.s.reconcile.dirty
    d.apply(Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL), snapshot("-0.010", "60000")))
    d.apply(Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL), snapshot("-0.010", "60000")))
    assert d.s.amending is None and d.s.state is State.OPEN_UNPROTECTED


# --------------------------------------------------------------------------- Binance


def test_binance_keeps_new_first():
    # Arrange / Act: the same move on a venue that does not amend
    d = Driver()
    open_and_protect(d)
    op = only(d.apply(Trigger.MARK, mark("61000")), PlaceStop)
    # Assert: a new stop under a new client id, the old one rests; nothing amended
    assert op.client_id != STOP_ID and op.trigger_price == NEW
    assert d.s.amending is None and d.s.pending_stop is not None
    assert not any(isinstance(r, AmendStop) for r in d.requests)


# --------------------------------------------------------------------------- restart


@pytest.mark.parametrize("landed", [True, False])
def test_a_restart_mid_amend_takes_the_trigger_the_exchange_shows(landed):
    # Arrange: the actor died with the amend in flight; its snapshot is all that is left
    d, _ = amend_in_flight()
    restarted = Driver(s=from_dict(to_dict(d.s)).replace(state=State.RECONCILING),
                       venue=AMEND_CAPS, now_ms=d.now_ms)
    trigger = NEW if landed else OLD
    # Act: the recovery's reconcile reads the one stop at the trigger it has
    step = restarted.apply(Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL), snapshot(
        "0.010", "60123.45", (stop_info(STOP_ID, str(trigger)),))))
    # Assert: the exchange's truth: one stop, kept (nothing placed, amended or cancelled)
    s = restarted.s
    assert step.kind == "reconciled_protected" and step.requests == ()
    assert s.state is State.PROTECTED and s.amending is None
    assert s.stop.client_id == STOP_ID and s.stop.trigger_price == trigger
    assert s.trail.stop_price == trigger
