"""POST /fapi/v1/order answers without avgPrice (Binance's SDK removed it from the new-order
response in 14.0.0; the simulator follows it): the entry price is never taken to be 0.

Before, a REST reply that beat the stream's fill built the position with entry 0 and the
symbol actor crashed ("entry must be positive"); it recovered only through a restart. Now
the order is looked up (GET /fapi/v1/order has avgPrice); the stream's fill may come first.
"""

from __future__ import annotations

from decimal import Decimal

from actors.messages import LookupOrder, OpenPosition, PlaceMarket, PlaceStop
from actors.symbol_machine import Trigger
from actors.symbol_state import State
from tests.fakes.machine import SYMBOL, Driver, only, order_info, position, reply

D = Decimal
QTY = D("0.010")


def opening() -> tuple[Driver, PlaceMarket]:
    d = Driver()
    return d, only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", QTY, "cmd-1")),
                   PlaceMarket)


def no_price(op: PlaceMarket):
    return reply(op, order_info(op.client_id, side=op.side, qty=str(op.qty), avg=None))


def test_a_filled_open_reply_without_a_price_looks_the_order_up_instead_of_guessing():
    d, op = opening()

    step = d.apply(Trigger.MARKET_REPLY, no_price(op))

    assert step is not None and step.kind == "open_price_unknown"
    assert only(step, LookupOrder).client_id == op.client_id
    assert step.state.state is State.OPENING and step.state.entry_price is None
    assert not [r for r in step.requests if isinstance(r, PlaceStop)]


def test_the_lookups_price_opens_the_position_and_places_its_stop():
    d, op = opening()
    look = only(d.apply(Trigger.MARKET_REPLY, no_price(op)), LookupOrder)

    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, order_info(op.client_id, avg="60000")))

    assert step is not None and step.state.entry_price == D("60000")
    assert only(step, PlaceStop).trigger_price == D("58800.0")


def test_the_streams_fill_first_then_the_lookup_only_confirms():
    d, op = opening()
    look = only(d.apply(Trigger.MARKET_REPLY, no_price(op)), LookupOrder)
    d.apply(Trigger.POSITION, position("0.010", "60000"))

    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, order_info(op.client_id, avg="60000")))

    assert step is not None and step.kind == "open_confirmed"
    assert len([r for r in d.requests if isinstance(r, PlaceStop)]) == 1


def test_a_lookup_without_a_price_either_falls_back_to_a_reconcile():
    d, op = opening()
    look = only(d.apply(Trigger.MARKET_REPLY, no_price(op)), LookupOrder)

    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, order_info(op.client_id, avg="0")))

    assert step is not None and step.state.state is State.RECONCILING and step.refetch
