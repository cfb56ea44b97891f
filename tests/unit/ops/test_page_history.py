"""The status page's price history: one point per step, one hour, symbols gone dropped."""

from __future__ import annotations

import pytest

from ops.page.history import PriceHistory

T0 = 1_795_263_300_000  # a multiple of 5 s


def test_samples_within_one_step_collapse_into_one_point_holding_the_latest_values():
    h = PriceHistory(window_ms=60_000, step_ms=5_000)

    for i, mark in enumerate(("100", "101", "102")):
        h.record(T0 + i * 1_000, {"BTCUSDT": (mark, "98")})
    h.record(T0 + 5_000, {"BTCUSDT": ("103", "99")})

    assert h.points("BTCUSDT") == [(T0 + 2_000, 102.0, 98.0), (T0 + 5_000, 103.0, 99.0)]


def test_points_older_than_the_window_are_dropped_so_a_symbol_never_holds_more_than_max():
    h = PriceHistory(window_ms=60_000, step_ms=5_000)

    for s in range(0, 600):  # ten minutes of one status a second
        h.record(T0 + s * 1_000, {"ETHUSDT": (str(2000 + s), None)})

    points = h.points("ETHUSDT")
    assert len(points) <= h.max_points == 13
    assert points[-1] == (T0 + 599_000, 2599.0, None)
    assert points[0][0] >= T0 + 599_000 - 60_000
    assert [p[0] for p in points] == sorted(p[0] for p in points)


def test_a_missing_stop_is_none_and_a_missing_mark_adds_no_point():
    h = PriceHistory(window_ms=60_000, step_ms=5_000)

    h.record(T0, {"SOLUSDT": (None, "90")})
    assert h.points("SOLUSDT") == []
    h.record(T0 + 5_000, {"SOLUSDT": ("100", None)})
    h.record(T0 + 10_000, {"SOLUSDT": ("bad", "nan")})

    assert h.points("SOLUSDT") == [(T0 + 5_000, 100.0, None)]


def test_a_symbol_gone_from_the_status_for_the_whole_window_is_dropped():
    h = PriceHistory(window_ms=60_000, step_ms=5_000)
    h.record(T0, {"BTCUSDT": ("100", "98"), "ETHUSDT": ("10", "11")})

    h.record(T0 + 59_000, {"BTCUSDT": ("100", "98")})
    assert h.symbols() == ["BTCUSDT", "ETHUSDT"]  # gone less than the window: kept
    h.record(T0 + 61_000, {"BTCUSDT": ("100", "98")})

    assert h.symbols() == ["BTCUSDT"]
    assert h.points("ETHUSDT") is None


def test_a_wall_clock_stepping_back_keeps_the_points_in_time_order():
    h = PriceHistory(window_ms=60_000, step_ms=5_000)
    h.record(T0 + 10_000, {"BTCUSDT": ("100", "98")})

    h.record(T0, {"BTCUSDT": ("90", "88")})

    assert h.points("BTCUSDT") == [(T0 + 10_000, 100.0, 98.0)]


def test_the_default_is_one_point_per_5_s_over_one_hour():
    h = PriceHistory()

    assert (h.window_ms, h.step_ms, h.max_points) == (3_600_000, 5_000, 721)
    with pytest.raises(ValueError, match="step_ms=0"):
        PriceHistory(step_ms=0)
