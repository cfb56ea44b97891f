"""A position report older than the newest one applied is stale and changes nothing.

The chaos run with seed 3032071012 found it: a short filled 42 % and then the rest; the user
stream delivered the grown position (1.00) and only then, reordered, the partial one (0.42).
The symbol resized its stop down to 0.42 and cancelled the 1.00 stop, and the position was
short of cover for 3.4 s until the sweep noticed. The venue's own time of each report
(ACCOUNT_UPDATE `T`, Bybit's `updatedTime`; the REST position's update time) orders them.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from actors.messages import CancelStop, FetchSymbol, PlaceStop, PositionUpdate
from actors.symbol_machine import Trigger
from actors.symbol_state import State, from_dict, to_dict
from tests.fakes.machine import (
    SYMBOL,
    T0,
    Driver,
    accept,
    only,
    reply,
    snapshot,
    stop_info,
)
from tests.fakes.states import open_and_protect

D = Decimal


def report(amount: str, tx_ms: int, event_ms: int | None = None) -> PositionUpdate:
    """A position report whose venue time is `tx_ms` (`event_ms`: the frame's, default same)."""
    return PositionUpdate(SYMBOL, D(amount), D("60000"), "ORDER",
                          tx_ms if event_ms is None else event_ms, tx_ms)


def grown() -> Driver:
    """PROTECTED at 0.010, then a report at T0+2000 grew it to 0.020 and the stop followed."""
    d = Driver()
    open_and_protect(d)
    step = d.apply(Trigger.POSITION, report("0.020", T0 + 2000))
    resize = only(step, PlaceStop)
    d.apply(Trigger.STOP_REPLY, accept(resize, algo_id="4000000002"))
    assert d.s.stop.qty == D("0.020") and d.s.state is State.PROTECTED
    return d


def resting_snapshot(d: Driver):
    """REST showing the grown position with its stop resting (no update time given)."""
    stop = d.s.stop
    return snapshot("0.020", "60000",
                    stops=(stop_info(stop.client_id, str(stop.trigger_price), qty="0.020"),))


@pytest.mark.parametrize("amount", ["0.010", "0", "-0.010"])
def test_a_report_older_than_the_one_applied_changes_nothing(amount):
    d = grown()
    before = d.s
    step = d.apply(Trigger.POSITION, report(amount, T0 + 1000))
    assert step is not None and step.kind == "stale_position_ignored"
    assert step.requests == ()  # no smaller stop, no cancel, no reconcile
    assert (step.state.qty, step.state.side, step.state.stop) == (
        before.qty, before.side, before.stop)
    assert step.state.state is State.PROTECTED
    assert step.payload["amount"] == str(D(amount)) and step.payload["newest_ms"] == T0 + 2000


def test_the_venue_time_orders_reports_not_the_frame_time():
    # Bybit's position row carries its own updatedTime; the frame's creationTime may be later.
    d = grown()
    step = d.apply(Trigger.POSITION, report("0.010", T0 + 1000, event_ms=T0 + 9000))
    assert step.kind == "stale_position_ignored"


def test_a_report_without_a_venue_time_is_ordered_by_its_event_time():
    d = grown()
    step = d.apply(Trigger.POSITION, report("0.010", 0, event_ms=T0 + 1000))
    assert step.kind == "stale_position_ignored"
    step = d.apply(Trigger.POSITION, report("0.010", 0, event_ms=T0 + 3000))
    assert step.kind == "stop_resize_requested"


def test_a_report_as_new_as_the_newest_is_applied():
    # Two changes in one millisecond cannot be ordered: the later one read wins, as before.
    d = grown()
    step = d.apply(Trigger.POSITION, report("0.030", T0 + 2000))
    assert step.kind == "stop_resize_requested" and only(step, PlaceStop).qty == D("0.030")


def test_a_newer_report_still_resizes_and_closes():
    d = grown()
    step = d.apply(Trigger.POSITION, report("0.010", T0 + 3000))
    assert step.kind == "stop_resize_requested" and only(step, PlaceStop).qty == D("0.010")
    d = grown()
    step = d.apply(Trigger.POSITION, report("0", T0 + 3000))
    assert step.kind == "position_closed" and only(step, CancelStop)


def test_the_rest_read_counts_as_a_report():
    # Reconciled from REST showing 0.020 as of T0+5000: a stream report from before is stale.
    d = grown()
    d.s = d.s.replace(state=State.RECONCILING)
    snap = replace(resting_snapshot(d), position_ms=T0 + 5000)
    step = d.apply(Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL), snap))
    assert step.state.state is State.PROTECTED and step.state.position_ms == T0 + 5000
    step = d.apply(Trigger.POSITION, report("0.010", T0 + 4000))
    assert step.kind == "stale_position_ignored" and step.requests == ()


def test_a_rest_read_without_a_time_keeps_the_newest_report_time():
    d = grown()
    d.s = d.s.replace(state=State.RECONCILING)
    step = d.apply(Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL), resting_snapshot(d)))
    assert step.state.position_ms == T0 + 2000


def test_the_newest_report_time_survives_a_restart():
    d = grown()
    assert from_dict(to_dict(d.s)).position_ms == T0 + 2000
    legacy = to_dict(d.s)
    del legacy["position_ms"]  # a snapshot written before the field existed
    assert from_dict(legacy).position_ms == 0


def test_a_stale_report_while_reconciling_does_not_fetch_again():
    d = grown()
    d.s = d.s.replace(state=State.RECONCILING)
    step = d.apply(Trigger.POSITION, report("0.010", T0 + 1000))
    assert step.kind == "stale_position_ignored" and not step.state.reconcile.dirty
