"""A stop placement the venue refused with 429 (or 418): never assumed placed or not placed.

The gateway reports it as UNKNOWN_OUTCOME with the refusal's status and Retry-After
(venues/binance/errors.py); the symbol actor journals both, looks the stop up by its client
id and, if absent, places it again under the same id. The pool holds that placement until
the Retry-After has passed (actors/pacing.py); the old stop rests meanwhile.
"""

from __future__ import annotations

from decimal import Decimal

from actors.messages import ExchangeFailure, FailureKind, LookupOrder, PlaceStop
from actors.protection import Side, initial_trail_state
from actors.symbol_machine import Trigger
from actors.symbol_state import State, StopOrder, SymbolState
from tests.fakes.machine import RULES, SYMBOL, Driver, mark, only, policy, reply

D = Decimal
QTY = D("0.010")
REFUSED = ExchangeFailure(FailureKind.UNKNOWN_OUTCOME, -1015, "binanceusdm 429 Too many new "
                          "orders", http_status=429, retry_after_ms=3000)


def protected() -> Driver:
    pol = policy(min_update_interval_ms=0)
    old = StopOrder("pg-7-BTCUSDT-sl-2", "4000000002", D("58800.0"), QTY, "STOP_MARKET")
    trail = initial_trail_state(Side.LONG, D("60000"), pol, RULES)
    return Driver(SymbolState(SYMBOL, State.PROTECTED, Side.LONG, QTY, D("60000"), stop=old,
                              trail=trail, order_counter=2), pol)


def test_a_move_refused_with_429_journals_the_retry_after_and_keeps_the_old_stop():
    d = protected()
    move = only(d.apply(Trigger.MARK, mark("61000")), PlaceStop)

    step = d.apply(Trigger.STOP_REPLY, reply(move, fail=REFUSED))

    assert step is not None and step.kind == "stop_outcome_unknown"
    assert (step.payload["http_status"], step.payload["retry_after_ms"]) == (429, 3000)
    assert only(step, LookupOrder).client_id == move.client_id  # never assumed not placed
    assert step.state.stop is not None and step.state.stop.client_id == "pg-7-BTCUSDT-sl-2"
    assert step.state.state is State.MOVING_STOP


def test_after_the_lookup_finds_nothing_the_same_stop_is_placed_again_under_its_id():
    d = protected()
    move = only(d.apply(Trigger.MARK, mark("61000")), PlaceStop)
    look = only(d.apply(Trigger.STOP_REPLY, reply(move, fail=REFUSED)), LookupOrder)

    again = only(d.apply(Trigger.LOOKUP_REPLY, reply(look, None)), PlaceStop)

    assert again.client_id == move.client_id and again.trigger_price == move.trigger_price
    assert d.s.stop is not None and d.s.stop.client_id == "pg-7-BTCUSDT-sl-2"
