"""Stop moves under the order budget (actors/machine/moves.py and its table rows): a move
the pool deferred, the wish that replaces it, the grant, and the purposes the pool
schedules by. Driven through the real table (symbol_machine.handle)."""

from __future__ import annotations

from decimal import Decimal

from actors.machine import moves
from actors.messages import (
    CancelStop,
    MoveDeferred,
    MoveGrant,
    MoveWanted,
    PlaceStop,
    StopPurpose,
)
from actors.symbol_machine import TABLE, Trigger, handle
from actors.symbol_state import MoveWish, State, from_dict, to_dict
from tests.fakes.machine import SYMBOL, Driver, accept, algo_update, ctx, mark, only, policy
from tests.fakes.states import (
    BUILD,
    MOVE_ID,
    QTY,
    closing,
    moving_stop,
    open_and_protect,
    protected,
)

D = Decimal


def deferred_move() -> tuple[Driver, PlaceStop]:
    """Protected long from 60123.45; a mark of 61000 moved the trail; the pool deferred the
    move (to 60695)."""
    d = Driver()
    open_and_protect(d)
    op = only(d.apply(Trigger.MARK, mark("61000")), PlaceStop)
    d.apply(Trigger.MOVE_DEFERRED, MoveDeferred("req-move", op))
    return d, op


# --------------------------------------------------------------------------- purposes


def test_a_first_stop_is_first_and_a_move_is_a_move():
    d = Driver()
    first = open_and_protect(d)
    assert first.purpose is StopPurpose.FIRST
    op = only(d.apply(Trigger.MARK, mark("61000")), PlaceStop)
    assert op.purpose is StopPurpose.MOVE and d.s.state is State.MOVING_STOP


def test_a_resize_for_a_grown_position_and_a_lost_stop_are_protection():
    from tests.fakes.machine import position
    step = handle(protected(), Trigger.POSITION, position("0.020"), ctx())
    assert only(step, PlaceStop).purpose is StopPurpose.RESIZE
    lost = handle(protected(), Trigger.ALGO, algo_update("pg-7-BTCUSDT-sl-2", "CANCELED"),
                  ctx())
    assert only(lost, PlaceStop).purpose is StopPurpose.RESTORE


# --------------------------------------------------------------------------- deferred


def test_a_deferred_move_goes_back_to_protected_with_the_old_stop_and_a_wish():
    # Arrange / Act
    d, op = deferred_move()
    step = d.steps[-1]
    # Assert: nothing placed, the old stop rests, the pool hears the urgency
    assert TABLE[(State.MOVING_STOP, Trigger.MOVE_DEFERRED)].handler is moves.move_deferred
    assert step.kind == "stop_move_deferred" and step.requests == ()
    assert d.s.state is State.PROTECTED and d.s.pending_stop is None
    assert d.s.stop is not None and d.s.stop.trigger_price == D("58920.9")
    assert d.s.move_wish == MoveWish(d.now_ms)
    (wanted,) = step.notices
    expected = float((D("60695") - D("58920.9")) / D("61000") * 10_000)
    assert wanted == MoveWanted(SYMBOL, expected)
    assert not d.s.unprotected


def test_a_deferral_that_names_no_pending_move_changes_nothing():
    s = moving_stop()
    stale = PlaceStop(SYMBOL, "SELL", QTY, "pg-7-BTCUSDT-sl-99", "STOP_MARKET", D("60000"),
                      "MARK_PRICE", purpose=StopPurpose.MOVE)
    assert handle(s, Trigger.MOVE_DEFERRED, MoveDeferred("r", stale), ctx()) is None


def test_a_deferred_move_whose_old_stop_was_lost_meanwhile_places_a_stop_at_once():
    s = moving_stop().replace(stop=None)
    op = PlaceStop(SYMBOL, "SELL", QTY, MOVE_ID, "STOP_MARKET", D("60695"), "MARK_PRICE",
                   purpose=StopPurpose.MOVE)
    step = handle(s, Trigger.MOVE_DEFERRED, MoveDeferred("r", op), ctx())
    placed = only(step, PlaceStop)
    assert placed.purpose is StopPurpose.RESTORE and placed.client_id != MOVE_ID
    assert step.state.state is State.OPEN_UNPROTECTED and step.state.move_wish is None


def test_a_deferred_move_for_a_position_that_grew_meanwhile_resizes_at_once():
    s = moving_stop().replace(qty=D("0.020"))
    op = PlaceStop(SYMBOL, "SELL", QTY, MOVE_ID, "STOP_MARKET", D("60695"), "MARK_PRICE",
                   purpose=StopPurpose.MOVE)
    step = handle(s, Trigger.MOVE_DEFERRED, MoveDeferred("r", op), ctx())
    placed = only(step, PlaceStop)
    assert placed.purpose is StopPurpose.RESIZE and placed.qty == D("0.020")
    assert step.state.state is State.MOVING_STOP


def test_a_deferral_arriving_while_closing_forgets_the_stop_that_was_never_sent():
    s = closing().replace(pending_stop=moving_stop().pending_stop)
    op = PlaceStop(SYMBOL, "SELL", QTY, MOVE_ID, "STOP_MARKET", D("60695"), "MARK_PRICE",
                   purpose=StopPurpose.MOVE)
    step = handle(s, Trigger.MOVE_DEFERRED, MoveDeferred("r", op), ctx())
    assert TABLE[(State.CLOSING, Trigger.MOVE_DEFERRED)].handler is \
        moves.move_deferred_elsewhere
    assert step.state.state is State.CLOSING and step.state.pending_stop is None
    assert step.requests == ()


# --------------------------------------------------------------------------- the wish


def test_while_wishing_a_mark_updates_the_trail_and_the_urgency_and_places_nothing():
    d, _ = deferred_move()
    step = d.apply(Trigger.MARK, mark("61500"))
    assert step.requests == () and d.s.state is State.PROTECTED
    assert d.s.trail.peak == D("61500")
    (wanted,) = step.notices
    assert wanted.urgency_bps == float((D("61192.5") - D("58920.9")) / D("61500") * 10_000)


def test_a_grant_places_the_move_at_the_latest_target_never_the_deferred_one():
    # Arrange: deferred at 60695; the trail went on to a peak of 61500
    d, stale = deferred_move()
    d.apply(Trigger.MARK, mark("61500"))
    # Act
    step = d.apply(Trigger.MOVE_GRANT, MoveGrant(SYMBOL))
    # Assert
    op = only(step, PlaceStop)
    assert op.trigger_price == D("61192.5") != stale.trigger_price
    assert op.purpose is StopPurpose.MOVE and op.client_id != stale.client_id
    assert d.s.state is State.MOVING_STOP and d.s.move_wish is None
    assert step.payload["granted"] is True
    # and when it rests it replaces the old stop, new first
    step = d.apply(Trigger.STOP_REPLY, accept(op, algo_id="4000000009"))
    assert d.s.state is State.PROTECTED and d.s.stop.trigger_price == D("61192.5")
    assert only(step, CancelStop).client_id == "pg-7-BTCUSDT-sl-2"


def test_a_grant_with_nothing_left_to_move_withdraws_the_wish():
    s = protected().replace(move_wish=MoveWish(0), mark_price=D("60000"))  # trail inactive
    step = handle(s, Trigger.MOVE_GRANT, MoveGrant(SYMBOL), ctx())
    assert step.kind == "stop_move_withdrawn" and step.requests == ()
    assert step.notices == (MoveWanted(SYMBOL, None),) and step.state.move_wish is None


def test_a_grant_without_a_wish_or_outside_protected_is_declined():
    for s in (protected(), closing().replace(move_wish=MoveWish(0)), moving_stop()):
        step = handle(s, Trigger.MOVE_GRANT, MoveGrant(SYMBOL), ctx())
        assert step.kind == "move_grant_declined" and step.requests == ()
        assert step.notices == (MoveWanted(SYMBOL, None),)
        assert step.state.state is s.state and step.state.move_wish is None


def test_every_state_has_rows_for_the_schedulers_triggers():
    # A deferral or a grant may cross any transition on its way: none may end the actor.
    for state in State:
        assert (state, Trigger.MOVE_DEFERRED) in TABLE and (state, Trigger.MOVE_GRANT) in TABLE
        s = BUILD[state]()
        assert handle(s, Trigger.MOVE_GRANT, MoveGrant(SYMBOL), ctx()) is not None


def test_the_wish_survives_the_snapshot_and_going_flat_forgets_it():
    s = protected().replace(move_wish=MoveWish(123))
    assert from_dict(to_dict(s)) == s
    from tests.fakes.machine import position
    step = handle(s, Trigger.POSITION, position("0"), ctx())
    assert step.state.state is State.FLAT and step.state.move_wish is None


# --------------------------------------------------------------------------- accepted


def test_a_move_accepted_after_the_trail_went_past_it_moves_again_at_once():
    # Arrange: no interval between moves, so the policy allows the next one at once
    d = Driver(pol=policy(min_update_interval_ms=0))
    open_and_protect(d)
    first = only(d.apply(Trigger.MARK, mark("61000")), PlaceStop)
    d.apply(Trigger.MARK, mark("61500"))  # in flight: the trail follows
    # Act
    step = d.apply(Trigger.STOP_REPLY, accept(first, algo_id="4000000005"))
    # Assert: the old stop is cancelled and the next move is already on its way
    nxt = only(step, PlaceStop)
    assert nxt.trigger_price == D("61192.5") and nxt.purpose is StopPurpose.MOVE
    assert only(step, CancelStop).client_id == "pg-7-BTCUSDT-sl-2"
    assert d.s.state is State.MOVING_STOP and d.s.stop.client_id == first.client_id


def test_a_move_accepted_with_the_trail_where_it_was_stays_protected():
    d = Driver(pol=policy(min_update_interval_ms=0))
    open_and_protect(d)
    first = only(d.apply(Trigger.MARK, mark("61000")), PlaceStop)
    step = d.apply(Trigger.STOP_REPLY, accept(first, algo_id="4000000005"))
    assert step.kind == "stop_moved" and d.s.state is State.PROTECTED
    assert [type(r) for r in step.requests] == [CancelStop]


def test_a_snapshot_from_before_the_scheduler_loads_without_a_wish():
    old = to_dict(protected())
    del old["move_wish"]
    assert from_dict(old).move_wish is None
