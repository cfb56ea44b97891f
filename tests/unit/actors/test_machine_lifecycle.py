"""The symbol state machine driven through a position's life: open, protect, trail, move new-
first, fill; the stream racing the REST replies (I-5) and a close racing a move (I-4); -2021.
"""

from __future__ import annotations

from decimal import Decimal


import pytest

from actors.messages import CancelStop, FailureKind, OpenPosition, PlaceMarket, PlaceStop
from actors.symbol_machine import Trigger
from actors.symbol_state import State
from tests.fakes.states import (
    QTY,
    OPEN_ID,
    STOP_ID,
    SIDES,
    opening,
    moving_stop,
    open_and_protect,
    tighter,
)
from tests.fakes.machine import (
    SYMBOL,
    WOULD_TRIGGER,
    Driver,
    accept,
    algo_update,
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


# --------------------------------------------------------------------------- lifecycle


@pytest.mark.parametrize("side", ["long", "short"])
def test_open_fill_protect_trail_and_stop_fill_lifecycle(side):
    open_side, close_side, entry, first_stop, far_mark = SIDES[side]
    d = Driver()

    # open: persist intent, send the entry market order under a deterministic id
    step = d.apply(Trigger.OPEN, OpenPosition(SYMBOL, side, D("0.0109"), "cmd-1"))
    assert step is not None and step.state.state is State.OPENING
    entry_op = only(step, PlaceMarket)
    assert (entry_op.client_id, entry_op.side, entry_op.qty, entry_op.reduce_only) == (
        OPEN_ID, open_side, QTY, False)
    assert step.kind == "open_requested" and step.outcome[0] == "accepted"

    # fill: the position is known, its initial stop is placed
    step = d.apply(Trigger.MARKET_REPLY, filled(entry_op, avg=entry))
    assert step.state.state is State.OPEN_UNPROTECTED and step.kind == "open_filled"
    stop = only(step, PlaceStop)
    assert (stop.side, stop.qty, stop.trigger_price, stop.order_type) == (
        close_side, QTY, first_stop, "STOP_MARKET")
    assert stop.client_id == "pg-7-BTCUSDT-sl-2"

    # accepted: protected
    step = d.apply(Trigger.STOP_REPLY, accept(stop, algo_id="4000000001"))
    assert step.state.state is State.PROTECTED and step.kind == "stop_placed"
    assert step.requests == ()
    assert d.s.stop.algo_id == "4000000001" and d.s.pending_stop is None

    # the mark runs past activation: a tighter replacement is placed, the old one rests
    step = d.apply(Trigger.MARK, mark(far_mark))
    assert step.state.state is State.MOVING_STOP and step.kind == "stop_move_requested"
    move = only(step, PlaceStop)
    assert tighter(side, move.trigger_price, first_stop)
    assert (move.side, move.qty) == (close_side, QTY)
    assert move.client_id != stop.client_id
    assert not any(isinstance(r, CancelStop) for r in d.requests)

    # the replacement is accepted: only now is the old stop cancelled
    step = d.apply(Trigger.STOP_REPLY, accept(move, algo_id="4000000002"))
    assert step.state.state is State.PROTECTED and step.kind == "stop_moved"
    cancel = only(step, CancelStop)
    assert (cancel.client_id, cancel.algo_id) == (stop.client_id, "4000000001")
    assert d.s.stop.client_id == move.client_id
    assert d.s.trail.stop_price == move.trigger_price and d.s.trail.moves == 1

    # the stop fills: flat, with the realized pnl recorded
    step = d.apply(Trigger.ORDER, order_update(move.client_id, side=close_side, pnl="38.5",
                                               avg=str(move.trigger_price)))
    assert step.state.state is State.FLAT and step.kind == "stop_filled"
    assert d.s.realized_pnl == D("38.5")
    assert d.s.side is None and d.s.qty == 0 and d.s.stop is None and d.s.trail is None
    assert not any(isinstance(r, (PlaceMarket, PlaceStop)) for r in step.requests)


@pytest.mark.parametrize("side", ["long", "short"])
def test_stop_move_places_new_stop_before_cancelling_old(side):
    # Arrange: protected, then several marks that each move the stop
    _, _, _, _, far_mark = SIDES[side]
    d = Driver()
    open_and_protect(d, side)
    far = D(far_mark)
    step_price = D("100") if side == "long" else D("-100")
    # Act: each move's acceptance arrives after a few more ticks
    for i in range(4):
        step = d.apply(Trigger.MARK, mark(far + i * step_price))
        move = only(step, PlaceStop)
        d.apply(Trigger.MARK, mark(far + i * step_price + step_price / 2))
        d.apply(Trigger.STOP_REPLY, accept(move, algo_id=f"50{i}"))
    # Assert: each CancelStop comes after the PlaceStop of the stop that replaced it,
    # and cancels exactly the stop that was resting before
    placed_at: dict[str, int] = {}
    accepted: set[str] = set()
    for idx, st_ in enumerate(d.steps):
        if st_ is None:
            continue
        for r in st_.requests:
            if isinstance(r, PlaceStop):
                placed_at[r.client_id] = idx
            if isinstance(r, CancelStop):
                assert st_.kind == "stop_moved"
                assert r.client_id in accepted
        if st_.kind in ("stop_placed", "stop_moved"):
            accepted.add(st_.state.stop.client_id)
    assert len([r for r in d.requests if isinstance(r, CancelStop)]) == 4
    assert d.s.state is State.PROTECTED and d.s.trail.moves == 4


def test_mark_inside_activation_moves_nothing_and_is_not_persisted():
    d = Driver()
    open_and_protect(d)
    step = d.apply(Trigger.MARK, mark("60100"))
    assert step is not None and step.persist is False and step.requests == ()
    assert step.state.state is State.PROTECTED and step.state.mark_price == D("60100")


def test_mark_during_a_move_tracks_the_peak_but_places_no_second_stop():
    d = Driver(s=moving_stop())
    step = d.apply(Trigger.MARK, mark("62000"))
    assert step.requests == () and step.state.state is State.MOVING_STOP
    assert step.state.trail.peak == D("62000") and step.kind == "trail_updated"


# --------------------------------------------------------------------------- I-5


def test_stream_fill_before_rest_reply_protects_once_i5():
    # Arrange: the open order is in flight
    d = Driver()
    entry_op = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", QTY, "cmd-1")),
                    PlaceMarket)
    # Act 1: ACCOUNT_UPDATE arrives 4 ms before the REST reply
    step = d.apply(Trigger.POSITION, position("0.010", "60000"), advance_ms=4)
    # Assert 1: protected from the stream event alone
    assert step.state.state is State.OPEN_UNPROTECTED and step.kind == "open_filled"
    stop = only(step, PlaceStop)
    assert (stop.side, stop.qty, stop.trigger_price) == ("SELL", QTY, D("58800"))
    # Act 2: the REST reply
    step = d.apply(Trigger.MARKET_REPLY, filled(entry_op, avg="60000"))
    # Assert 2: confirmation only; no second stop
    assert step.kind == "open_confirmed" and step.requests == ()
    assert step.state.open_order is None and step.state.pending_stop.client_id == stop.client_id
    assert len([r for r in d.requests if isinstance(r, PlaceStop)]) == 1


def test_zero_position_while_opening_is_the_state_before_the_fill():
    d = Driver(s=opening())
    assert d.apply(Trigger.POSITION, position("0", "0")) is None
    assert d.s.state is State.OPENING


def test_position_in_a_flat_symbol_is_adopted_and_protected():
    step = Driver().apply(Trigger.POSITION, position("-0.020", "60000"))
    assert step.kind == "position_adopted" and step.state.adopted
    stop = only(step, PlaceStop)
    assert (stop.side, stop.qty, stop.trigger_price) == ("BUY", D("0.020"), D("61200"))


# --------------------------------------------------------------------------- I-4


def _moving(d: Driver) -> PlaceStop:
    open_and_protect(d)
    return only(d.apply(Trigger.MARK, mark("61000")), PlaceStop)


def test_position_closed_during_a_move_goes_flat_i4():
    d = Driver()
    _moving(d)
    step = d.apply(Trigger.POSITION, position("0", "0"))
    assert step.state.state is State.FLAT and step.kind == "position_closed"
    assert not any(isinstance(r, (PlaceStop, PlaceMarket)) for r in step.requests)


@pytest.mark.parametrize("algo_first", [False, True], ids=["reply_only", "algo_new_first"])
def test_replacement_accepted_after_the_close_is_cancelled_i4(algo_first):
    # Arrange: a move in flight, then the old stop fills and the position goes to zero
    d = Driver()
    move = _moving(d)
    d.apply(Trigger.POSITION, position("0", "0"))
    before = len(d.steps)
    # Act: the stream and/or REST report the replacement as accepted
    if algo_first:
        d.apply(Trigger.ALGO, algo_update(move.client_id, "NEW", algo_id="4000000002",
                                          trigger=str(move.trigger_price)))
    d.apply(Trigger.STOP_REPLY, accept(move, algo_id="4000000002"))
    # Assert: exactly one cancel of the replacement, nothing placed, still flat
    after = [r for st_ in d.steps[before:] if st_ is not None for r in st_.requests]
    cancels = [r for r in after if isinstance(r, CancelStop)]
    assert [(c.client_id, c.algo_id) for c in cancels] == [(move.client_id, "4000000002")]
    assert not any(isinstance(r, (PlaceMarket, PlaceStop)) for r in after)
    assert "stale_stop_cancelled" in [st_.kind for st_ in d.steps[before:] if st_ is not None]
    assert d.s.state is State.FLAT and move.client_id in {c.client_id for c in d.s.cancelling}


def test_replacement_refused_with_2021_after_the_close_does_nothing_i4():
    d = Driver()
    move = _moving(d)
    d.apply(Trigger.POSITION, position("0", "0"))
    step = d.apply(Trigger.STOP_REPLY, reply(move, fail=WOULD_TRIGGER))
    assert step is None or not any(isinstance(r, (PlaceMarket, PlaceStop))
                                   for r in step.requests)
    assert d.s.state is State.FLAT


def test_replacement_accepted_after_close_then_cancel_reply_empties_cancelling():
    d = Driver()
    move = _moving(d)
    d.apply(Trigger.POSITION, position("0", "0"))
    step = d.apply(Trigger.STOP_REPLY, accept(move, algo_id="4000000002"))
    for c in step.requests:
        d.apply(Trigger.CANCEL_REPLY, reply(c))
    old_cancel = [r for r in d.requests if isinstance(r, CancelStop)
                  and r.client_id != move.client_id]
    for c in old_cancel:
        d.apply(Trigger.CANCEL_REPLY, reply(c, fail=failure(FailureKind.NOT_FOUND, -2011)))
    assert d.s.cancelling == () and not d.s.live


# --------------------------------------------------------------------------- -2021 on a move


def test_2021_on_a_move_with_close_policy_closes_at_market():
    d = Driver(pol=policy("close"))
    move = _moving(d)
    step = d.apply(Trigger.STOP_REPLY, reply(move, fail=WOULD_TRIGGER))
    assert step.state.state is State.CLOSING and step.kind == "stop_would_trigger_close"
    close = only(step, PlaceMarket)
    assert (close.side, close.qty, close.reduce_only) == ("SELL", QTY, True)
    assert step.state.stop.client_id == STOP_ID  # the old stop still rests until the fill
    # and the close fill ends flat, cancelling the old stop
    step = d.apply(Trigger.MARKET_REPLY, filled(close, avg="60500"))
    assert step.state.state is State.FLAT and step.kind == "closed_at_market"
    assert only(step, CancelStop).client_id == STOP_ID


def test_2021_on_a_move_with_keep_policy_keeps_the_old_stop():
    d = Driver(pol=policy("keep"))
    move = _moving(d)
    old = d.s.stop
    step = d.apply(Trigger.STOP_REPLY, reply(move, fail=WOULD_TRIGGER))
    assert step.state.state is State.PROTECTED and step.kind == "stop_move_skipped"
    assert step.requests == ()
    assert step.state.stop == old and step.state.pending_stop is None
    assert step.state.trail.stop_price == old.trigger_price

