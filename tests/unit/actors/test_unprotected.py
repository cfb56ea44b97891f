"""QUARANTINED never leaves a naked position (issue 13; actors/machine/coverage.py).

A symbol quarantined while no stop of ours rests keeps placing the stop with capped backoff,
under the stop's own client id, and alerts at once; after
protection.unprotectable_after_minutes `on_unprotectable` keeps retrying (alerting again) or
closes the position at market. A quarantine that began because the stop could not be placed
ends when it is placed. Pure state machine, driven like the actor shell drives it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.messages import (
    ClosePosition,
    FailureKind,
    LookupOrder,
    OpenPosition,
    PlaceMarket,
    PlaceStop,
)
from actors.protection import ProtectionPolicy
from actors.machine.core import MAX_STOP_FAILURES, Trigger
from actors.symbol_state import State, from_dict, to_dict
from tests.fakes.machine import (
    SYMBOL,
    TIMEOUT,
    Driver,
    accept,
    failure,
    filled,
    only,
    position,
    reply,
)

D = Decimal
QTY = D("0.010")
DOWN = failure(FailureKind.TEMPORARY, -1001, "Internal error; unable to process your request.")


def naked(pol: ProtectionPolicy | None = None) -> tuple[Driver, PlaceStop]:
    """A fresh position whose first stop is in flight."""
    d = Driver(pol=pol or ProtectionPolicy())
    op = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", QTY, "cmd-1")), PlaceMarket)
    return d, only(d.apply(Trigger.MARKET_REPLY, filled(op)), PlaceStop)


def quarantined(pol: ProtectionPolicy | None = None) -> tuple[Driver, PlaceStop]:
    """MAX_STOP_FAILURES transient refusals in a row (the 0.4 s hiccup of the issue)."""
    d, stop = naked(pol)
    for _ in range(MAX_STOP_FAILURES):
        step = d.apply(Trigger.STOP_REPLY, reply(stop, fail=DOWN), advance_ms=100)
        if step.state.state is not State.QUARANTINED:
            stop = only(d.apply(Trigger.RETRY, stop, advance_ms=100), PlaceStop)
    return d, stop


def test_three_transient_refusals_quarantine_and_the_stop_keeps_being_placed():
    d, stop = quarantined()
    assert d.s.state is State.QUARANTINED and d.s.stop is None

    step = d.apply(Trigger.RETRY, stop)

    again = only(step, PlaceStop)
    assert (again.client_id, again.qty, again.trigger_price) == (
        stop.client_id, QTY, stop.trigger_price), "the same stop, under its own client id"
    assert step.state.state is State.QUARANTINED
    stale = LookupOrder(SYMBOL, "pg-7-BTCUSDT-sl-1", True)  # a timer of something else
    assert d.apply(Trigger.RETRY, stale) is None, "no second attempt beside this one"


def test_the_quarantine_alerts_at_once_and_only_once_per_unprotected_stretch():
    d, stop = quarantined()
    entered = d.steps[-1]
    assert entered.kind == "quarantined" and entered.alert is not None
    assert "QUARANTINED and UNPROTECTED" in entered.alert and SYMBOL in entered.alert

    d.apply(Trigger.RETRY, stop)
    step = d.apply(Trigger.STOP_REPLY, reply(stop, fail=DOWN))

    assert step.alert is None and step.state.unprotected
    assert from_dict(to_dict(step.state)).unprotected_alerts == step.state.unprotected_alerts


def test_retries_while_quarantined_back_off_doubling_to_a_cap_of_a_few_seconds():
    d, stop = quarantined()
    delays = [d.steps[-1].retry_after_ms]
    for _ in range(8):
        only(d.apply(Trigger.RETRY, stop), PlaceStop)
        delays.append(d.apply(Trigger.STOP_REPLY, reply(stop, fail=DOWN)).retry_after_ms)

    assert delays[:4] == [400, 800, 1600, 3200]
    assert max(delays) == delays[-1] == 5000


def test_a_stop_accepted_after_the_quarantine_releases_it_to_protected_with_no_error():
    d, stop = quarantined()
    only(d.apply(Trigger.RETRY, stop), PlaceStop)

    step = d.apply(Trigger.STOP_REPLY, accept(stop, algo_id="4000000009"))

    s = step.state
    assert s.state is State.PROTECTED and s.stop.algo_id == "4000000009"
    assert (s.quarantine_reason, s.last_error, s.stop_failures) == (None, None, 0)
    assert not s.unprotected and s.unprotected_since_ms is None


def test_halt_on_the_first_stop_quarantines_at_once_and_keeps_placing_it():
    d, stop = naked()
    step = d.apply(Trigger.STOP_REPLY, reply(stop, fail=failure(FailureKind.HALT, -2015,
                                                                  "Invalid API-key.")))
    assert step.state.state is State.QUARANTINED and step.retry_after_ms is not None
    assert only(d.apply(Trigger.RETRY, stop), PlaceStop).client_id == stop.client_id


def test_an_unknown_outcome_while_quarantined_is_looked_up_and_a_lookup_timer_goes_on():
    d, stop = quarantined()
    only(d.apply(Trigger.RETRY, stop), PlaceStop)
    look = only(d.apply(Trigger.STOP_REPLY, reply(stop, fail=TIMEOUT)), LookupOrder)
    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, fail=failure(FailureKind.TEMPORARY)))
    assert step.retry_after_ms is not None
    assert only(d.apply(Trigger.RETRY, look), LookupOrder) == look
    step = d.apply(Trigger.LOOKUP_REPLY, reply(look, None))  # never placed: placed again
    assert only(step, PlaceStop).client_id == stop.client_id


def test_keep_retrying_alerts_again_once_past_the_limit_and_keeps_placing():
    pol = ProtectionPolicy(on_unprotectable="keep_retrying", unprotectable_after_minutes=1.0)
    d, stop = quarantined(pol)
    d.apply(Trigger.RETRY, stop)

    step = d.apply(Trigger.STOP_REPLY, reply(stop, fail=DOWN), advance_ms=61_000)

    assert step.alert is not None and "UNPROTECTED for" in step.alert
    assert "keep_retrying" in step.alert
    assert only(d.apply(Trigger.RETRY, stop), PlaceStop).client_id == stop.client_id
    later = d.apply(Trigger.STOP_REPLY, reply(stop, fail=DOWN))
    assert later.alert is None, "one reminder per stretch, not one per attempt"


def test_close_policy_closes_at_market_once_unprotected_past_the_limit():
    pol = ProtectionPolicy(on_unprotectable="close", unprotectable_after_minutes=0.5)
    d, stop = quarantined(pol)
    only(d.apply(Trigger.RETRY, stop, advance_ms=10_000), PlaceStop)  # 10 s: not yet
    d.apply(Trigger.STOP_REPLY, reply(stop, fail=DOWN))

    step = d.apply(Trigger.RETRY, stop, advance_ms=25_000)

    close = only(step, PlaceMarket)
    assert (close.side, close.qty, close.reduce_only) == ("SELL", QTY, True)
    assert step.state.state is State.CLOSING and step.kind == "unprotectable_close"
    assert step.alert is not None and "closing it at market" in step.alert
    done = d.apply(Trigger.MARKET_REPLY, filled(close, avg="59990"))
    assert done.state.state is State.FLAT and not done.state.unprotected


def test_with_the_close_policy_the_last_wait_ends_when_the_limit_is_reached():
    pol = ProtectionPolicy(on_unprotectable="close", unprotectable_after_minutes=0.05)  # 3 s
    d, stop = quarantined(pol)
    since = d.s.unprotected_since_ms
    only(d.apply(Trigger.RETRY, stop, advance_ms=400), PlaceStop)

    step = d.apply(Trigger.STOP_REPLY, reply(stop, fail=DOWN), advance_ms=1_900)

    assert step.retry_after_ms == since + 3_000 - d.now_ms < 1_600  # not the 1.6 s backoff
    step = d.apply(Trigger.RETRY, stop, advance_ms=step.retry_after_ms)
    assert step.kind == "unprotectable_close"


def test_the_position_closing_while_quarantined_ends_the_quarantine():
    d, stop = quarantined()
    step = d.apply(Trigger.POSITION, position("0", "0"))
    assert step.state.state is State.FLAT and step.kind == "position_closed"
    assert d.apply(Trigger.RETRY, stop) is None


def test_the_operator_can_close_a_quarantined_position():
    d, _ = quarantined()
    step = d.apply(Trigger.CLOSE, ClosePosition(SYMBOL, command_id="cmd-close"))
    assert step.state.state is State.CLOSING and only(step, PlaceMarket).reduce_only


@pytest.mark.parametrize("minutes,choice", [(2.0, "keep_retrying")])
def test_defaults_keep_retrying_and_alert_after_two_minutes(minutes, choice):
    p = ProtectionPolicy()
    assert (p.unprotectable_after_minutes, p.on_unprotectable) == (minutes, choice)
