"""A status page port already in use: one clear log line naming the key, protection runs on."""

from __future__ import annotations

import json
import socket
from decimal import Decimal

SYM = "ETHUSDT"


def test_a_taken_status_page_port_is_logged_naming_the_key_and_protection_runs_on(systems):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        system = systems(f"status_page.port={port}")
        r = system.cli("open", SYM, "--side", "short", "--qty", "0.100", "--json")

        assert r.returncode == 0, r.stdout + r.stderr
        row = json.loads(r.stdout)["view"]
        assert (row["state"], row["protection"]) == ("PROTECTED", "protected")
        stops = [o for o in system.control.state()["open_algo_orders"] if o["symbol"] == SYM]
        assert [str(o["algoId"]) for o in stops] == [row["stop_order_id"]]
        assert Decimal(stops[0]["triggerPrice"]) == Decimal(row["stop_price"])
        log = system.wait_for(lambda: (t := system.tail(50_000)) and
                              f"status_page.port {port}" in t and t, "the page's error line")
        line = next(x for x in log.splitlines() if f"status_page.port {port}" in x)
        assert " ERROR " in line and "protection goes on" in line
        assert "Traceback" not in log
        assert system.proc.poll() is None, "the launcher runs on"
