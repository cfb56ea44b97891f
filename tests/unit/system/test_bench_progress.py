"""The bench says which section runs and how far it is (on stderr: --json stays clean)."""

from __future__ import annotations

from system.bench.progress import Progress, plan
from system.bench.run import Options


def test_the_plan_lists_every_section_in_the_order_the_bench_runs_them():
    assert [title for _key, title in plan(Options(levels=(1, 10, 100, 300)))] == [
        "floor", "reaction 1 symbol (level 1/4)", "reaction 10 symbols (level 2/4)",
        "reaction 100 symbols (level 3/4)", "recovery at 100 symbols",
        "cold restart of 100 positions", "aligned ticks at 100 symbols",
        "reaction 300 symbols (level 4/4)", "durability", "store appends"]


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
        "[1/8] floor: 300 REST round trips ...",
        "[3/8] reaction 10 symbols (level 2/2): measuring 4 s, ticks spread ...",
        "[7/8] durability: trial 1/2 (sqlite) ...",
    ]


def test_a_section_the_plan_does_not_know_is_still_said():
    said: list[str] = []
    p = Progress(said.append, Options.quick_run())

    p.section("restarting the engine")
    p("...")

    assert said == ["[?/8] restarting the engine: ..."]
