"""Issue 13, against the running system (`posguard run` + CLI + the simulator):

- The periodic sweep checks stops as well as sizes: a stop cancelled on the exchange with its
  event lost is re-placed by the next sweep, and `status` stops naming the cancelled id.
- QUARANTINED never leaves a naked position: with `on_unprotectable: close` a position whose
  stop keeps being refused shows UNPROTECTED in `status` while quarantined, is ALERTed at
  once, and is closed at market once `unprotectable_after_minutes` has passed.
(tests/scenarios/test_fault_matrix.py has the quarantine that ends when the stop is placed.)
"""

from __future__ import annotations

import time
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


# --------------------------------------------------------------------------- Bybit: amends
# The same engine on the Bybit front (system/sim/bybit/): the managed trail moves the resting
# conditional stop in place (/v5/order/amend), so the exchange holds ONE stop throughout,
# under one orderId, and the unprotected meter stays at 0 ms.


def _bybit_settings():
    from tests.fixtures.sim import BYBIT_TEST_SETTINGS
    return BYBIT_TEST_SETTINGS


def _algos_ever(sim: Any) -> list[tuple[str, str]]:
    """Every conditional order the simulator ever accepted for SYM: (client id, status)."""
    return sim.call(lambda s: [(a.client_algo_id, a.status) for a in s.engine.algos.values()
                               if a.symbol == SYM])


def _journal_kinds(system: Launched) -> list[str]:
    return [r["kind"] for r in system.json("journal", SYM)]


@pytest.mark.parametrize("sim_settings", [_bybit_settings()], ids=["bybit"])
@pytest.mark.launch_config("exchange.name=bybit", "protection.trailing.min_update_interval_ms=0")
def test_on_bybit_trailing_moves_amend_the_one_resting_stop_in_place_until_it_fires(
        launched, sim):
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    _open(system)
    first = system.wait_for(lambda: (r := system.symbols().get(SYM)) and
                            r["state"] == "PROTECTED" and r, "protected", 15)
    (resting,) = _resting(system)
    # Act: the price rises past activation (1 %) to two new peaks: the trail moves the
    # stop to 0.5 % below each
    for price, stop in (("60700", "60396.5"), ("61400", "61093")):
        system.control.set_price(SYM, price, mark=price)
        system.wait_for(lambda stop=stop: (r := system.symbols()[SYM])["state"] == "PROTECTED"
                        and Decimal(r["stop_price"]) == Decimal(stop), f"stop at {stop}", 15)
        # Assert: one stop on the exchange, the same order, at the new trigger
        (now,) = _resting(system)
        assert (now["algoId"], now["clientAlgoId"]) == (resting["algoId"],
                                                        resting["clientAlgoId"])
        assert Decimal(now["triggerPrice"]) == Decimal(stop)
    assert system.symbols()[SYM]["stop_order_id"] == first["stop_order_id"]
    # the price falls through the stop: it fires and closes the position
    system.control.set_price(SYM, "61000", mark="61000")
    system.wait_state(SYM, "FLAT", timeout_secs=15)
    kinds = _journal_kinds(system)
    assert kinds.count("stop_amended") == 2 and "stop_moved" not in kinds, kinds
    assert "stale_stop_cancelled" not in kinds and "stop_filled" in kinds, kinds
    # never two stops: the exchange only ever had the one conditional order
    assert [cid for cid, _ in _algos_ever(sim)] == [first["stop_client_id"]]
    per = system.control.state()["unprotected"]["per_symbol"].get(SYM, {})
    assert per.get("total_ms_by_kind", {}).get("coverage_lost", 0) == 0, per


AMEND = "/v5/order/amend"
PLACING_KINDS = ("open_requested", "close_requested", "stop_move_requested",
                 "stop_resize_requested", "stop_placed_again", "stop_would_trigger_close",
                 "open_filled", "position_adopted", "stop_missing_replaced", "open_recovered")
"""Journal kinds that send a new order (market, stop or amend) to the exchange."""


@pytest.mark.parametrize("sim_settings", [_bybit_settings()], ids=["bybit"])
@pytest.mark.launch_config("exchange.name=bybit", "exchange.request_timeout_ms=3000")
def test_on_bybit_the_stop_firing_while_its_amend_is_unanswered_ends_flat_with_nothing_placed(
        launched, sim):
    # I-4 on Bybit: the amend lands but its reply is withheld and its stream push lost (the
    # outcome unknown), and the price falls through the amended stop, which closes the
    # position
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    _open(system)
    first = system.wait_state(SYM, "PROTECTED", timeout_secs=15)
    system.control.timeout_next("POST", AMEND, hold_ms=4000)
    system.control.drop_events(1)  # the order topic's push of the amended stop
    system.control.set_price(SYM, "60700", mark="60700")
    system.wait_state(SYM, "MOVING_STOP", timeout_secs=10)
    system.wait_for(lambda: [Decimal(o["triggerPrice"]) for o in _resting(system)]
                    == [Decimal("60396.5")], "the amend to land", 10)
    # Act: below the amended stop (above the old one): only the amend makes it fire
    system.control.set_price(SYM, "60300", mark="60300")
    system.wait_state(SYM, "FLAT", timeout_secs=15)
    time.sleep(4.5)  # the withheld reply (or its deadline) is handled after the close
    # Assert: the exchange's truth first: flat, nothing resting, one stop ever
    truth = system.control.state()
    assert [p for p in truth["positions"] if p["symbol"] == SYM
            and Decimal(p["positionAmt"]) != 0] == []
    assert _resting(system) == [] and truth["open_orders"] == []
    assert [cid for cid, _ in _algos_ever(sim)] == [first["stop_client_id"]]
    per = truth["unprotected"]["per_symbol"].get(SYM, {})
    assert per.get("total_ms_by_kind", {}).get("coverage_lost", 0) == 0, per
    # then the journal: closed by the stop, nothing sent after it
    kinds = _journal_kinds(system)
    closed_at = kinds.index("stop_filled") if "stop_filled" in kinds else \
        kinds.index("position_closed")
    assert not [k for k in kinds[closed_at:] if k in PLACING_KINDS], kinds
    assert system.symbols()[SYM]["state"] == "FLAT"


@pytest.mark.parametrize("sim_settings", [_bybit_settings()], ids=["bybit"])
@pytest.mark.launch_config("exchange.name=bybit", "exchange.request_timeout_ms=1500")
def test_on_bybit_an_amend_with_no_answer_is_settled_by_a_lookup_of_its_stop(launched, sim):
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    _open(system)
    first = system.wait_state(SYM, "PROTECTED", timeout_secs=15)
    # Act: the amend lands, its reply never comes, its stream push is lost
    system.control.timeout_next("POST", AMEND)
    system.control.drop_events(1)
    system.control.set_price(SYM, "60700", mark="60700")
    row = system.wait_for(lambda: (r := system.symbols()[SYM])["state"] == "PROTECTED"
                          and Decimal(r["stop_price"]) == Decimal("60396.5") and r,
                          "the amend settled", 20)
    # Assert: settled by the lookup, on the one stop
    journal = system.json("journal", SYM)
    settled = [r for r in journal if r["kind"] == "stop_amended"]
    assert [r["payload"]["source"] for r in settled] == ["lookup"], journal
    assert "stop_amend_outcome_unknown" in [r["kind"] for r in journal]
    (now,) = _resting(system)
    assert Decimal(now["triggerPrice"]) == Decimal("60396.5")
    assert row["stop_client_id"] == first["stop_client_id"]
    assert [cid for cid, _ in _algos_ever(sim)] == [first["stop_client_id"]]
    system.control.clear_faults()


@pytest.mark.parametrize("sim_settings", [_bybit_settings()], ids=["bybit"])
@pytest.mark.launch_config("exchange.name=bybit")
def test_on_bybit_an_amend_refused_as_not_resting_reconciles_and_moves_the_same_stop(
        launched, sim):
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    _open(system)
    first = system.wait_state(SYM, "PROTECTED", timeout_secs=15)
    # Act: the venue answers the amend "order not exists or too late to replace" (110001)
    # although the stop still rests: the engine must not believe either, but read the truth
    system.control.fail_next("POST", AMEND, code=110001, status=200,
                             msg="order not exists or too late to replace")
    system.control.set_price(SYM, "60700", mark="60700")
    system.wait_for(lambda: "reconciled_protected" in _journal_kinds(system), "reconciled", 15)
    system.control.set_price(SYM, "60800", mark="60800")  # the next tick moves it further
    system.wait_for(lambda: Decimal(_resting(system)[0]["triggerPrice"]) == Decimal("60496"),
                    "the stop amended to the next tick's trail", 15)
    # Assert: the reconcile found the one stop resting (kept, its id unchanged) and moved it
    # at once to the trail of the mark it read (60700 -> 60396.5, not waiting for a tick);
    # the next tick amended it again; nothing was placed or cancelled: one stop
    journal = system.json("journal", SYM)
    kinds = [r["kind"] for r in journal]
    assert kinds.index("stop_amend_not_resting") < kinds.index("reconciled_protected") \
        < kinds.index("stop_amended"), kinds
    reconciled = next(r for r in journal if r["kind"] == "reconciled_protected")
    assert reconciled["payload"]["kept"] == first["stop_client_id"], reconciled
    assert Decimal(reconciled["payload"]["then_move_to"]) == Decimal("60396.5"), reconciled
    (now,) = _resting(system)
    assert Decimal(now["triggerPrice"]) == Decimal("60496")
    assert [cid for cid, _ in _algos_ever(sim)] == [first["stop_client_id"]]
    system.control.clear_faults()
