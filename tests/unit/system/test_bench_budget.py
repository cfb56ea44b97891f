"""The stop-lag section's plumbing (system/bench/budget.py): probe records -> per-symbol
history -> lag samples, the fill time from the meter, flat positions skipped."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from system.bench.budget import History, _lags
from tests.fakes.protection import policy

D = Decimal
POLICY = policy(stop_loss_pct=2.0, mode="managed", activation_pct=1.0, callback_pct=0.5,
                min_update_interval_ms=0)


class FakeTarget:
    """What _lags reads from a Target: positions, the meter's gaps, the engine's policy."""

    def __init__(self, positions: dict, gaps: list[dict]) -> None:
        self._positions = positions
        self._gaps = gaps
        self.k = SimpleNamespace(config=SimpleNamespace(
            protection=SimpleNamespace(policy_for=lambda sym: POLICY)))

    def positions(self, symbols):
        return {s: self._positions[s] for s in symbols}

    def meter(self):
        return {"gaps": self._gaps}


def _probe(ticks=(), placements=(), cancels=()) -> dict:
    return {"ticks": [{"symbol": s, "price": p, "t_mono": t} for s, p, t in ticks],
            "placements": [{"symbol": s, "t_mono": t, "order_type": "STOP_MARKET",
                            "trigger_price": tr, "quantity": "0", "client_algo_id": c}
                           for s, t, tr, c in placements],
            "cancels": [{"symbol": s, "t_mono": t, "client_algo_id": c} for s, t, c in cancels],
            "dropped": {"ticks": 0, "placements": 0, "cancels": 0}}


def test_probe_reads_accumulate_into_one_history_and_give_the_lag_since_the_fill():
    hist = History()
    # A mark above the entry before the fill must not count: the position did not exist.
    hist.add(_probe(ticks=[("A", "103", 0.5)]))
    hist.add(_probe(ticks=[("A", "100", 1.0), ("A", "101", 2.0)],
                    placements=[("A", 1.1, "98.00", "s1")]))
    pos = {"A": {"amt": D("10"), "entry": D("100"), "tick": D("0.01"), "step": D("1")},
           "F": {"amt": D("0"), "entry": D("0"), "tick": D("0.01"), "step": D("1")}}
    target = FakeTarget(pos, [{"kind": "opened_uncovered", "symbol": "A", "start": 0.9,
                               "end": 1.1, "duration_ms": 200.0}])
    lags, floor_lags, uncovered, skipped = _lags(target, ["A", "F"], hist, 2.0, 3.0, 0.5)
    # From 2.0 the ideal is 100.49 (101 * 0.995) while 98.00 rests: 2.49 / 101 every sample
    assert lags == pytest.approx([float(D("2.49") / D("101") * 10_000)] * 10)
    # A perfect engine 0.5 s behind: the first five samples lag, the rest do not
    assert floor_lags == pytest.approx([float(D("2.49") / D("101") * 10_000)] * 5 + [0.0] * 5)
    assert uncovered == 0
    assert skipped == ["F"]  # flat: nothing to trail


def test_without_a_meter_gap_the_first_stop_placed_stands_for_the_fill():
    hist = History()
    hist.add(_probe(ticks=[("A", "100", 1.0)], placements=[("A", 1.5, "98.00", "s1")],
                    cancels=[("A", 2.5, "s1")]))
    pos = {"A": {"amt": D("10"), "entry": D("100"), "tick": D("0.01"), "step": D("1")}}
    lags, _floor, uncovered, skipped = _lags(FakeTarget(pos, []), ["A"], hist, 1.0, 3.0, 0.0)
    # before 1.5 there is no ideal yet (no position as far as the bench knows); after 2.5 the
    # stop is gone: those samples are uncovered
    assert lags == pytest.approx([0.0] * 10)
    assert (uncovered, skipped) == (5, [])
