"""Urgency of a stop move (actors/urgency.py): the profit the resting stop gives back
compared with the ideal one, in bps of the mark."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.protection import Side, TrailState
from actors.urgency import ideal_stop, urgency_bps
from tests.fakes.machine import RULES, policy

D = Decimal


def trail(active: bool, peak: str | None, stop: str) -> TrailState:
    return TrailState(active, None if peak is None else D(peak), D(stop), 0, 0)


def test_urgency_is_the_gap_between_ideal_and_resting_in_bps_of_the_mark():
    assert urgency_bps(D("60695"), D("58800"), D("61000")) == pytest.approx(310.6557, rel=1e-5)
    assert urgency_bps(D("100"), D("99"), D("100")) == pytest.approx(100.0)


def test_urgency_is_the_same_either_side_of_the_ideal_and_zero_when_it_rests_there():
    assert urgency_bps(D("99"), D("100"), D("100")) == urgency_bps(D("101"), D("100"), D("100"))
    assert urgency_bps(D("100"), D("100"), D("105")) == 0.0


def test_a_nonpositive_mark_weighs_nothing():
    assert urgency_bps(D("100"), D("90"), D("0")) == 0.0


def test_the_ideal_stop_trails_the_peak_by_the_callback_rounded_away_from_the_market():
    pol = policy(callback_pct=0.5)
    # long: 61001 * 0.995 = 60695.995 -> down to the tick
    assert ideal_stop(Side.LONG, trail(True, "61001", "58800"), pol, RULES) == D("60695.9")
    # short: 59000 * 1.005 = 59295 exactly; 59000.1 * 1.005 = 59295.1005 -> up
    assert ideal_stop(Side.SHORT, trail(True, "59000.1", "61000"), pol, RULES) == D("59295.2")


def test_before_trailing_activates_the_ideal_stop_is_the_resting_one():
    assert ideal_stop(Side.LONG, trail(False, None, "58800"), policy(), RULES) == D("58800")
