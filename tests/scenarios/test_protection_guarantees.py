"""Issue 13, against the running system (`posguard run` + CLI + the simulator):

- The periodic sweep checks stops as well as sizes: a stop cancelled on the exchange with its
  event lost is re-placed by the next sweep, and `status` stops naming the cancelled id.
- QUARANTINED never leaves a naked position: with `on_unprotectable: close` a position whose
  stop keeps being refused shows UNPROTECTED in `status` while quarantined, is ALERTed at
  once, and is closed at market once `unprotectable_after_minutes` has passed.
(tests/scenarios/test_fault_matrix.py has the quarantine that ends when the stop is placed.)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.fixtures.launcher import Launched

SYM, QTY, ENTRY = "BTCUSDT", "0.010", "60000"
ALGO = "/fapi/v1/algoOrder"


def _open(system: Launched) -> None:
    r = system.cli("open", SYM, "--side", "long", "--qty", QTY, "--no-wait")
    assert r.returncode == 0, f"open failed: {r.stdout} {r.stderr}"


def _resting(system: Launched) -> list[dict[str, Any]]:
    return [o for o in system.control.state()["open_algo_orders"] if o["symbol"] == SYM]


def _alerts(system: Launched) -> list[str]:
    log = system.log.parent / "actors.log"
    return [line for line in log.read_text().splitlines() if "ALERT" in line] \
        if log.exists() else []


@pytest.mark.launch_config("reconcile.interval_secs=1",
                           "reconcile.stop_check_min_interval_secs=1")
def test_a_stop_cancelled_on_the_exchange_with_its_event_lost_is_re_placed_by_the_sweep(
        launched, ccxt_sync):
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    _open(system)
    first = system.wait_for(lambda: (r := system.symbols().get(SYM)) and
                            r["state"] == "PROTECTED" and r, "protected", 10)
    assert [str(o["algoId"]) for o in _resting(system)] == [first["stop_order_id"]]

    system.control.drop_events(1)  # the stop's ALGO_UPDATE CANCELED never arrives
    ccxt_sync.cancel_order(first["stop_order_id"], "BTC/USDT:USDT", {"trigger": True})
    assert _resting(system) == []

    healed = system.wait_for(
        lambda: (r := system.symbols()[SYM])["state"] == "PROTECTED"
        and r["stop_order_id"] != first["stop_order_id"] and r, "the stop re-placed", 8)
    assert [str(o["algoId"]) for o in _resting(system)] == [healed["stop_order_id"]]
    assert Decimal(_resting(system)[0]["quantity"]) == Decimal(QTY)
    journal = system.json("journal", SYM)
    assert any(r["kind"] == "reconcile_started"
               and r["payload"].get("reason") == "sweep: stops differ" for r in journal)


@pytest.mark.launch_config("protection.on_unprotectable=close",
                           "protection.unprotectable_after_minutes=0.04")  # 2.4 s
def test_a_stop_refused_for_good_is_shown_unprotected_alerted_and_closed_at_market(launched):
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    for _ in range(12):  # more than fit in 2.4 s of attempts at 0.1 s doubling to 5 s
        system.control.fail_next("POST", ALGO, code=-1001, msg="Internal error.")

    _open(system)

    row = system.wait_state(SYM, "QUARANTINED", timeout_secs=10)
    assert row["protection"] == "UNPROTECTED" and row["stop_order_id"] is None
    assert any(f"{SYM} QUARANTINED and UNPROTECTED" in a for a in _alerts(system))
    system.wait_state(SYM, "FLAT", timeout_secs=10)
    truth = system.control.state()
    assert [p for p in truth["positions"] if p["symbol"] == SYM
            and Decimal(p["positionAmt"]) != 0] == []
    assert _resting(system) == []
    assert any("closing it at market" in a for a in _alerts(system))
    kinds = [r["kind"] for r in system.json("journal", SYM)]
    assert kinds.index("quarantined") < kinds.index("unprotectable_close") < \
        kinds.index("closed_at_market"), kinds
    system.control.clear_faults()
