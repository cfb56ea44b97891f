"""`posguard run` with the exchange I/O on the pool's own event loop (exchange.workers: 0,
actors/pool_io.py): positions opened through the real CLI end protected, no exchange worker
process exists, and SIGTERM leaves no process behind with every stop still resting."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.fixtures.launcher import pid_alive
from tests.integration.system.test_running_system import SYMBOLS, _open, _resting


@pytest.mark.launch_config("exchange.workers=0")
def test_with_the_io_in_the_pool_positions_are_protected_and_sigterm_leaves_nothing(launched):
    for sym, (side, qty) in SYMBOLS.items():
        _open(launched, sym, side, qty)

    rows = launched.symbols()
    truth = launched.control.state()
    kinds = [a["kind"] for a in launched.actors()]
    for sym, (_, qty) in SYMBOLS.items():
        assert rows[sym]["state"] == "PROTECTED" and Decimal(rows[sym]["qty"]) == Decimal(qty)
        assert [str(o["algoId"]) for o in _resting(truth, sym)] == [rows[sym]["stop_order_id"]]
    assert "exchange_worker" not in kinds and "exchange_pool" in kinds
    pids = [a["pid"] for a in launched.actors() if a["pid"]]
    stops = {s: r["stop_order_id"] for s, r in rows.items()}

    assert launched.terminate(timeout_secs=30) == 0
    assert [p for p in pids if pid_alive(p)] == []
    after = launched.control.state()
    assert {o["symbol"]: str(o["algoId"]) for o in after["open_algo_orders"]} == stops
