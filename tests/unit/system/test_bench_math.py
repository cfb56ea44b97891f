"""The bench's arithmetic: percentiles, ratios to the floor, tick -> stop attribution."""

from __future__ import annotations

import pytest

from system.bench.reaction import Placed, Tick, attribute
from system.bench.stats import percentile, summary, with_ratio


def test_nearest_rank_percentiles():
    s = [float(i) for i in range(1, 101)]  # 1..100
    assert percentile(s, 50) == 50.0
    assert percentile(s, 99) == 99.0
    assert percentile(s, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summary_of_no_samples_is_explicitly_empty():
    assert summary([]) == {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    assert summary([3.0, 1.0, 2.0]) == {"n": 3, "p50_ms": 2.0, "p99_ms": 3.0, "max_ms": 3.0}


def test_ratio_to_the_floor():
    r = with_ratio({"n": 2, "p50_ms": 5.0, "p99_ms": 20.0, "max_ms": 20.0}, 0.5)
    assert (r["p50_x_floor"], r["p99_x_floor"]) == (10.0, 40.0)
    assert with_ratio({"n": 0, "p50_ms": None, "p99_ms": None}, 0.5)["p99_x_floor"] is None
    assert with_ratio({"n": 1, "p50_ms": 1.0, "p99_ms": 1.0}, None)["p50_x_floor"] is None


def test_each_stop_is_attributed_to_the_latest_earlier_tick_of_its_symbol():
    ticks = [Tick("A", 1.00, 10.000), Tick("B", 5.0, 10.100), Tick("A", 1.01, 11.000),
             Tick("B", 5.1, 11.100)]
    placed = [Placed("A", 10.012, "STOP_MARKET"), Placed("B", 10.130, "STOP_MARKET"),
              Placed("A", 11.020, "STOP_MARKET"), Placed("B", 11.105, "STOP_MARKET")]
    r = attribute(ticks, placed)
    assert [round(x, 3) for x in r.samples_ms] == [12.0, 30.0, 20.0, 5.0]
    assert (r.ticks, r.moves, r.missed, r.unattributed) == (4, 4, 0, 0)


def test_a_tick_without_a_move_before_the_next_tick_is_missed():
    ticks = [Tick("A", 1.00, 10.0), Tick("A", 1.01, 11.0), Tick("A", 1.02, 12.0)]
    # The first tick's move came after the second tick: it is attributed to the second one
    # and the first counts as missed; the last tick is not judged (window end).
    placed = [Placed("A", 11.004, "STOP_MARKET")]
    r = attribute(ticks, placed)
    assert [round(x, 3) for x in r.samples_ms] == [4.0]
    assert (r.ticks, r.missed) == (3, 1)


def test_ticks_without_a_new_high_demand_nothing_and_other_orders_are_not_moves():
    ticks = [Tick("A", 1.00, 10.0), Tick("A", 1.00, 11.0), Tick("A", 0.99, 12.0),
             Tick("A", 1.05, 13.0)]
    placed = [Placed("A", 10.01, "STOP_MARKET"), Placed("A", 13.01, "TRAILING_STOP_MARKET"),
              Placed("Z", 13.02, "STOP_MARKET")]
    r = attribute(ticks, placed)
    assert r.ticks == 2  # 1.00 at 10.0 and 1.05 at 13.0
    assert r.moves == 2 and r.unattributed == 1  # Z has no tick; the trailing order is no move
    assert [round(x, 3) for x in r.samples_ms] == [10.0]
