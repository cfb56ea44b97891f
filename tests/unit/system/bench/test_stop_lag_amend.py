"""Stop lag on a venue that amends in place (Bybit): the probe records an amend as the stop's
old trigger cancelled and its new one placed, one client id, one instant. The stop rests on
throughout at its new trigger; it never counts as uncovered."""

from __future__ import annotations

from decimal import Decimal as D

from actors.protection import Side
from system.bench.stoplag import Mark, StopCancelled, StopPlaced, resting_stops, sample


def test_an_amend_keeps_the_stop_resting_at_its_new_trigger():
    placed = [StopPlaced(1.0, "pg-1", D("98")), StopPlaced(2.0, "pg-1", D("99")),
              StopPlaced(3.0, "pg-1", D("100"))]
    cancelled = [StopCancelled(2.0, "pg-1"), StopCancelled(3.0, "pg-1")]
    assert resting_stops(Side.LONG, placed, cancelled) == [
        (1.0, D("98")), (2.0, D("99")), (3.0, D("100"))]


def test_an_amended_stop_is_sampled_covered_and_a_real_cancel_still_uncovers():
    placed = [StopPlaced(1.0, "pg-1", D("98")), StopPlaced(2.0, "pg-1", D("99"))]
    cancelled = [StopCancelled(2.0, "pg-1"), StopCancelled(2.5, "pg-1")]
    resting = resting_stops(Side.LONG, placed, cancelled)
    ideal = [(1.0, D("98")), (2.0, D("99"))]
    marks = [Mark(1.0, D("100")), Mark(2.0, D("101"))]
    lag = sample(Side.LONG, ideal, resting, marks, 1.0, 3.0, every_secs=0.25)
    assert lag.samples_bps == [0.0] * 6   # 1.0 .. 2.25: covered at the ideal stop
    assert lag.uncovered == 2             # 2.5, 2.75: cancelled for real
