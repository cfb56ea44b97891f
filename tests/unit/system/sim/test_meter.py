"""The unprotected-window meter."""

from __future__ import annotations

from system.sim.meter import UnprotectedMeter
from tests.unit.system.sim.helpers import d, make_engine, stop


def _protected_long():
    eng, clock = make_engine()
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "open", False)
    clock.advance(40)
    old = eng.place_algo(stop(trigger="59000", cid="old"))
    return eng, clock, old


def _report(eng, clock):
    return eng.meter.report(clock.monotonic())["per_symbol"]["BTCUSDT"]


def test_open_then_protect_is_an_opened_uncovered_gap():
    eng, clock, _ = _protected_long()
    r = _report(eng, clock)
    assert r["count_by_kind"] == {"opened_uncovered": 1, "coverage_lost": 0}
    assert r["total_ms_by_kind"]["opened_uncovered"] == 40.0


def test_cancel_then_create_reports_a_coverage_lost_gap():
    eng, clock, old = _protected_long()
    eng.cancel_algo("BTCUSDT", old.algo_id, None)
    clock.advance(25)
    eng.place_algo(stop(trigger="59500", cid="new"))
    r = _report(eng, clock)
    assert r["count_by_kind"]["coverage_lost"] == 1
    assert r["total_ms_by_kind"]["coverage_lost"] == 25.0 and r["max_gap_ms"] == 40.0
    gaps = eng.meter.report(clock.monotonic())["gaps"]
    assert gaps[-1]["kind"] == "coverage_lost" and gaps[-1]["duration_ms"] == 25.0


def test_create_then_cancel_reports_no_coverage_lost():
    eng, clock, old = _protected_long()
    eng.place_algo(stop(trigger="59500", cid="new"))
    clock.advance(25)
    eng.cancel_algo("BTCUSDT", old.algo_id, None)
    clock.advance(25)
    r = _report(eng, clock)
    assert r["count_by_kind"]["coverage_lost"] == 0
    assert r["total_ms_by_kind"]["coverage_lost"] == 0.0 and r["open_gap"] is None


def test_growing_a_covered_position_is_opened_uncovered_not_coverage_lost():
    eng, clock, _ = _protected_long()
    eng.place_market("BTCUSDT", "BUY", d("0.010"), "add", False)
    clock.advance(10)
    r = _report(eng, clock)
    assert r["open_gap"]["kind"] == "opened_uncovered" and r["open_gap"]["duration_ms"] == 10.0


def test_close_position_stop_covers_any_size():
    m = UnprotectedMeter(10)
    m.update("X", 0.0, d(5), None)
    m.update("X", 1.0, d(50), None)
    assert m.report(2.0)["per_symbol"]["X"]["total_ms"] == 0.0


def test_position_closing_ends_the_gap():
    m = UnprotectedMeter(10)
    m.update("X", 0.0, d(5), d(0))
    m.update("X", 0.5, d(0), d(0))
    r = m.report(9.0)
    assert r["per_symbol"]["X"]["total_ms"] == 500.0 and r["max_gap_ms"] == 500.0


def test_gap_list_is_bounded():
    m = UnprotectedMeter(3)
    for i in range(10):
        m.update("X", float(i), d(1), d(0))
        m.update("X", i + 0.1, d(1), None)
    assert len(m.report(20.0)["gaps"]) == 3
