"""The bench says which section runs and how far it is (on stderr: --json stays clean)."""

from __future__ import annotations

from system.bench.progress import Progress, plan
from system.bench.run import Options


def test_the_plan_lists_every_section_in_the_order_the_bench_runs_them():
    assert [title for _key, title in plan(Options(levels=(1, 10, 100, 300)))] == [
        "floor", "reaction 1 symbol (level 1/4)", "reaction 10 symbols (level 2/4)",
        "reaction 100 symbols (level 3/4)", "recovery at 100 symbols",
        "cold restart of 100 positions", "aligned ticks at 100 symbols",
        "100 positions opened at once", "reaction 300 symbols (level 4/4)",
        "stop lag at 100 symbols, real order budget, RTT 60 ms",
        "stop lag at 300 symbols, real order budget, RTT 60 ms", "durability", "store appends"]


def test_with_several_rtts_each_rtt_runs_its_sections_and_says_its_rtt():
    opts = Options(levels=(1, 10), rtt_ms=(0.0, 20.0), open_burst=10, stop_lag_levels=(10,),
                   stop_lag_rtt_ms=20.0)
    assert [title for _key, title in plan(opts)] == [
        "floor at RTT 0 ms", "reaction 1 symbol (level 1/2) at RTT 0 ms",
        "reaction 10 symbols (level 2/2) at RTT 0 ms", "recovery at 10 symbols",
        "cold restart of 10 positions", "aligned ticks at 10 symbols",
        "10 positions opened at once at RTT 0 ms",
        "floor at RTT 20 ms", "reaction 1 symbol (level 1/2) at RTT 20 ms",
        "reaction 10 symbols (level 2/2) at RTT 20 ms",
        "10 positions opened at once at RTT 20 ms",
        "stop lag at 10 symbols, real order budget, RTT 20 ms", "durability", "store appends"]
    said: list[str] = []
    p = Progress(said.append, opts)
    p.rtt = 20.0
    p.level(10)
    p("measuring 4 s ...")
    p.section("restarting the engine")
    p("...")
    assert said == ["[10/14] reaction 10 symbols (level 2/2) at RTT 20 ms: measuring 4 s ...",
                    "[?/14] restarting the engine: ..."]


def test_each_line_names_the_section_and_how_far_the_run_is():
    said: list[str] = []
    p = Progress(said.append, Options.quick_run())

    p.section("floor")
    p("300 REST round trips ...")
    p.level(10)
    p("measuring 4 s, ticks spread ...")
    p.section("durability")
    p("trial 1/2 (sqlite) ...")

    assert said == [
        "[1/10] floor: 300 REST round trips ...",
        "[3/10] reaction 10 symbols (level 2/2): measuring 4 s, ticks spread ...",
        "[9/10] durability: trial 1/2 (sqlite) ...",
    ]


def test_a_section_the_plan_does_not_know_is_still_said():
    said: list[str] = []
    p = Progress(said.append, Options.quick_run())

    p.section("restarting the engine")
    p("...")

    assert said == ["[?/10] restarting the engine: ..."]
