"""The running system as an operator sees it: `posguard run` driven by the real CLI.

Real launcher process, real actor processes (multiprocTCPBase), real user and market stream
actors on the simulator's WebSockets, SQLite store. Every assertion about the exchange reads
the simulator's own state (`/_sim/state`), not posguard's view.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

import psutil
import pytest

from system.processes import system_pids
from tests.fixtures.launcher import Launched, pid_alive, sigkill

SYMBOLS = {"BTCUSDT": ("long", "0.010"), "ETHUSDT": ("short", "0.100"),
           "SOLUSDT": ("long", "1")}


def _open(system: Launched, symbol: str, side: str, qty: str, cid: str | None = None) -> None:
    r = system.cli("open", symbol, "--side", side, "--qty", qty, *(["--id", cid] if cid else []))
    assert r.returncode == 0, f"open {symbol} failed: {r.stdout} {r.stderr}"


def _resting(truth: dict, symbol: str) -> list[dict]:
    return [o for o in truth["open_algo_orders"] if o["symbol"] == symbol]


def _amount(truth: dict, symbol: str) -> Decimal:
    return sum((Decimal(p["positionAmt"]) for p in truth["positions"] if p["symbol"] == symbol),
               Decimal(0))


def _symbol_pid(system: Launched, symbol: str) -> int:
    return next(a["pid"] for a in system.actors() if a["symbol"] == symbol)


def test_three_symbols_opened_through_the_cli_are_protected_and_status_matches_the_exchange(
        launched):
    for sym, (side, qty) in SYMBOLS.items():
        _open(launched, sym, side, qty)

    status = launched.json("status")
    truth = launched.control.state()

    rows = {s["symbol"]: s for s in status["symbols"]}
    assert sorted(rows) == sorted(SYMBOLS)
    for sym, (side, qty) in SYMBOLS.items():
        row, stops = rows[sym], _resting(truth, sym)
        assert row["state"] == "PROTECTED"
        assert (row["side"], Decimal(row["qty"])) == (side, Decimal(qty))
        signed = Decimal(qty) if side == "long" else -Decimal(qty)
        assert _amount(truth, sym) == signed
        assert [str(o["algoId"]) for o in stops] == [row["stop_order_id"]]
        assert Decimal(stops[0]["triggerPrice"]) == Decimal(row["stop_price"])
    assert status["stream"]["user"]["state"] == "connected"
    # The supervisor sends the market stream its table at most once a second.
    launched.wait_for(lambda: launched.json("status")["stream"]["market"]["subscriptions"] == 3,
                      "mark-price subscriptions for the three symbols", 10)


def test_restart_brings_back_the_same_seq_stop_order_and_trailing_peak(launched):
    sym = "BTCUSDT"
    launched.control.set_price(sym, "60000", mark="60000")
    _open(launched, sym, "long", "0.010")
    launched.control.set_price(sym, "61000", mark="61000")  # activates trailing; the market stream delivers it
    before = launched.wait_for(lambda: (s := launched.symbols()[sym])["trailing_active"]
                               and s["state"] == "PROTECTED" and s, "a trailed stop")
    old_pid = before["pid"]

    r = launched.cli("restart", sym, "--json")

    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["restored_seq"] == before["seq"], "the new actor restored a different snapshot"
    after = out["view"]
    assert after["pid"] != old_pid and not pid_alive(old_pid)
    assert (after["stop_order_id"], after["peak_price"], after["trailing_active"]) == (
        before["stop_order_id"], before["peak_price"], True)
    assert [str(o["algoId"]) for o in _resting(launched.control.state(), sym)] == [
        before["stop_order_id"]]


def test_sigkill_of_a_symbol_actor_restores_it_and_leaves_the_other_symbols_untouched(launched):
    for sym, (side, qty) in SYMBOLS.items():
        _open(launched, sym, side, qty)
    before = launched.symbols()
    victim = "ETHUSDT"

    sigkill(before[victim]["pid"])

    after = launched.wait_for(
        lambda: (s := launched.symbols()) and s[victim]["pid"] not in (None, before[victim]["pid"])
        and s[victim]["state"] == "PROTECTED" and s, "the killed actor to come back")
    assert after[victim]["restarts"] == 1
    assert after[victim]["stop_order_id"] == before[victim]["stop_order_id"]
    for sym in SYMBOLS:
        if sym != victim:
            assert (after[sym]["pid"], after[sym]["seq"], after[sym]["restarts"]) == (
                before[sym]["pid"], before[sym]["seq"], 0)
    assert len(_resting(launched.control.state(), victim)) == 1


@pytest.mark.launch_config("supervisor.max_restarts=2", "supervisor.within_secs=60",
                           "supervisor.backoff_min_ms=50")
def test_repeated_crashes_quarantine_the_symbol_with_its_stop_still_on_the_exchange(launched):
    sym = "SOLUSDT"
    _open(launched, sym, "long", "1")
    stop_id = launched.symbols()[sym]["stop_order_id"]

    for _ in range(3):  # two restarts are allowed, the third exit quarantines
        pid = launched.wait_for(lambda: (s := launched.symbols()[sym])["pid"]
                                and s["state"] == "PROTECTED" and s["pid"], "a live actor")
        sigkill(pid)
        launched.wait_for(lambda p=pid: launched.symbols()[sym]["pid"] != p, "the exit noticed")

    row = launched.wait_state(sym, "QUARANTINED")
    assert "restarted 2 times" in row["last_error"]
    assert [str(o["algoId"]) for o in _resting(launched.control.state(), sym)] == [stop_id]
    r = launched.cli("open", sym, "--side", "long", "--qty", "1")
    assert r.returncode == 1 and "quarantined" in r.stderr


def test_sigkill_of_the_supervisor_is_recreated_by_the_launcher_with_no_orphans_left(launched):
    _open(launched, "BTCUSDT", "long", "0.010")
    old = launched.actors()
    old_pids = [a["pid"] for a in old if a["pid"]]
    supervisor = next(a["pid"] for a in old if a["kind"] == "supervisor")

    sigkill(supervisor)

    launched.wait_for(lambda: (a := launched.cli("actors", "--json")).returncode == 0
                      and supervisor not in [x["pid"] for x in json.loads(a.stdout)],
                      "a new supervisor", 60)
    launched.wait_state("BTCUSDT", "PROTECTED")
    leftovers = [p for p in old_pids if pid_alive(p)]
    assert leftovers == [], f"orphans of the dead supervisor still run: {leftovers}"
    assert len(_resting(launched.control.state(), "BTCUSDT")) == 1


def test_stream_closed_key_expired_and_dropped_events_are_healed_by_reconciliation(launched):
    sym = "BTCUSDT"
    launched.control.set_price(sym, "60000", mark="60000")
    _open(launched, sym, "long", "0.010")
    stop = Decimal(launched.symbols()[sym]["stop_price"])

    launched.control.drop_events(20)  # the stop's fill events never arrive
    launched.control.set_price(sym, str(stop - 100), mark=str(stop - 100))
    time.sleep(0.5)
    assert launched.symbols()[sym]["state"] == "PROTECTED", "the drop did not hide the fill"
    launched.control.clear_faults()
    launched.control.close_user_streams()

    launched.wait_state(sym, "FLAT")
    assert _amount(launched.control.state(), sym) == 0

    _open(launched, sym, "long", "0.010")
    launched.control.expire_listen_key()
    launched.wait_for(lambda: launched.json("status")["stream"]["user"]["reconnects"] >= 2,
                      "a reconnect after the key expired")
    row = launched.wait_state(sym, "PROTECTED")  # after the reconcile the reconnect triggers
    assert [str(o["algoId"]) for o in _resting(launched.control.state(), sym)] == [
        row["stop_order_id"]]


def test_an_event_for_a_symbol_without_an_actor_creates_it_and_ends_protected(launched, ccxt_sync):
    sym = "XRPUSDT"
    assert sym not in launched.symbols()

    ccxt_sync.create_order("XRP/USDT:USDT", "market", "buy", 100)  # not placed by posguard

    row = launched.wait_state(sym, "PROTECTED")
    assert Decimal(row["qty"]) == 100
    assert len(_resting(launched.control.state(), sym)) == 1


def test_a_second_run_on_the_same_store_is_refused_naming_the_holder(launched):
    r = launched.cli("run")

    assert r.returncode == 3
    assert "another posguard instance holds" in r.stderr, r.stderr
    assert f"pid {launched.proc.pid}" in r.stderr


def test_every_listening_socket_of_the_running_system_is_on_the_configured_address(launched):
    _open(launched, "BTCUSDT", "long", "0.010")
    pids = {launched.proc.pid, *[a["pid"] for a in launched.actors() if a["pid"]],
            *system_pids("127.0.0.1", launched.port)}

    listening = [(pid, c.laddr) for pid in pids for c in psutil.Process(pid).net_connections()
                 if c.status == psutil.CONN_LISTEN]

    assert len(listening) >= len(pids) - 1, "every actor listens on a port"
    assert [x for x in listening if x[1].ip != "127.0.0.1"] == []


def test_sigterm_exits_0_with_no_process_left_and_every_stop_still_resting(launched):
    for sym, (side, qty) in SYMBOLS.items():
        _open(launched, sym, side, qty)
    stops = {s: r["stop_order_id"] for s, r in launched.symbols().items()}
    pids = [a["pid"] for a in launched.actors() if a["pid"]]

    rc = launched.terminate(timeout_secs=30)

    assert rc == 0
    assert [p for p in pids if pid_alive(p)] == []
    truth = launched.control.state()
    assert {o["symbol"]: str(o["algoId"]) for o in truth["open_algo_orders"]} == stops


@pytest.mark.launch_config("supervisor.passivate_after_secs=1")
def test_an_idle_flat_actor_is_passivated_and_an_event_brings_it_back(launched, ccxt_sync):
    sym = "XRPUSDT"
    _open(launched, sym, "long", "100")
    assert launched.cli("close", sym).returncode == 0
    pid = _symbol_pid(launched, sym)

    launched.wait_state(sym, "PASSIVATED", timeout_secs=15)
    assert not pid_alive(pid)
    launched.wait_for(lambda: launched.json("status")["stream"]["market"]["subscriptions"] == 0,
                      "the mark-price subscription dropped", 10)

    ccxt_sync.create_order("XRP/USDT:USDT", "market", "sell", 100)  # a short nobody opened

    row = launched.wait_state(sym, "PROTECTED")
    assert (row["side"], Decimal(row["qty"])) == ("short", Decimal(100))


@pytest.mark.launch_config("reconcile.interval_secs=1")
def test_the_periodic_sweep_adopts_a_position_whose_events_were_all_lost(launched, ccxt_sync):
    sym = "SOLUSDT"
    launched.control.drop_events(50)  # the user stream never tells us about this position

    ccxt_sync.create_order("SOL/USDT:USDT", "market", "buy", 2)

    row = launched.wait_state(sym, "PROTECTED", timeout_secs=20)
    assert Decimal(row["qty"]) == 2
    assert launched.control.state()["faults"]["stream"], "some events got through the drop"
    assert len(_resting(launched.control.state(), sym)) == 1
