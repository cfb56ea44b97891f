"""Amends in place under the order budget and for a changed size (actors/machine/moves.py,
reprice.py, amend.py): the pool's deferral of an amend, the grant, a resize as one amend of
size and trigger, and a size that changes while an amend is in flight. AMEND_CAPS is a
venue that amends (as Bybit)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.messages import (
    ClosePosition,
    FailureKind,
    FetchSymbol,
    MoveDeferred,
    MoveGrant,
    MoveWanted,
    StopPurpose,
)
from actors.symbol_machine import Trigger
from actors.symbol_state import MoveWish, State, StopAmend
from tests.fakes.machine import (
    AMEND_CAPS,
    SYMBOL,
    AmendStop,
    CancelStop,
    Driver,
    PlaceStop,
    algo_update,
    amended,
    failure,
    mark,
    only,
    policy,
    position,
    reply,
    snapshot,
    stop_info,
)
from tests.fakes.states import STOP_ID, open_and_protect, reconciling

D = Decimal
OLD, NEW = D("58920.9"), D("60695.0")


def protected_on_amend_venue(**pol) -> Driver:
    d = Driver(venue=AMEND_CAPS, **({"pol": policy(**pol)} if pol else {}))
    open_and_protect(d)
    return d


# --------------------------------------------------------------------------- the budget


def test_a_deferred_amend_keeps_the_stop_and_wishes_then_the_grant_amends_at_the_latest():
    # Arrange
    d = protected_on_amend_venue()
    op = only(d.apply(Trigger.MARK, mark("61000")), AmendStop)
    assert op.purpose is StopPurpose.MOVE
    # Act: the pool did not send it; the price goes on; the pool grants
    deferred = d.apply(Trigger.MOVE_DEFERRED, MoveDeferred("req-move", op))
    deferred_at = d.now_ms
    waiting = d.s
    d.apply(Trigger.MARK, mark("62000"))
    granted = d.apply(Trigger.MOVE_GRANT, MoveGrant(SYMBOL))
    # Assert: nothing sent while deferred, the old stop rests, the grant's amend is at the
    # target of the LATEST trail
    assert deferred.kind == "stop_move_deferred" and deferred.requests == ()
    assert deferred.payload["amend"] is True
    assert waiting.state is State.PROTECTED and waiting.amending is None
    assert waiting.move_wish == MoveWish(deferred_at)
    assert waiting.stop.trigger_price == OLD and not waiting.unprotected
    (wanted,) = deferred.notices
    assert isinstance(wanted, MoveWanted) and wanted.urgency_bps > 0
    again = only(granted, AmendStop)
    assert again.client_id == STOP_ID and again.trigger_price == D("61690.0")
    assert d.s.state is State.MOVING_STOP and d.s.move_wish is None


def test_a_deferral_of_another_amend_is_stale():
    d = protected_on_amend_venue()
    op = only(d.apply(Trigger.MARK, mark("61000")), AmendStop)
    other = AmendStop(SYMBOL, op.algo_id, op.client_id, D("60000.0"))
    assert d.apply(Trigger.MOVE_DEFERRED, MoveDeferred("req-old", other)) is None
    assert d.s.amending == StopAmend(STOP_ID, NEW, D("0.010"))


def test_a_deferral_that_finds_the_symbol_closing_forgets_the_amend():
    d = protected_on_amend_venue()
    op = only(d.apply(Trigger.MARK, mark("61000")), AmendStop)
    d.apply(Trigger.CLOSE, ClosePosition(SYMBOL, command_id="c"))
    step = d.apply(Trigger.MOVE_DEFERRED, MoveDeferred("req-move", op))
    assert step.kind == "stop_move_deferred" and d.s.amending is None
    assert d.s.state is State.CLOSING and d.s.stop.trigger_price == OLD


# --------------------------------------------------------------------------- sizes


def test_a_grown_position_is_one_amend_of_size_and_trigger_in_place():
    # Arrange
    d = protected_on_amend_venue()
    # Act: the position doubles (entry averaged to 60500)
    step = d.apply(Trigger.POSITION, position("0.020", "60500"))
    op = only(step, AmendStop)
    done = d.apply(Trigger.AMEND_REPLY, amended(op))
    # Assert: one order, never two stops: no placement, no cancel
    assert not any(isinstance(r, (PlaceStop, CancelStop)) for r in d.requests[2:])
    assert op.purpose is StopPurpose.RESIZE and op.client_id == STOP_ID
    assert op.qty == D("0.020") and op.trigger_price == D("59290.0")
    assert step.kind == "stop_resize_requested"
    assert done.kind == "stop_resized" and d.s.state is State.PROTECTED
    assert d.s.stop.qty == D("0.020") and d.s.stop.trigger_price == D("59290.0")
    assert d.s.trail.moves == 0  # a re-price for the size, not a trail move


def test_a_size_that_changes_during_the_amend_is_amended_next():
    # Arrange: a move in flight, then the position grows
    d = protected_on_amend_venue()
    op = only(d.apply(Trigger.MARK, mark("61000")), AmendStop)
    grew = d.apply(Trigger.POSITION, position("0.020", "60000"))
    # Act
    step = d.apply(Trigger.AMEND_REPLY, amended(op))
    # Assert: the move rests (trail counted), the size follows in a second amend
    assert grew.requests == ()
    resize = only(step, AmendStop)
    assert step.kind == "stop_amended" and d.s.trail.moves == 1
    assert resize.qty == D("0.020") and resize.trigger_price == NEW
    assert resize.purpose is StopPurpose.RESIZE and d.s.state is State.MOVING_STOP


def test_a_refused_resize_is_retried_for_the_size_the_position_has():
    d = protected_on_amend_venue()
    op = only(d.apply(Trigger.POSITION, position("0.020", "60500")), AmendStop)
    d.apply(Trigger.AMEND_REPLY, reply(op, fail=failure(FailureKind.TEMPORARY, 10006)))
    assert d.s.state is State.PROTECTED and d.s.stop.qty == D("0.010")
    again = only(d.apply(Trigger.RETRY, op), AmendStop)
    assert again.qty == D("0.020") and again.purpose is StopPurpose.RESIZE


def test_a_stop_lost_during_the_amend_reconciles_at_once_and_is_restored_once():
    # Arrange
    d = protected_on_amend_venue()
    op = only(d.apply(Trigger.MARK, mark("61000")), AmendStop)
    # Act: the stream says the stop is gone (the amend in flight moves nothing now); the
    # amend's refusal arrives during the reconcile; the exchange shows the position open
    lost = d.apply(Trigger.ALGO, algo_update(STOP_ID, "CANCELED", trigger=str(OLD)))
    refused = d.apply(Trigger.AMEND_REPLY,
                      reply(op, fail=failure(FailureKind.NOT_FOUND, 110001)))
    snap = reply(FetchSymbol(SYMBOL), snapshot("0.010", "60123.45"))
    again = d.apply(Trigger.SNAPSHOT, snap)
    restored = d.apply(Trigger.SNAPSHOT, snap)
    # Assert: the reconcile starts at once, reads again after the refusal, and restores ONE
    # stop; nothing else is placed
    assert lost.kind == "stop_lost" and lost.refetch and lost.requests == ()
    assert refused.kind == "event_during_reconcile" and refused.requests == ()
    assert again.refetch and again.requests == ()
    assert only(restored, PlaceStop).purpose is StopPurpose.RESTORE
    assert d.s.amending is None and d.s.state is State.OPEN_UNPROTECTED
    assert sum(isinstance(r, PlaceStop) for r in d.requests[2:]) == 1


@pytest.mark.parametrize("answer", ["accepted", "temporary", "would_trigger", "timeout"])
def test_an_amend_answered_after_its_stop_was_lost_reconciles_and_never_claims_a_stop(answer):
    # Arrange: MOVING_STOP with the amend in flight and the stop already gone
    d = protected_on_amend_venue()
    op = only(d.apply(Trigger.MARK, mark("61000")), AmendStop)
    d.s = d.s.replace(stop=None)
    fails = {"temporary": failure(FailureKind.TEMPORARY, 10006),
             "would_trigger": failure(FailureKind.WOULD_TRIGGER, 110092),
             "timeout": failure(FailureKind.UNKNOWN_OUTCOME)}
    # Act
    step = d.apply(Trigger.AMEND_REPLY, amended(op) if answer == "accepted"
                   else reply(op, fail=fails[answer]))
    # Assert
    assert step.refetch and step.requests == () and d.s.state is State.RECONCILING
    assert d.s.stop is None and d.s.amending is None


def test_a_reconcile_that_finds_the_stop_of_another_size_amends_it():
    # Arrange: a restart reads a 0.020 position and our 0.010 stop
    d = Driver(s=reconciling().replace(stop=None), venue=AMEND_CAPS)
    # Act
    step = d.apply(Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL), snapshot(
        "0.020", "60000", (stop_info(STOP_ID, "58800"),))))
    # Assert: the stop found is resized in place
    op = only(step, AmendStop)
    assert op.client_id == STOP_ID and op.qty == D("0.020")
    assert not any(isinstance(r, PlaceStop) for r in step.requests)
    assert d.s.state is State.MOVING_STOP
