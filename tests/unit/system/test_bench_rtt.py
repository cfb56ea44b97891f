"""The bench at a round trip (system/bench/rtt.py): --rtt-ms values, the floors derived from
what the bare simulator measured, the targets (system/bench/report_targets.py) and the report
lines per RTT."""

from __future__ import annotations

import pytest

from system.bench import report, report_targets
from system.bench.rtt import floors, latency_for, parse_rtts, reaction_target, with_rtt
from system.sim.settings import SimSettings


def _s(p50: float | None, n: int = 100) -> dict:
    return {"n": n, "p50_ms": p50, "p99_ms": p50, "max_ms": p50}


def test_rtts_are_parsed_ascending_each_once():
    assert parse_rtts("60,0, 20,150,20") == (0.0, 20.0, 60.0, 150.0)
    assert parse_rtts("7.5") == (7.5,)


@pytest.mark.parametrize("text, message", [
    ("", "at least one"), ("fast", "like 0,20,60,150"), ("-5", "between 0 and 2000"),
    ("0,5000", "between 0 and 2000"), ("nan", "between 0 and 2000"),
    ("inf", "between 0 and 2000"),
])
def test_bad_rtts_are_refused_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        parse_rtts(text)


def test_an_rtt_is_the_rest_round_trip_and_half_of_it_one_way_on_the_streams():
    lat = latency_for(60.0)
    assert (lat.rest_rtt_ms, lat.stream_delay_ms, lat.jitter_ms) == (60.0, 30.0, 0.0)
    base = SimSettings()
    assert with_rtt(base, 0.0) is base  # loopback: the settings as they are
    assert with_rtt(base, 20.0).latency.rest_rtt_ms == 20.0


def test_the_floors_come_from_the_measured_p50s():
    fl = floors(60.0, _s(61.0), _s(30.6))
    # reaction: stream one-way + half a round trip; routing: stream one-way;
    # open -> stop: min(half a round trip, stream one-way) + half a round trip
    assert fl["reaction_floor_ms"] == pytest.approx(30.6 + 30.5)
    assert fl["routing_floor_ms"] == 30.6
    assert fl["open_floor_ms"] == pytest.approx(30.5 + 30.5)
    fast_stream = floors(60.0, _s(61.0), _s(2.0))
    assert fast_stream["open_floor_ms"] == pytest.approx(2.0 + 30.5)
    assert floors(0.0, _s(None, 0), _s(0.3))["reaction_floor_ms"] is None


def _window(p99: float, missed: int = 0, collapsed: str | None = None) -> dict:
    return {"reaction": {"p99_ms": p99}, "missed": missed, "collapsed": collapsed}


def test_the_reaction_target_is_floor_plus_slack_with_no_missed_tick():
    fl = floors(60.0, _s(60.0), _s(30.0))  # reaction floor 60 ms
    assert reaction_target(100, 60.0, fl, _window(84.0))["met"] is True
    assert reaction_target(100, 60.0, fl, _window(86.0))["met"] is False
    assert reaction_target(100, 60.0, fl, _window(30.0, missed=1))["met"] is False
    assert reaction_target(100, 60.0, fl, _window(30.0, collapsed="behind"))["met"] is False
    assert reaction_target(300, 60.0, fl, _window(109.0, missed=3))["met"] is True
    assert reaction_target(300, 20.0, fl, _window(1.0)) is None  # 300 symbols: RTT 60 only
    assert reaction_target(10, 60.0, fl, _window(1.0)) is None


def _burst(p99: float, positions: int = 100, n: int | None = None) -> dict:
    return {"positions": positions, "sent_within_secs": 0.4, "target_ms": 145.0,
            "open_to_stop": {"n": positions if n is None else n, "p50_ms": p99 / 2,
                             "p99_ms": p99, "max_ms": p99, "p50_x_floor": 1.0,
                             "p99_x_floor": 2.0}}


def _result() -> dict:
    fl = floors(60.0, _s(60.0), _s(30.0))
    lv100 = {"symbols": 100, "target": reaction_target(100, 60.0, fl, _window(70.0))}
    lv300 = {"symbols": 300, "target": reaction_target(300, 60.0, fl, _window(200.0))}
    return {"rtt": [{"rtt_ms": 60.0, "floor": fl, "levels": [lv100, lv300],
                     "open_burst": _burst(120.0),
                     "unprotected": {"coverage_lost_total_ms": 0.0}}],
            "stop_lag": {"rtt_ms": 60.0, "budget": {}, "levels": [{
                "symbols": 100, "stop_lag": {"n": 5, "p50_bps": 3.0, "p99_bps": 41.5,
                                             "max_bps": 50.0},
                "floor_lag": {"n": 5, "p50_bps": 0.0, "p99_bps": 19.9, "max_bps": 20.0},
                "uncovered_samples": 0, "moves": 900, "missed": 400, "drain_secs": 3.2,
                "reaction": {"p99_ms": 950.0}, "open_burst": _burst(900.0)}]},
            "durability": [{"backend": "sqlite", "lost": 0, "acknowledged": 6,
                            "unsettled": []}]}


def test_every_target_is_judged_with_its_figure_or_said_not_measured():
    by = {t["target"]: t for t in report_targets.evaluate(_result())}
    assert by["reaction p99 <= floor + 25 ms, 0 missed, 100 symbols, RTT 60"]["met"] is True
    t300 = by["reaction p99 <= floor + 50 ms, 300 symbols, RTT 60"]
    assert t300["met"] is False and "p99 200.0 ms vs 110.0 ms" in t300["figure"]
    assert by["open -> first stop p99 <= 2 x RTT + 25 ms, RTT 60"]["met"] is True
    assert by["unprotected window 0 ms (coverage lost), RTT 60"]["met"] is True
    real = by["real budget, 100 symbols trailing, RTT 60: open -> first stop p99 <= 2 x RTT "
              "+ 25 ms"]
    assert real["met"] is False and "p99 900.0 ms vs 145.0 ms" in real["figure"]
    assert "p99 41.5 bps" in by["stop lag reported, real budget, 100 symbols, RTT 60"]["figure"]
    assert by["I-1 durability trials 0 lost (sqlite)"]["met"] is True


def test_a_burst_smaller_than_100_or_with_an_unprotected_position_never_meets_the_target():
    assert report_targets._burst("x", _burst(10.0, positions=10))["met"] is False
    assert "only 10 opened" in report_targets._burst("x", _burst(10.0, positions=10))["figure"]
    assert report_targets._burst("x", _burst(10.0, n=99))["met"] is False
    assert report_targets._burst("x", None) == {"target": "x", "figure": "not measured",
                                                "met": None}


def test_a_run_without_a_100_symbol_level_says_so_instead_of_meeting_it():
    r = _result()
    r["rtt"][0]["levels"] = [{"symbols": 10, "target": None}]
    by = {t["target"]: t for t in report_targets.evaluate(r)}
    t = by["reaction p99 <= floor + 25 ms, 0 missed, 100 symbols, RTT 60"]
    assert (t["met"], t["figure"]) == (None, "not measured")


def test_the_report_prints_the_floors_per_rtt_the_stop_lag_and_the_verdicts():
    r = _result()
    r["targets"] = report_targets.evaluate(r)
    floor_lines = "\n".join(report._floor(r))
    assert "RTT 60: REST round trip" in floor_lines
    assert "floors: reaction 60.00 ms, routing 30.00 ms, open -> stop 60.00 ms" in floor_lines
    lag = "\n".join(report_targets.stop_lag(r))
    assert "RTT 60 ms, real order budget" in lag
    assert "41.5" in lag and "19.9" in lag and "open burst: 100 opened" in lag
    verdicts = report_targets.targets(r)
    assert "  [MISSED] reaction p99 <= floor + 50 ms, 300 symbols, RTT 60: p99 200.0 ms vs " \
           "110.0 ms" in verdicts
    assert any(v.startswith("  [met   ] open -> first stop") for v in verdicts)
