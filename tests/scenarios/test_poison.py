"""Poison: a symbol whose actor crashes every time ends QUARANTINED; everything else serves.

The poison here is a corrupt snapshot (undecodable msgpack): every restart of the symbol's
actor dies while loading it, exactly what a message or state that always crashes its handler
does. After `supervisor.max_restarts` within `within_secs` the supervisor stops restarting
it; its stop stays resting on the exchange, the reason is shown, the other symbols go on.
Run on every venue (`venue` fixture): the poison is in the store, so Bybit's case is the same
one, with Bybit's conditional stop left resting (its id read back through `venue.order_id`).
"""

from __future__ import annotations

import sqlite3

import pytest

from tests.fixtures.launcher import Launched


@pytest.mark.launch_config("supervisor.max_restarts=2", "supervisor.backoff_min_ms=50")
def test_a_symbol_that_crashes_on_every_start_is_quarantined_with_its_stop_resting(
        launched, tmp_path, sim, sim_control, venue):
    for sym, qty in (("SOLUSDT", "1"), ("BTCUSDT", "0.010")):
        r = launched.cli("open", sym, "--side", "long", "--qty", qty)
        assert r.returncode == 0, r.stderr
    stop_id = launched.symbols()["SOLUSDT"]["stop_order_id"]
    assert launched.terminate() == 0
    db = sqlite3.connect(tmp_path / "posguard.sqlite3")
    with db:
        db.execute("UPDATE snapshots SET state = x'c1c1c1' WHERE symbol = 'SOLUSDT'")
    db.close()

    again = Launched(tmp_path, sim, sim_control, (
        *venue.overrides(), "supervisor.max_restarts=2", "supervisor.backoff_min_ms=50"))
    try:
        again.start()
        row = again.wait_state("SOLUSDT", "QUARANTINED")
        assert "restarted 2 times" in row["last_error"]
        assert "store" in row["last_error"] or "decode" in row["last_error"], row["last_error"]
        assert again.wait_state("BTCUSDT", "PROTECTED")["pid"]
        r = again.cli("open", "ETHUSDT", "--side", "short", "--qty", "0.1")
        assert r.returncode == 0, r.stderr
        truth = sim_control.state()
        assert [venue.order_id(o["algoId"]) for o in truth["open_algo_orders"]
                if o["symbol"] == "SOLUSDT"] == [stop_id]
        entry = next(a for a in again.actors() if a["symbol"] == "SOLUSDT")
        assert (entry["state"], entry["pid"], entry["restarts"]) == ("QUARANTINED", None, 2)
        alerts = [line for line in (tmp_path / "actors.log").read_text().splitlines()
                  if "ALERT main:SOLUSDT QUARANTINED" in line]
        assert len(alerts) == 1, "the quarantine alert, naming the account, is in the log once"
    finally:
        left = again.cleanup()
    assert left == []
