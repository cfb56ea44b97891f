"""A symbol's last_error clears when it stops being true (issue 13: stale errors on healthy
symbols): once the stop it was about is accepted, or the failing operation succeeds, and the
symbol is PROTECTED with nothing failing, `status` no longer shows it."""

from __future__ import annotations

from decimal import Decimal

from actors.messages import (
    CancelStop,
    FailureKind,
    LookupOrder,
    PlaceStop,
)
from actors.symbol_machine import Trigger
from actors.symbol_state import State
from tests.fakes.machine import (
    TIMEOUT,
    accept,
    algo_update,
    failure,
    mark,
    only,
    reply,
    stop_in_flight,
    stop_info,
)

D = Decimal


def test_a_stop_refusal_is_forgotten_once_the_stop_is_accepted():
    d, stop = stop_in_flight()
    d.apply(Trigger.STOP_REPLY, reply(stop, fail=failure(FailureKind.TEMPORARY, -1001)))
    assert d.s.last_error is not None  # true while the stop is not placed

    step = d.apply(Trigger.STOP_REPLY, accept(stop))

    assert step.state.state is State.PROTECTED and step.state.last_error is None


def test_an_unknown_outcome_is_forgotten_once_the_lookup_finds_the_stop():
    d, stop = stop_in_flight()
    look = only(d.apply(Trigger.STOP_REPLY, reply(stop, fail=TIMEOUT)), LookupOrder)

    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, stop_info(stop.client_id, "58800")))

    assert step.state.state is State.PROTECTED and step.state.last_error is None


def test_a_stop_lost_on_the_exchange_is_forgotten_once_it_is_placed_again():
    d, stop = stop_in_flight()
    d.apply(Trigger.STOP_REPLY, accept(stop))
    again = only(d.apply(Trigger.ALGO, algo_update(stop.client_id, "EXPIRED")), PlaceStop)
    assert "EXPIRED" in d.s.last_error

    step = d.apply(Trigger.STOP_REPLY, accept(again, algo_id="4000000002"))

    assert step.state.state is State.PROTECTED and step.state.last_error is None


def test_a_failing_cancel_of_the_old_stop_stays_shown_until_it_succeeds():
    d, stop = stop_in_flight()
    d.apply(Trigger.STOP_REPLY, accept(stop))
    move = only(d.apply(Trigger.MARK, mark("61000")), PlaceStop)
    cancel = only(d.apply(Trigger.STOP_REPLY, accept(move, algo_id="4000000002")), CancelStop)
    d.apply(Trigger.CANCEL_REPLY, reply(cancel, fail=failure(FailureKind.TEMPORARY)))
    assert d.s.last_error is not None, "still true: the old stop may still rest"

    step = d.apply(Trigger.CANCEL_REPLY, reply(cancel))

    assert step.state.cancelling == () and step.state.last_error is None
