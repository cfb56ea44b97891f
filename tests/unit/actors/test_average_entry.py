"""The stop is priced from the average entry (issue 13): after a partial fill the rest of the
order fills at another price, the exchange reports the position's average entry, and the stop
that is re-placed for the full size is stop_loss_pct (2 %) from that average, not from the
first fill. Once trailing has activated the trailed stop stays where it is."""

from __future__ import annotations

from decimal import Decimal

from actors.messages import FetchSymbol, OpenPosition, PlaceMarket, PlaceStop
from actors.symbol_machine import Trigger
from actors.symbol_state import ReconcileProgress, State
from tests.fakes.machine import (
    SYMBOL,
    Driver,
    accept,
    only,
    order_info,
    position,
    reply,
    snapshot,
    stop_info,
)

D = Decimal
FIRST, AVG = "60000", "60700"    # 0.003 at 60000, then 0.007 at 61000: average 60700
AT_AVG = D("59486.0")            # 60700 x 0.98
AT_FIRST = D("58800.0")          # 60000 x 0.98


def partly_filled() -> tuple[Driver, PlaceStop]:
    """The open order filled 0.003 of 0.010 at 60000 (REST reply); its stop is in flight."""
    d = Driver()
    op = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", D("0.010"), "cmd-1")),
              PlaceMarket)
    first = order_info(op.client_id, status="PARTIALLY_FILLED", qty="0.010", filled="0.003",
                       avg=FIRST)
    stop = only(d.apply(Trigger.MARKET_REPLY, reply(op, first)), PlaceStop)
    assert (stop.qty, stop.trigger_price) == (D("0.003"), AT_FIRST)
    return d, stop


def test_the_stop_resized_after_the_rest_fills_is_priced_from_the_average_entry():
    d, stop = partly_filled()
    d.apply(Trigger.STOP_REPLY, accept(stop))

    step = d.apply(Trigger.POSITION, position("0.010", AVG))

    resized = only(step, PlaceStop)
    assert (resized.qty, resized.trigger_price) == (D("0.010"), AT_AVG)
    accepted = d.apply(Trigger.STOP_REPLY, accept(resized, algo_id="4000000002"))
    assert accepted.kind == "stop_resized" and accepted.state.state is State.PROTECTED
    assert accepted.state.trail.stop_price == AT_AVG and accepted.state.trail.moves == 0


def test_the_rest_filling_while_the_first_stop_is_in_flight_re_places_it_at_the_average():
    d, stop = partly_filled()
    d.apply(Trigger.POSITION, position("0.010", AVG))  # before the first stop's reply

    step = d.apply(Trigger.STOP_REPLY, accept(stop))

    again = only(step, PlaceStop)
    assert (again.qty, again.trigger_price) == (D("0.010"), AT_AVG)


def test_a_stop_found_missing_after_a_partial_fill_is_re_placed_at_the_average():
    d, stop = partly_filled()
    d.apply(Trigger.STOP_REPLY, accept(stop))
    d.s = d.s.replace(state=State.RECONCILING, reconcile=ReconcileProgress())

    step = d.apply(Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL), snapshot("0.010", AVG)))

    placed = only(step, PlaceStop)
    assert (placed.qty, placed.trigger_price) == (D("0.010"), AT_AVG)


def test_a_kept_stop_of_the_first_fill_size_is_resized_at_the_average():
    d, stop = partly_filled()
    d.apply(Trigger.STOP_REPLY, accept(stop))
    d.s = d.s.replace(state=State.RECONCILING, reconcile=ReconcileProgress())
    resting = stop_info(stop.client_id, str(AT_FIRST), qty="0.003")

    step = d.apply(Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL),
                                           snapshot("0.010", AVG, (resting,))))

    resized = only(step, PlaceStop)
    assert (resized.qty, resized.trigger_price) == (D("0.010"), AT_AVG)

