"""The order budget as a scheduler, with real actor processes and the simulator.

A tight order budget (the simulator's and the engine's: LIMIT per 10 s) is spent by the
stop moves of three trailing positions. Moves beyond their share are deferred, not queued
(actors/dispatch.py); a position opened meanwhile still gets its first stop at once, before
any deferred move is granted; once the window frees, each mover's stop ends at the target of
its LATEST trail (the deferred, stale targets are never sent); at settle every position has
exactly one resting stop and the simulator's meter saw no lost coverage.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest

from tests.fixtures.sim import TEST_SETTINGS
from tests.waiting import wait_for

LIMIT = 10
"""Orders per 10 s on the simulator and in the engine (moves may use 8 of them)."""
MOVERS = {"BTCUSDT": ("60000", "0.010", Decimal("0.1")),
          "ETHUSDT": ("3000", "0.100", Decimal("0.01")),
          "SOLUSDT": ("150", "2", Decimal("0.01"))}
"""symbol: (entry price, qty, tick)."""
NEW = ("BNBUSDT", "600", "0.50")
CALLBACK = Decimal("0.995")
"""1 - the default trailing callback (0.5 %)."""


@pytest.fixture
def sim_settings():
    # mark == contract price: the market stream's marks are the ticks the test sets.
    return dataclasses.replace(TEST_SETTINGS, orders_per_10s=LIMIT, mark_basis_pct=0.0)


def _rows(engine: Any, symbol: str, kind: str) -> list[Any]:
    return [r for r in engine.journal(symbol) if r.kind == kind]


def _price(entry: str, tick: Decimal, r: int) -> Decimal:
    """Round r of the storm: 1.2 % above entry (trailing active), 0.2 % more each round."""
    return (Decimal(entry) * (Decimal("1.012") + Decimal("0.002") * r)).quantize(
        tick, rounding=ROUND_DOWN)


def _ideal(price: Decimal, tick: Decimal) -> Decimal:
    """The managed trail's stop for a peak of `price` (long: rounded down to the tick)."""
    return (price * CALLBACK).quantize(tick, rounding=ROUND_DOWN)


@pytest.mark.engine_config(f"exchange.orders_per_10s={LIMIT}")
def test_moves_spend_the_budget_and_a_new_position_is_still_protected_first(engine):
    control = engine.control
    for sym, (entry, _, _) in MOVERS.items():
        control.set_price(sym, entry)
    control.set_price(NEW[0], NEW[1])
    engine.register(*MOVERS, NEW[0])
    for sym in (*MOVERS, NEW[0]):
        engine.wait_state(sym, "FLAT", 40)  # the workers' warm-up on a loaded machine
    for sym, (_, qty, _) in MOVERS.items():
        engine.open(sym, "long", qty, f"cmd-{sym}")
    for sym in MOVERS:
        engine.wait_state(sym, "PROTECTED", 25)

    # --- 1. a storm of moves: rounds of ticks until the pool defers moves
    last: dict[str, Decimal] = {}

    def storm_round(r: int) -> bool:
        for sym, (entry, _, tick) in MOVERS.items():
            last[sym] = _price(entry, tick, r)
            engine.tick(sym, str(last[sym]))
        return any(_rows(engine, sym, "stop_move_deferred") for sym in MOVERS)

    rounds = iter(range(1, 40))
    wait_for(lambda: storm_round(next(rounds)), 20, "a move deferred by the pool", 0.05)

    # --- 2. a new position, opened while moves wait for budget
    engine.open(NEW[0], "long", NEW[2], "cmd-new")
    protected = engine.wait_state(NEW[0], "PROTECTED", 25)
    first_stop = next(o for o in control.state()["open_algo_orders"]
                      if o["clientAlgoId"] == protected.stop_client_id)

    # --- 3. settle: every mover's deferred wish is granted at its latest target
    for sym, (_, _, tick) in MOVERS.items():
        want = _ideal(last[sym], tick)
        engine.wait(sym, lambda v, w=want: v.state == "PROTECTED" and v.stop_price is not None
                    and Decimal(v.stop_price) == w, f"the stop at the latest target {want}", 40)

    granted = [r for sym in MOVERS for r in _rows(engine, sym, "stop_move_requested")
               if r.payload.get("granted")]
    assert granted, "no deferred move was ever granted"
    first_grant_ms = min(r.created_at_ms for r in granted)
    assert first_stop["createTime"] < first_grant_ms, (
        "the new position's first stop waited behind the deferred moves",
        first_stop["createTime"], first_grant_ms)
    assert _rows(engine, NEW[0], "stop_move_deferred") == []
    # every granted placement carried a target at least as tight as the one deferred before it
    for sym in MOVERS:
        rows = engine.journal(sym)
        for i, row in enumerate(rows):
            if row.kind == "stop_move_requested" and row.payload.get("granted"):
                before = [r for r in rows[:i] if r.kind == "stop_move_deferred"]
                assert before and Decimal(row.payload["new"]) >= Decimal(
                    before[-1].payload["trigger"]), (sym, row.payload, before[-1].payload)

    # --- 4. the exchange's truth: one resting stop per position, never a lost coverage
    truth = wait_for(lambda: (t := control.state()) and all(
        len([o for o in t["open_algo_orders"] if o["symbol"] == sym]) == 1
        for sym in (*MOVERS, NEW[0])) and t, 15, "one resting stop per position")
    assert truth["unprotected"]["coverage_lost_total_ms"] == 0, truth["unprotected"]["gaps"]
    for sym in (*MOVERS, NEW[0]):
        assert _rows(engine, sym, "stop_outcome_unknown") == [], f"{sym} ran into a 429"
