"""Demo positions: opened on the account as an outside client would, their walks trending."""

from __future__ import annotations

from decimal import Decimal

import pytest

from system.clock import ManualClock
from system.config import ConfigError, load_config
from system.sim.app import Sim
from system.sim.demo import open_demo_positions
from system.sim.pricepath import RandomWalk
from system.sim.settings import SimSettings
from tests.fixtures.engine import REPO


def _sim(**settings) -> Sim:
    return Sim(SimSettings(**settings), ManualClock())


def test_three_demo_positions_are_long_and_short_on_different_symbols_within_the_filters():
    sim = _sim()

    opened = open_demo_positions(sim, 3, 0.01)

    assert len({p.symbol for p in opened}) == 3
    assert {p.side for p in opened} == {"long", "short"}
    for p in opened:
        pos = sim.engine.ledger.position(p.symbol)
        m = sim.engine.markets[p.symbol]
        assert pos.amt == (p.qty if p.side == "long" else -p.qty)
        assert m.qty_ok(p.qty) and p.qty * p.price >= m.min_notional
        assert not p.client_id.startswith("pg-"), "posguard would take it for its own order"


def test_demo_fills_emit_the_frames_binance_sends_for_any_clients_fill():
    sim = _sim()

    opened = open_demo_positions(sim, 2, 0.01)
    frames = sim.engine.drain()

    for p in opened:
        orders = [f["o"] for f in frames if f["e"] == "ORDER_TRADE_UPDATE"
                  and f["o"]["s"] == p.symbol]
        lite = [f for f in frames if f["e"] == "TRADE_LITE" and f["s"] == p.symbol]
        rows = [r for f in frames if f["e"] == "ACCOUNT_UPDATE" for r in f["a"]["P"]
                if r["s"] == p.symbol]
        assert [(o["x"], o["X"], o["c"]) for o in orders] == [
            ("NEW", "NEW", p.client_id), ("TRADE", "FILLED", p.client_id)]
        assert [f["c"] for f in lite] == [p.client_id]
        signed = p.qty if p.side == "long" else -p.qty
        assert [Decimal(r["pa"]) for r in rows] == [signed]


def test_each_demo_symbol_drifts_in_its_positions_favour_and_the_others_do_not():
    sim = _sim(volatility_pct=0.0)
    opened = open_demo_positions(sim, 3, 0.5)
    before = dict(sim.engine.prices)

    for _ in range(10):
        sim.walk_step()

    for p in opened:
        moved = sim.engine.prices[p.symbol] - before[p.symbol]
        assert moved > 0 if p.side == "long" else moved < 0, (p, moved)
    others = set(before) - {p.symbol for p in opened}
    assert all(sim.engine.prices[s] == before[s] for s in others)


def test_zero_demo_positions_opens_nothing_and_leaves_the_walk_alone():
    sim = _sim(volatility_pct=0.0)

    assert open_demo_positions(sim, 0, 0.5) == []
    sim.walk_step()

    assert not any(p.amt for p in sim.engine.ledger.positions.values())
    assert sim.engine.drain() == []
    assert sim.engine.prices == {s: m.start_price for s, m in sim.engine.markets.items()}


def test_a_symbol_that_already_has_a_position_is_not_traded_again():
    sim = _sim()
    sim.engine.place_market("BTCUSDT", "SELL", Decimal("0.002"), "someone", False)

    opened = open_demo_positions(sim, 3, 0.01)

    assert "BTCUSDT" not in {p.symbol for p in opened} and len(opened) == 3
    assert sim.engine.ledger.position("BTCUSDT").amt == Decimal("-0.002")


def test_per_symbol_drift_leaves_the_seeded_noise_of_every_symbol_unchanged():
    start = {"AAAUSDT": Decimal(100), "BBBUSDT": Decimal(100)}
    plain, tilted = RandomWalk(9, 0.2), RandomWalk(9, 0.2)
    tilted.set_drift("AAAUSDT", 0.1)

    a, b = plain.step(dict(start)), tilted.step(dict(start))

    assert a["BBBUSDT"] == b["BBBUSDT"]
    assert float(b["AAAUSDT"] / a["AAAUSDT"]) == pytest.approx(1.001, rel=1e-3)


def test_the_shipped_config_opens_three_demo_positions_and_the_key_is_validated(tmp_path):
    sim = load_config(REPO / "config.yaml").exchange.simulator
    assert (sim.demo_positions, sim.demo_drift_pct) == (3, 0.01)
    assert load_config(REPO / "config.yaml", ["exchange.simulator.demo_positions=0"]
                       ).exchange.simulator.demo_positions == 0

    with pytest.raises(ConfigError) as err:
        load_config(REPO / "config.yaml", ["exchange.simulator.demo_positions=9"])

    assert "exchange.simulator.demo_positions: 9 is out of range; allowed 0..5" in str(err.value)
