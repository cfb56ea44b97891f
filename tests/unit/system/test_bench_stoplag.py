"""Stop lag (system/bench/stoplag.py): a known price path and stop history give known lags."""

from __future__ import annotations

from decimal import Decimal

import pytest

from system.bench.stoplag import (
    Mark,
    StopCancelled,
    StopPlaced,
    ideal_stops,
    resting_stops,
    sample,
    shifted,
    summary_bps,
    value_at,
)
from tests.fakes.protection import LONG, SHORT, policy, rules

D = Decimal
# Entry 100, initial stop 2 % below (98.00); trailing activates at +1 % (a mark of 101) and
# rests 0.5 % behind the peak, rounded down to the 0.01 tick.
POLICY = policy(stop_loss_pct=2.0, mode="managed", activation_pct=1.0, callback_pct=0.5,
                min_update_interval_ms=0)
RULES = rules()
PATH = [Mark(1.0, D("100")), Mark(2.0, D("101")), Mark(3.0, D("102"))]


def _bps(stop_gap: str, mark: str) -> float:
    return float(D(stop_gap) / D(mark) * 10_000)


def test_the_ideal_stop_is_the_policy_on_the_price_path_with_zero_latency():
    ideal = ideal_stops(LONG, D("100"), 0.5, PATH, POLICY, RULES)
    # 101 * 0.995 = 100.495 -> 100.49; 102 * 0.995 = 101.49
    assert ideal == [(0.5, D("98.00")), (2.0, D("100.49")), (3.0, D("101.49"))]


def test_marks_before_the_open_are_not_the_positions():
    ideal = ideal_stops(LONG, D("100"), 2.5, PATH, POLICY, RULES)
    assert ideal == [(2.5, D("98.00")), (3.0, D("101.49"))]


def test_a_stop_that_never_moves_lags_by_the_whole_trail():
    ideal = ideal_stops(LONG, D("100"), 0.5, PATH, POLICY, RULES)
    resting = resting_stops(LONG, [StopPlaced(0.6, "s1", D("98.00"))], [])
    lag = sample(LONG, ideal, resting, PATH, 1.0, 4.0, every_secs=0.5)
    assert lag.uncovered == 0
    assert lag.samples_bps == pytest.approx([0.0, 0.0, _bps("2.49", "101"), _bps("2.49", "101"),
                                             _bps("3.49", "102"), _bps("3.49", "102")])


def test_a_move_that_overshoots_the_ideal_is_a_negative_lag():
    ideal = ideal_stops(LONG, D("100"), 0.5, PATH, POLICY, RULES)
    resting = resting_stops(LONG, [StopPlaced(0.6, "s1", D("98.00")),
                                   StopPlaced(2.1, "s2", D("100.60"))],
                            [StopCancelled(2.2, "s1")])
    lag = sample(LONG, ideal, resting, PATH, 2.0, 3.0, every_secs=0.5)
    # 2.0: the move is not there yet (ideal 100.49 vs 98); 2.5: 100.60 rests, 0.11 above ideal
    assert lag.samples_bps == pytest.approx([_bps("2.49", "101"), _bps("-0.11", "101")])


def test_before_trailing_activates_the_lag_is_measured_against_the_initial_stop():
    flat = [Mark(1.0, D("100")), Mark(2.0, D("100.5"))]  # below the 101 activation
    ideal = ideal_stops(LONG, D("100"), 0.5, flat, POLICY, RULES)
    assert ideal == [(0.5, D("98.00"))]
    wide = resting_stops(LONG, [StopPlaced(0.6, "s1", D("97.50"))], [])
    lag = sample(LONG, ideal, wide, flat, 1.5, 2.5, every_secs=0.5)
    assert lag.samples_bps == pytest.approx([_bps("0.5", "100"), _bps("0.5", "100.5")])


def test_a_short_lags_when_its_stop_rests_above_the_ideal():
    down = [Mark(1.0, D("100")), Mark(2.0, D("99"))]
    ideal = ideal_stops(SHORT, D("100"), 0.5, down, POLICY, RULES)
    assert ideal == [(0.5, D("102.00")), (2.0, D("99.50"))]  # 99 * 1.005 = 99.495 -> 99.50
    resting = resting_stops(SHORT, [StopPlaced(0.6, "s1", D("102.00"))], [])
    lag = sample(SHORT, ideal, resting, down, 2.0, 2.5, every_secs=0.5)
    assert lag.samples_bps == pytest.approx([_bps("2.5", "99")])


def test_while_a_move_is_placed_then_cancelled_the_tighter_stop_protects():
    resting = resting_stops(LONG, [StopPlaced(1.0, "a", D("98")), StopPlaced(2.0, "b", D("99"))],
                            [StopCancelled(2.0, "a"), StopCancelled(3.0, "b")])
    assert value_at(resting, 1.5) == D("98")
    assert value_at(resting, 2.0) == D("99")  # placed and cancelled at once: still covered
    assert value_at(resting, 3.5) is None
    assert value_at(resting, 0.5) is None


def test_a_sample_without_any_resting_stop_is_counted_as_uncovered_not_as_a_lag():
    ideal = ideal_stops(LONG, D("100"), 0.5, PATH, POLICY, RULES)
    resting = resting_stops(LONG, [StopPlaced(1.4, "s1", D("98.00"))], [])
    lag = sample(LONG, ideal, resting, PATH, 1.0, 2.0, every_secs=0.5)
    assert (lag.uncovered, lag.samples_bps) == (1, [0.0])


def test_a_perfect_engine_behind_a_floor_lags_only_for_the_floor_after_each_move():
    ideal = ideal_stops(LONG, D("100"), 0.5, PATH, POLICY, RULES)
    floor = shifted(ideal, 0.2)
    assert floor == [(0.5, D("98.00")), (2.2, D("100.49")), (3.2, D("101.49"))]
    lag = sample(LONG, ideal, floor, PATH, 2.0, 2.4, every_secs=0.1)
    assert lag.samples_bps == pytest.approx([_bps("2.49", "101")] * 2 + [0.0] * 2)


def test_lag_summary_in_bps():
    assert summary_bps([]) == {"n": 0, "p50_bps": None, "p99_bps": None, "max_bps": None}
    assert summary_bps([3.0, -1.0, 2.0]) == {"n": 3, "p50_bps": 2.0, "p99_bps": 3.0,
                                             "max_bps": 3.0}
    with pytest.raises(ValueError):
        sample(LONG, [], [], [], 0.0, 1.0, every_secs=0)
