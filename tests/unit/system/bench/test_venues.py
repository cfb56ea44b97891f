"""`posguard bench --venues`: the per-venue sections are planned and said per venue, every
venue is a column of the report's venue table, and a bad venue list is refused by name."""

from __future__ import annotations

import argparse

import pytest

from system.bench.durability import HELD_PATHS, venue_order_id
from system.bench.progress import Progress, plan
from system.bench.report import format_table
from system.bench.report_venues import venue_table
from system.bench.run import VENUES, Options, venue_overrides
from system.commands import _venues


def test_each_venue_runs_its_own_sections_and_the_store_appends_once():
    opts = Options(levels=(1,), open_burst=0, stop_lag_levels=(10,), stop_lag_rtt_ms=0.0,
                   venues=VENUES)
    titles = [title for _key, title in plan(opts)]
    per = ["floor", "reaction 1 symbol (level 1/1)", "recovery at 1 symbols",
           "cold restart of 1 positions", "aligned ticks at 1 symbols",
           "stop lag at 10 symbols, real order budget, RTT 0 ms", "durability"]
    assert titles == ([f"binanceusdm: {t}" for t in per] + [f"bybit: {t}" for t in per]
                      + ["store appends"])
    said: list[str] = []
    p = Progress(said.append, opts)
    p.venue = "bybit"
    p.section("durability")
    p("trial 1/1 ...")
    p.venue = None
    p.section("store")
    p("appends ...")
    assert said == ["[14/15] bybit: durability: trial 1/1 ...", "[15/15] store appends: appends ..."]


def test_one_venue_plans_as_before():
    assert [t for _k, t in plan(Options(levels=(1,), open_burst=0, stop_lag_levels=()))] == [
        "floor", "reaction 1 symbol (level 1/1)", "recovery at 1 symbols",
        "cold restart of 1 positions", "aligned ticks at 1 symbols", "durability",
        "store appends"]


def test_the_venue_list_is_parsed_and_bad_ones_refused_naming_the_known_venues():
    assert _venues("bybit") == ("bybit",)
    assert _venues("bybit, binanceusdm") == ("bybit", "binanceusdm")
    for bad in ("", "kraken", "bybit,bybit", "bybit,,okx"):
        with pytest.raises(argparse.ArgumentTypeError, match="binanceusdm, bybit"):
            _venues(bad)
    with pytest.raises(ValueError, match="kraken"):
        venue_overrides("kraken")
    assert venue_overrides("bybit") == ["exchange.name=bybit"]


def test_durability_trials_aim_at_each_venues_paths_and_ids():
    assert HELD_PATHS["binanceusdm"] == ("/fapi/v1/order", "/fapi/v1/algoOrder")
    assert set(HELD_PATHS["bybit"]) <= {"/v5/order/create", "/v5/order/amend"}
    assert venue_order_id("binanceusdm", 7) == "7"
    assert venue_order_id("bybit", 7) == "00000000-0000-0000-0000-000000000007"


def _summary(p50: float, p99: float, n: int = 10) -> dict:
    return {"n": n, "p50_ms": p50, "p99_ms": p99, "max_ms": p99, "p50_x_floor": 1.0,
            "p99_x_floor": 1.0}


def _opm(n: int, per: int) -> dict:
    amends = n if per == 1 else 0
    return {"creates": n - amends, "amends": amends, "cancels": n - amends,
            "orders": n * per, "moves": n, "orders_per_move": float(per)}


def _venue(name: str, react: float, per: int) -> dict:
    fl = {"rtt_ms": 0.0, "rest_round_trip": _summary(0.7, 1.0), "user_stream": _summary(0.3, 0.5),
          "reaction_floor_ms": 0.65, "routing_floor_ms": 0.3, "open_floor_ms": 0.7}
    win = {"phase": "spread", "ticks": 40, "moves": 40, "missed": 0, "drain_secs": 0.1,
           "collapsed": None, "reaction": _summary(react, react * 2),
           "routing": _summary(2.0, 5.0), "mark_routing": _summary(1.0, 2.0),
           "orders": _opm(40, per),
           "profile": {"tick_delivery": _summary(1, 2), "event_delivery": _summary(1, 2),
                       "cpu_cores": {"symbol actors": 0.2}, "cpu_ms_per_move": 5.0}}
    level = {"symbols": 10, "created": 10, "create_secs": 1.0, "create_ms_per_actor": 100.0,
             "open_secs": 2.0, "memory": {"symbol_actors": {"pss_mb_mean": 9.0},
                                          "actor_system": {"total_pss_mb": 300}}, **win}
    burst = {"positions": 10, "sent_within_secs": 0.01, "acknowledged": 10, "refused": [],
             "open_to_stop": _summary(30.0, 60.0), "floor_ms": 0.7, "target_ms": 26.4}
    unprot = {"symbols": 20, "coverage_lost_total_ms": 0.0, "coverage_lost_gaps": 0,
              "open_to_protected": _summary(30.0, 60.0)}
    windows = ([1.0, 60.0], [8, 480]) if name == "bybit" else ([10.0, 60.0], [250, 1000])
    lag = {"symbols": 10, "stop_lag": {"n": 300, "p50_bps": 5.0, "p99_bps": 9.0,
                                       "max_bps": 9.5},
           "floor_lag": {"n": 300, "p50_bps": 1.0, "p99_bps": 2.0, "max_bps": 2.0},
           "uncovered_samples": 0, "positions_skipped": 0, "moves": 40, "missed": 0,
           "reaction": _summary(react, react * 2), "drain_secs": 0.1, "orders": _opm(40, per)}
    return {
        "venue": name, "load_average": [1.5, 1.0, 0.5], "load_average_end": [2.5, 1.0, 0.5],
        "rtt": [{"rtt_ms": 0.0, "floor": fl, "levels": [level], "open_burst": burst,
                 "unprotected": unprot}],
        "floor": fl, "levels": [level], "unprotected": unprot,
        "recovery": {"trials": 3, "restored": _summary(100, 150, 3),
                     "reconciled": _summary(200, 250, 3), "seq_kept": 3, "failures": []},
        "cold_restart": {"positions": 10, "system_up_secs": 2.0, "all_protected_secs": 6.0,
                         "orders": _opm(10, per)},
        "stop_lag": {"rtt_ms": 0.0, "floor": fl, "levels": [lag],
                     "budget": {"venue": name, "engine_orders_per_10s": 250,
                                "engine_orders_per_min": 1000,
                                "engine_windows_secs": windows[0],
                                "engine_effective": windows[1],
                                "venue_limits": "10/s per endpoint" if name == "bybit"
                                else "300/10 s, 1200/min"}},
        "durability": [{"backend": "sqlite", "venue": name, "trials": 1, "acknowledged": 3,
                        "found": 3, "lost": 0, "not_refused_as_duplicate": 0,
                        "unsettled": [], "positions_restored": 3}],
        "orders_per_move": {"budget_lifted": _opm(40, per), "real_budget": _opm(40, per)},
    }


def test_the_report_has_a_column_per_venue_with_each_venues_own_figures():
    vs = [_venue("binanceusdm", 12.0, 2), _venue("bybit", 200.0, 1)]
    r = {"machine": {"cores": 2, "python": "3.11", "load_average": [1.5, 1.0, 0.5]},
         "options": {"quick": True, "store": "sqlite", "duration_secs": 3.0, "rtt_ms": [0.0]},
         "venues": vs, **{k: vs[0][k] for k in vs[0] if k != "venue"},
         "store_append": [{"backend": "sqlite", "n": 10, "p50_ms": 0.2, "p99_ms": 0.3,
                           "max_ms": 0.4, "appends_per_sec": 5000}],
         "targets": [{"target": "t", "figure": "f", "met": True, "venue": "bybit"}],
         "elapsed_secs": 80.0}
    table = venue_table(r)
    head = table[1]
    assert head.index("binanceusdm") < head.index("bybit")
    row = {line.split("  ")[1].strip(): line for line in table[2:]}
    assert "12.0 / 24.0 ms" in row["reaction p50 / p99, 10 symbols"]
    assert "200.0 / 400.0 ms" in row["reaction p50 / p99, 10 symbols"]
    opm = row["orders per move, budget lifted"]
    assert opm.index("2 (40 creates, 0 amends, 40 cancels / 40 moves)") < opm.index(
        "1 (0 creates, 40 amends, 0 cancels / 40 moves)")
    assert "engine 8/1 s, 480/60 s; venue 10/s per endpoint" in row[
        "order budget of the stop-lag section"]
    assert "sqlite 0 lost of 3" in row["I-1 durability trials"]
    cold = row["cold restart -> all PROTECTED"]
    assert cold.index("10 positions in 6.0 s (10 creates, 0 amends, 10 cancels)") < cold.index(
        "10 positions in 6.0 s (0 creates, 10 amends, 0 cancels)")
    text = format_table(r)
    assert "==== binanceusdm" in text and "==== bybit" in text
    assert "[met   ] bybit: t: f" in text
    assert "load average 1.50" in text.splitlines()[0]
    # one venue: no venue table, the report as before
    assert venue_table({**r, "venues": vs[:1]}) == []
