"""The same scenario on every venue (tests/fixtures/venues.py): `posguard run` and its CLI open
a position, the first stop rests on the exchange, a trail move keeps exactly one stop resting
(Binance: new-first then cancel; Bybit: one amend of the same order), and the stop firing
leaves the account flat with nothing of ours resting and no moment without a stop."""

from __future__ import annotations

from decimal import Decimal

from tests.fixtures.launcher import Launched

SYM, QTY, ENTRY, PEAK = "BTCUSDT", "0.010", "60000", "60700"


def _resting(system: Launched) -> list[dict]:
    return [o for o in system.control.state()["open_algo_orders"] if o["symbol"] == SYM]


def test_a_position_is_protected_moved_and_stopped_out_on_every_venue(launched, venue):
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    r = system.cli("open", SYM, "--side", "long", "--qty", QTY)
    assert r.returncode == 0, r.stdout + r.stderr

    first = system.wait_state(SYM, "PROTECTED", timeout_secs=15)
    [stop] = _resting(system)
    assert venue.order_id(stop["algoId"]) == first["stop_order_id"]
    assert first["stop_client_id"].startswith("pg-main-")

    system.control.set_price(SYM, PEAK, mark=PEAK)
    moved = system.wait_for(lambda: (row := system.symbols()[SYM])["stop_price"]
                            and Decimal(row["stop_price"]) > Decimal(first["stop_price"])
                            and row["state"] == "PROTECTED" and row, "the trail move", 15)
    [after] = _resting(system)
    assert (venue.order_id(after["algoId"]) == first["stop_order_id"]) is venue.amends
    assert venue.order_id(after["algoId"]) == moved["stop_order_id"]

    system.control.set_price(SYM, "58000", mark="58000")
    system.wait_state(SYM, "FLAT", timeout_secs=15)
    truth = system.control.state()
    assert [p for p in truth["positions"] if p["symbol"] == SYM
            and Decimal(p["positionAmt"]) != 0] == []
    assert _resting(system) == []
    assert truth["unprotected"]["coverage_lost_total_ms"] == 0, truth["unprotected"]
