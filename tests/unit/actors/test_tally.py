"""A symbol actor's counters for the metrics (actors/tally.py): stop moves, failed stop
placements by kind, store append latency buckets, finished unprotected stretches.

The real state machine, driven like the actor shell drives it; each step is counted the way
the shell counts it (after it committed).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from actors import tally
from actors.messages import FailureKind, OpenPosition, PlaceMarket, PlaceStop, SymbolCounters
from venue.requests import AmendStop
from actors.symbol_machine import Step, Trigger
from tests.fakes.machine import (
    AMEND_CAPS,
    SYMBOL,
    Driver,
    accept,
    amended,
    failure,
    filled,
    mark,
    only,
    reply,
)

D = Decimal
QTY = D("0.010")
FAR = {"long": "61000", "short": "59000"}
STEP = {"long": D("100"), "short": D("-100")}
DOWN = failure(FailureKind.TEMPORARY, -1001, "Internal error; unable to process your request.")


class Counting(Driver):
    """A Driver that also keeps the counters, as the shell does after each commit."""

    counters: SymbolCounters = tally.fresh()

    def apply(self, trigger: Trigger, event: Any, advance_ms: int = 1000) -> Step | None:
        before = self.s
        step = super().apply(trigger, event, advance_ms)
        if step is not None:
            self.counters = tally.stepped(self.counters, before, trigger, event, step,
                                          self.now_ms)
        return step


def opened(side: str = "long") -> tuple[Counting, PlaceStop]:
    """A new position whose first stop is in flight."""
    d = Counting()
    op = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, side, QTY, "cmd-1")), PlaceMarket)
    return d, only(d.apply(Trigger.MARKET_REPLY, filled(op, avg="60000")), PlaceStop)


@pytest.mark.parametrize("side", ["long", "short"])
def test_each_accepted_managed_move_counts_once_and_the_first_stop_is_not_a_move(side):
    d, first = opened(side)
    d.apply(Trigger.STOP_REPLY, accept(first, algo_id="400"))
    assert d.counters.moves == 0

    for i in range(3):
        move = only(d.apply(Trigger.MARK, mark(D(FAR[side]) + i * STEP[side])), PlaceStop)
        d.apply(Trigger.STOP_REPLY, accept(move, algo_id=f"50{i}"))

    assert d.counters.moves == 3 == d.s.trail.moves
    assert d.counters.stop_failures == ()


def test_each_move_amended_in_place_counts_as_a_move():
    d = Counting(venue=AMEND_CAPS)
    op = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", QTY, "cmd-1")), PlaceMarket)
    first = only(d.apply(Trigger.MARKET_REPLY, filled(op, avg="60000")), PlaceStop)
    d.apply(Trigger.STOP_REPLY, accept(first, algo_id="400"))

    for i in range(2):
        move = only(d.apply(Trigger.MARK, mark(D(FAR["long"]) + i * STEP["long"])), AmendStop)
        d.apply(Trigger.AMEND_REPLY, amended(move, algo_id="400"))

    assert d.counters.moves == 2 == d.s.trail.moves


def test_failed_stop_placements_are_counted_by_failure_kind():
    d, stop = opened()

    d.apply(Trigger.STOP_REPLY, reply(stop, fail=DOWN), advance_ms=100)
    again = only(d.apply(Trigger.RETRY, stop, advance_ms=100), PlaceStop)
    d.apply(Trigger.STOP_REPLY, reply(again, fail=DOWN), advance_ms=100)
    again = only(d.apply(Trigger.RETRY, again, advance_ms=100), PlaceStop)
    lost = failure(FailureKind.UNKNOWN_OUTCOME, None, "no reply within 10 s")
    d.apply(Trigger.STOP_REPLY, reply(again, fail=lost), advance_ms=100)

    assert dict(d.counters.stop_failures) == {"temporary": 2, "unknown": 1}
    assert d.counters.moves == 0


def test_a_finished_unprotected_stretch_adds_exactly_its_length_and_an_open_one_nothing():
    d, stop = opened()  # the fill made the position unprotected
    since = d.s.unprotected_since_ms
    assert since is not None and d.counters.unprotected_ms == 0

    d.apply(Trigger.STOP_REPLY, accept(stop), advance_ms=250)

    assert d.s.unprotected_since_ms is None
    assert d.counters.unprotected_ms == d.now_ms - since == 250


def test_a_stretch_restored_from_the_snapshot_is_counted_from_its_persisted_start():
    # A restarted actor starts from zero counters but with the persisted unprotected_since_ms
    d, stop = opened()
    since = d.s.unprotected_since_ms
    assert since is not None
    d.counters = tally.fresh()  # the new process

    d.apply(Trigger.STOP_REPLY, accept(stop), advance_ms=4000)

    assert d.counters.unprotected_ms == d.now_ms - since == 4000


def test_append_latencies_fill_cumulative_buckets_with_their_count_and_sum():
    c = tally.fresh()
    for secs in (0.0004, 0.003, 0.003, 0.2, 9.0):
        c = tally.appended(c, secs)

    buckets = dict(zip(c.append_le_secs, c.append_buckets, strict=True))
    assert c.append_le_secs == tally.APPEND_BUCKETS_SECS
    assert (buckets[0.0005], buckets[0.0025], buckets[0.005], buckets[0.25]) == (1, 1, 3, 4)
    assert buckets[max(buckets)] == 4, "9 s is above every bound: only in the count (+Inf)"
    assert c.append_count == 5 and c.append_sum_secs == pytest.approx(9.2064)
    assert list(c.append_buckets) == sorted(c.append_buckets)
