"""The stream says our stop (or native trailing) placement in flight is already gone
(cancelled, expired, rejected) before its REST reply came: the exchange's truth decides,
never the late reply.

The user stream often beats the REST reply (I-5). Before, an ALGO_UPDATE ending our pending
stop was ignored, and the "accepted" reply that followed made the symbol PROTECTED by a
stop that no longer existed: the position naked until the sweep's stop check.
"""

from __future__ import annotations

import pytest

from actors.messages import FetchSymbol, OpenPosition, PlaceMarket, PlaceStop
from actors.symbol_machine import Trigger
from actors.symbol_state import State
from tests.fakes.machine import (
    SYMBOL,
    Driver,
    accept,
    algo_update,
    filled,
    mark,
    only,
    reply,
    snapshot,
)
from tests.fakes.native import NATIVE, TRAILING, filled_with_trailing_in_flight
from tests.fakes.states import QTY, SIDES, open_and_protect


def first_stop_in_flight() -> tuple[Driver, PlaceStop]:
    """OPEN_UNPROTECTED: the long filled, its first stop sent, no reply yet."""
    d = Driver()
    op = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", QTY, "cmd-1")), PlaceMarket)
    stop = only(d.apply(Trigger.MARKET_REPLY, filled(op, avg=SIDES["long"][2])), PlaceStop)
    assert d.s.state is State.OPEN_UNPROTECTED and d.s.pending_stop.client_id == stop.client_id
    return d, stop


@pytest.mark.parametrize("status", ["CANCELED", "EXPIRED", "REJECTED"])
def test_a_first_stop_gone_before_its_reply_is_settled_by_the_exchanges_truth(status):
    d, stop = first_stop_in_flight()

    step = d.apply(Trigger.ALGO, algo_update(stop.client_id, status))
    assert step is not None and step.kind == "placement_gone"
    assert step.state.state is State.RECONCILING and step.refetch
    assert step.state.pending_stop is None and step.payload["status"] == status

    # The late "accepted" reply does not make it PROTECTED: the read decides.
    step = d.apply(Trigger.STOP_REPLY, accept(stop, algo_id="4000000001"))
    assert d.s.state is State.RECONCILING and d.s.stop is None
    # The read shows the position and no stop: a new one is placed (the reply that came in
    # meanwhile asks for one read more first).
    read = reply(FetchSymbol(SYMBOL), snapshot("0.010", "60000"))
    assert d.apply(Trigger.SNAPSHOT, read).kind == "reconcile_refetch"
    again = only(d.apply(Trigger.SNAPSHOT, read), PlaceStop)
    assert again.client_id != stop.client_id and d.s.pending_stop.client_id == again.client_id


def test_a_moves_new_stop_gone_keeps_the_old_one_and_reconciles():
    d = Driver()
    open_and_protect(d)
    old = d.s.stop
    move = only(d.apply(Trigger.MARK, mark(SIDES["long"][4])), PlaceStop)
    assert d.s.state is State.MOVING_STOP

    step = d.apply(Trigger.ALGO, algo_update(move.client_id, "EXPIRED"))
    assert step.kind == "placement_gone" and step.state.state is State.RECONCILING
    assert step.state.stop == old and step.state.pending_stop is None


def test_a_pending_stop_that_triggered_at_once_is_left_to_its_fill():
    # Triggered is not gone: the fill's ORDER_TRADE_UPDATE reduces the position.
    d, stop = first_stop_in_flight()
    assert d.apply(Trigger.ALGO, algo_update(stop.client_id, "TRIGGERED")) is None
    assert d.s.state is State.OPEN_UNPROTECTED


def test_a_native_trailing_order_gone_before_its_reply_is_settled_the_same_way():
    d = Driver(pol=NATIVE)
    trail = filled_with_trailing_in_flight(d)  # the fixed stop rests, the trailing in flight
    fixed = d.s.stop

    step = d.apply(Trigger.ALGO, algo_update(trail.client_id, "EXPIRED", order_type=TRAILING))
    assert step.kind == "placement_gone" and step.state.state is State.RECONCILING
    assert step.state.pending_trailing is None and step.state.stop == fixed

    d.apply(Trigger.TRAILING_REPLY, accept(trail, algo_id="4000000002"))
    assert d.s.trailing is None and d.s.state is State.RECONCILING
