"""A CLI command while the launcher re-creates its supervisor (issue 13, first fault).

Real launcher, real CLI, real actor processes on the simulator. The launcher is paused
(SIGSTOP) while its supervisor is dead, so the CLI command lands, every time, in the window
where no supervisor is registered; then it resumes and re-creates the supervisor.
"""

from __future__ import annotations

import json
import os
import signal
from decimal import Decimal

from system import actor_system
from tests.fixtures.launcher import Launched, pid_alive, sigkill


def _open(system: Launched, symbol: str, side: str, qty: str) -> None:
    r = system.cli("open", symbol, "--side", side, "--qty", qty)
    assert r.returncode == 0, f"open {symbol} failed: {r.stdout} {r.stderr}"


def _entry(system: Launched, symbol: str) -> dict | None:
    return next((a for a in system.actors() if a["symbol"] == symbol), None)


def _registered_supervisor(port: int) -> object:
    """The address registered as "posguard:main" (the one account's supervisor) on the admin
    (None: none), looked up read-only."""
    asys = actor_system.connect("127.0.0.1", port)
    return actor_system.lookup(asys, "posguard:main", 5)


def _resting(system: Launched, symbol: str) -> list[str]:
    return [str(o["algoId"]) for o in system.control.state()["open_algo_orders"]
            if o["symbol"] == symbol]


def test_a_command_while_the_supervisor_is_recreated_says_starting_and_leaves_no_bad_state(
        launched):
    _open(launched, "BTCUSDT", "long", "0.010")
    sigkill(_entry(launched, "BTCUSDT")["pid"])
    launched.wait_for(lambda: (e := _entry(launched, "BTCUSDT")) and e["restarts"] == 1
                      and e["state"] == "PROTECTED", "BTCUSDT restarted once and protected")
    launched.wait_output("restarts 1")  # the launcher has seen it (it polls once a second)
    supervisor = next(a["pid"] for a in launched.actors() if a["kind"] == "supervisor")

    os.kill(launched.proc.pid, signal.SIGSTOP)  # the launcher cannot re-create it meanwhile
    try:
        sigkill(supervisor)
        launched.wait_for(lambda: not pid_alive(supervisor), "the supervisor to die", 10)
        opened = launched.cli("open", "ETHUSDT", "--side", "long", "--qty", "0.100",
                              "--timeout-secs", "3")
        registered = _registered_supervisor(launched.port)
    finally:
        os.kill(launched.proc.pid, signal.SIGCONT)

    assert opened.returncode == 1, (opened.stdout, opened.stderr)
    assert "posguard is starting" in opened.stderr and "try again" in opened.stderr, \
        opened.stderr
    assert registered is None, "the CLI created a supervisor"

    launched.wait_for(lambda: (a := launched.cli("actors", "--json")).returncode == 0
                      and supervisor not in [x["pid"] for x in json.loads(a.stdout)],
                      "the launcher's new supervisor", 30)
    launched.wait_state("BTCUSDT", "PROTECTED")
    assert _entry(launched, "ETHUSDT") is None, "the refused command left an entry"
    assert _entry(launched, "BTCUSDT")["restarts"] == 1, "the restart count was lost"
    _open(launched, "ETHUSDT", "long", "0.100")  # not wedged: created, opened, protected
    rows = launched.symbols()
    assert Decimal(rows["ETHUSDT"]["qty"]) == Decimal("0.100")
    for sym in ("BTCUSDT", "ETHUSDT"):
        assert rows[sym]["state"] == "PROTECTED"
        assert _resting(launched, sym) == [rows[sym]["stop_order_id"]]
