"""Restart intensity: window, backoff growth, jitter bounds, operator reset."""

from __future__ import annotations

from actors.restarts import RestartIntensity


def _intensity(rand: float = 1.0) -> RestartIntensity:
    return RestartIntensity(3, 30.0, 100, 10_000, rand=lambda: rand)


def test_three_restarts_within_the_window_are_allowed_and_the_fourth_quarantines():
    r = _intensity()

    delays = [r.allow("BTCUSDT", t) for t in (0.0, 1.0, 2.0)]

    assert all(d is not None for d in delays)
    assert r.allow("BTCUSDT", 3.0) is None


def test_backoff_doubles_per_recent_restart_and_is_capped():
    r = RestartIntensity(10, 30.0, 100, 500, rand=lambda: 1.0)

    delays = [r.allow("X", float(t)) for t in range(5)]

    assert delays == [0.1, 0.2, 0.4, 0.5, 0.5]


def test_jitter_keeps_the_delay_between_half_and_the_full_backoff():
    low, high = _intensity(0.0).allow("X", 0.0), _intensity(1.0).allow("X", 0.0)

    assert (low, high) == (0.05, 0.1)


def test_restarts_older_than_the_window_no_longer_count():
    r = _intensity()
    for t in (0.0, 1.0, 2.0):
        r.allow("X", t)

    assert r.allow("X", 32.5) is not None
    assert r.recent("X", 32.5) == 1


def test_symbols_are_counted_separately_and_reset_forgets_one():
    r = _intensity()
    for t in (0.0, 1.0, 2.0):
        r.allow("A", t)

    assert r.allow("B", 3.0) is not None
    r.reset("A")
    assert r.allow("A", 3.0) is not None
