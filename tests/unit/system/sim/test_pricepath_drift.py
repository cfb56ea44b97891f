"""RandomWalk drift: a steady trend with volatility 0, same seed -> same path."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from system.clock import ManualClock
from system.sim.app import Sim, next_walk_after
from system.sim.pricepath import RandomWalk
from system.sim.settings import SimSettings

START = {"AAAUSDT": Decimal("100"), "BBBUSDT": Decimal("0.5")}


def _path(walk: RandomWalk, steps: int) -> list[dict[str, Decimal]]:
    prices, out = dict(START), []
    for _ in range(steps):
        prices = walk.step(prices)
        out.append(prices)
    return out


@pytest.mark.parametrize("drift", [0.1, -0.1])
def test_drift_without_volatility_is_a_steady_trend(drift):
    path = _path(RandomWalk(seed=7, volatility_pct=0.0, drift_pct=drift), 50)

    for sym in START:
        series = [START[sym]] + [p[sym] for p in path]
        steps = [b / a for a, b in zip(series, series[1:], strict=False)]
        assert all(float(s) == pytest.approx(1 + drift / 100, rel=1e-12) for s in steps)
        assert series == sorted(series, reverse=drift < 0)


def test_same_seed_gives_the_same_path_with_drift_and_volatility():
    a = _path(RandomWalk(seed=3, volatility_pct=0.2, drift_pct=0.05), 30)
    b = _path(RandomWalk(seed=3, volatility_pct=0.2, drift_pct=0.05), 30)
    c = _path(RandomWalk(seed=4, volatility_pct=0.2, drift_pct=0.05), 30)

    assert a == b
    assert a != c


def test_zero_drift_keeps_the_paths_walked_before_drift_existed():
    rng = random.Random(5)
    expected = dict(START)
    for sym in sorted(expected):
        expected[sym] *= Decimal(repr(1.0 + rng.gauss(0.0, 0.3 / 100)))

    assert RandomWalk(seed=5, volatility_pct=0.3).step(dict(START)) == expected


def test_sim_walk_uses_drift_pct_from_the_settings():
    sim = Sim(SimSettings(drift_pct=0.5, volatility_pct=0.0), ManualClock())
    seen = []
    for _ in range(4):
        sim.walk_step()
        seen.append(sim.engine.prices["BTCUSDT"])

    assert seen == sorted(seen) and len(set(seen)) == 4


def test_next_walk_keeps_its_phase_when_a_step_is_a_little_late():
    assert next_walk_after(10.0, 10.03, 0.1) == pytest.approx(10.1)


def test_next_walk_skips_missed_steps_instead_of_bursting():
    nxt = next_walk_after(10.0, 10.25, 0.1)

    assert nxt == pytest.approx(10.3)
