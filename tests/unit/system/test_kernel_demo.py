"""Only the launcher's embedded simulator opens the demo positions, once, and 0 means none."""

from __future__ import annotations

from decimal import Decimal

import pytest

from system.config import load_config
from system.kernel import Kernel
from system.sim.client import SimControl
from system.sim.server import SimServer
from tests.fixtures.engine import REPO


@pytest.fixture
def embedded():
    """A Kernel with a started embedded simulator (no store, no actors: open_demo only)."""
    made: list[SimServer] = []

    def make(*sets: str) -> tuple[Kernel, SimControl]:
        kernel = Kernel(load_config(REPO / "config.yaml", list(sets)))
        kernel.sim = SimServer(kernel.config.exchange.simulator)
        made.append(kernel.sim)
        kernel.sim.start()
        return kernel, SimControl(kernel.sim.url, timeout_secs=5.0)

    yield make
    for server in made:
        server.stop()


def _positions(control: SimControl) -> dict[str, Decimal]:
    return {p["symbol"]: Decimal(p["positionAmt"]) for p in control.state()["positions"]
            if Decimal(p["positionAmt"])}


def test_the_embedded_simulator_opens_the_shipped_demo_positions_once(embedded):
    kernel, control = embedded()

    opened = kernel.open_demo()
    again = kernel.open_demo()

    amounts = _positions(control)
    assert sorted(amounts) == sorted(p.symbol for p in opened) and len(amounts) == 3
    assert any(a > 0 for a in amounts.values()) and any(a < 0 for a in amounts.values())
    assert again == [] and _positions(control) == amounts


def test_demo_positions_0_opens_none(embedded):
    kernel, control = embedded("exchange.simulator.demo_positions=0")

    assert kernel.open_demo() == []
    assert _positions(control) == {}


def test_without_an_embedded_simulator_nothing_is_opened():
    kernel = Kernel(load_config(REPO / "config.yaml", ["exchange.simulator.embedded=false",
                                                       "exchange.simulator.port=9"]))

    assert kernel.open_demo() == [] and not kernel.demo_opened
