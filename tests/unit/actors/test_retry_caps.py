"""Retry caps for lookups and cancels (actors/machine/replies.py, core.retry_or_quarantine).

A failure that would fail the same way again (auth, permissions, an invalid request) quarantines
the symbol at once; a transient one is retried with backoff, but only MAX_OP_FAILURES times in
a row. Quarantine leaves every resting exchange stop in place and says why; when none rests,
it keeps placing the stop (actors/machine/coverage.py, tests/unit/actors/test_unprotected.py).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.messages import (
    CancelStop,
    FailureKind,
    LookupOrder,
    OpenPosition,
    PlaceMarket,
    PlaceStop,
)
from actors.protection import Side, initial_trail_state
from actors.machine.core import MAX_OP_FAILURES, Trigger
from actors.symbol_state import State, StopOrder, SymbolState, from_dict, to_dict
from tests.fakes.machine import (
    RULES,
    SYMBOL,
    TIMEOUT,
    Driver,
    accept,
    algo_update,
    failure,
    filled,
    only,
    policy,
    reply,
    stop_info,
)

D = Decimal
QTY = D("0.010")
OLD_ID = "pg-7-BTCUSDT-sl-2"
NEW_ID = "pg-7-BTCUSDT-sl-3"
NOT_RETRIED = [(FailureKind.HALT, -2015), (FailureKind.REJECTED, -1121),
               (FailureKind.WOULD_TRIGGER, -2021)]
TRANSIENT = [(FailureKind.TEMPORARY, -1001), (FailureKind.UNKNOWN_OUTCOME, None)]


def stop_lookup_pending() -> tuple[Driver, LookupOrder]:
    """A stop placement timed out and its lookup is in flight."""
    d = Driver()
    op = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", QTY, "cmd-1")), PlaceMarket)
    stop = only(d.apply(Trigger.MARKET_REPLY, filled(op)), PlaceStop)
    look = only(d.apply(Trigger.STOP_REPLY, reply(stop, fail=TIMEOUT)), LookupOrder)
    return d, look


def cancelling_old_stop() -> tuple[Driver, CancelStop]:
    """PROTECTED by the new stop; the old one is being cancelled."""
    s = SymbolState(SYMBOL, State.PROTECTED, Side.LONG, QTY, D("60000"),
                    trail=initial_trail_state(Side.LONG, D("60000"), policy(), RULES),
                    order_counter=3,
                    stop=StopOrder(NEW_ID, "12", D("59000"), QTY, "STOP_MARKET"),
                    cancelling=(StopOrder(OLD_ID, "11", D("58800"), QTY, "STOP_MARKET"),))
    return Driver(s=s), CancelStop(SYMBOL, "11", OLD_ID)


# --------------------------------------------------------------------------- lookups


@pytest.mark.parametrize(("kind", "code"), NOT_RETRIED, ids=lambda v: str(v))
def test_a_lookup_failing_for_good_quarantines_at_once(kind, code):
    d, look = stop_lookup_pending()
    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, fail=failure(kind, code, "denied")))
    assert step.state.state is State.QUARANTINED and step.kind == "quarantined"
    assert step.requests == ()
    assert f"lookup {look.client_id}: denied" in step.state.quarantine_reason
    assert "not retried" in step.state.quarantine_reason
    # No stop rests: the quarantine keeps placing it, under its own client id (issue 13).
    assert step.retry_after_ms is not None and step.alert is not None
    assert step.retry_op.client_id == look.client_id


@pytest.mark.parametrize(("kind", "code"), TRANSIENT, ids=lambda v: str(v))
def test_a_transient_lookup_failure_retries_with_backoff_then_quarantines_at_the_cap(kind, code):
    d, look = stop_lookup_pending()
    delays = []
    for _ in range(MAX_OP_FAILURES - 1):
        step = d.apply(Trigger.LOOKUP_REPLY, reply(look, fail=failure(kind, code)))
        assert step.kind == "lookup_retry_scheduled" and step.state.state is \
            State.OPEN_UNPROTECTED
        delays.append(step.retry_after_ms)
        assert only(d.apply(Trigger.RETRY, look), LookupOrder) == look
    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, fail=failure(kind, code)))
    assert delays == sorted(delays) and delays[0] < delays[-1]
    assert step.state.state is State.QUARANTINED
    assert f"failed {MAX_OP_FAILURES} times in a row" in step.state.quarantine_reason
    # No stop rests: the quarantine keeps placing it, under its own client id (issue 13).
    assert step.retry_after_ms is not None and step.retry_op.client_id == look.client_id


def test_a_lookup_that_succeeds_clears_its_failure_count():
    d, look = stop_lookup_pending()
    d.apply(Trigger.LOOKUP_REPLY, reply(look, fail=failure(FailureKind.TEMPORARY)))
    assert d.s.op_failures == {f"lookup:{look.client_id}": 1}
    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, stop_info(look.client_id, "58800")))
    assert step.state.state is State.PROTECTED and step.state.op_failures == {}


def test_a_failed_lookup_that_is_no_longer_wanted_changes_nothing():
    d, look = stop_lookup_pending()
    d.apply(Trigger.ALGO, algo_update(look.client_id, "NEW"))  # the stream reported it
    assert d.apply(Trigger.LOOKUP_REPLY, reply(look, fail=failure(FailureKind.HALT))) is None


def test_a_lookup_quarantine_keeps_the_stop_in_flight_and_tracks_it_if_it_lands():
    d, look = stop_lookup_pending()
    d.apply(Trigger.LOOKUP_REPLY, reply(look, fail=failure(FailureKind.HALT, -2015)))
    assert d.s.pending_stop is not None
    step = d.apply(Trigger.STOP_REPLY, accept(_stop_op(d.s)))
    assert step.kind == "stop_placed_while_quarantined" and step.requests == ()
    assert step.state.state is State.QUARANTINED and step.state.stop.client_id == \
        look.client_id


def _stop_op(s: SymbolState) -> PlaceStop:
    p = s.pending_stop
    return PlaceStop(SYMBOL, "SELL", p.qty, p.client_id, "STOP_MARKET", p.trigger_price,
                     "MARK_PRICE")


# --------------------------------------------------------------------------- cancels


@pytest.mark.parametrize(("kind", "code"), NOT_RETRIED, ids=lambda v: str(v))
def test_a_cancel_failing_for_good_quarantines_at_once_leaving_the_stops(kind, code):
    d, cancel = cancelling_old_stop()
    step = d.apply(Trigger.CANCEL_REPLY, reply(cancel, fail=failure(kind, code, "denied")))
    assert step.state.state is State.QUARANTINED and step.requests == ()
    assert step.retry_after_ms is None
    assert step.state.quarantine_reason.startswith(f"cancel {OLD_ID}: denied")
    assert step.state.stop.client_id == NEW_ID  # nothing on the exchange was touched


def test_a_transient_cancel_failure_retries_then_quarantines_at_the_cap():
    d, cancel = cancelling_old_stop()
    for n in range(1, MAX_OP_FAILURES):
        step = d.apply(Trigger.CANCEL_REPLY, reply(cancel, fail=failure(FailureKind.TEMPORARY)))
        assert step.kind == "cancel_retry_scheduled" and d.s.op_failures[f"cancel:{OLD_ID}"] == n
        assert only(d.apply(Trigger.RETRY, cancel), CancelStop) == cancel
    step = d.apply(Trigger.CANCEL_REPLY, reply(cancel, fail=failure(FailureKind.TEMPORARY)))
    assert step.state.state is State.QUARANTINED
    assert "gave up" in step.state.quarantine_reason and step.state.op_failures == {}


def test_cancel_failure_counts_are_kept_per_order():
    d, cancel = cancelling_old_stop()
    other = StopOrder("pg-7-BTCUSDT-sl-1", "10", D("58000"), QTY, "STOP_MARKET")
    d.s = d.s.replace(cancelling=d.s.cancelling + (other,))
    for _ in range(MAX_OP_FAILURES - 1):
        d.apply(Trigger.CANCEL_REPLY, reply(cancel, fail=failure(FailureKind.TEMPORARY)))
    step = d.apply(Trigger.CANCEL_REPLY, reply(CancelStop(SYMBOL, "10", other.client_id),
                                               fail=failure(FailureKind.TEMPORARY)))
    assert step.kind == "cancel_retry_scheduled"
    assert step.state.op_failures == {f"cancel:{OLD_ID}": MAX_OP_FAILURES - 1,
                                      f"cancel:{other.client_id}": 1}
    assert from_dict(to_dict(step.state)).op_failures == step.state.op_failures


def test_a_cancel_that_finds_nothing_counts_as_done_and_clears_its_count():
    d, cancel = cancelling_old_stop()
    d.apply(Trigger.CANCEL_REPLY, reply(cancel, fail=failure(FailureKind.TEMPORARY)))
    step = d.apply(Trigger.CANCEL_REPLY, reply(cancel, fail=failure(FailureKind.NOT_FOUND,
                                                                     -2011)))
    assert step.kind == "stop_cancelled" and step.state.cancelling == ()
    assert step.state.op_failures == {}


def test_a_retry_timer_that_fires_after_the_quarantine_sends_nothing():
    d, cancel = cancelling_old_stop()
    d.apply(Trigger.CANCEL_REPLY, reply(cancel, fail=failure(FailureKind.TEMPORARY)))
    d.apply(Trigger.CANCEL_REPLY, reply(cancel, fail=failure(FailureKind.HALT, -2015)))
    assert d.s.state is State.QUARANTINED
    assert d.apply(Trigger.RETRY, cancel) is None
