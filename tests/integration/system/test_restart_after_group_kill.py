"""`posguard run` after SIGKILL of the previous launcher's whole process group (issue 13).

Thespian's admin daemonizes into its own session, so the group kill leaves the old actor
system running on the admin port. The next run on the same store and port must end it by
pid (verified gone), come up with its symbols restored and protected, print no traceback,
and leave no process of either run after its own shutdown.
"""

from __future__ import annotations

from system import actor_system
from system.launched import Launched
from system.processes import system_pids
from tests.fixtures.engine import REPO
from tests.fixtures.launcher import pid_alive


def _pids(system: Launched) -> set[int]:
    """The launcher and every process forked from its actor system (admin and actors)."""
    assert system.proc is not None
    return {system.proc.pid, *system_pids("127.0.0.1", system.port)}


def test_a_run_after_sigkill_of_the_launchers_group_ends_the_leftover_and_restores_symbols(
        tmp_path, sim, sim_control):
    first = Launched(tmp_path, REPO / "config.yaml", sim.port, cwd=REPO, new_session=True)
    first.log = tmp_path / "first-run.log"
    second = Launched(tmp_path, REPO / "config.yaml", sim.port, cwd=REPO, port=first.port,
                      new_session=True)
    left: list[int] = []
    try:
        first.start()
        r = first.cli("open", "BTCUSDT", "--side", "long", "--qty", "0.010")
        assert r.returncode == 0, r.stderr
        first_pids = _pids(first)
        first.kill_group()
        assert actor_system.port_answers("127.0.0.1", first.port), \
            "precondition: the old actor system outlived its launcher's group"

        second.start()

        assert sorted(p for p in first_pids if pid_alive(p)) == [], "leftovers still run"
        row = second.wait_state("BTCUSDT", "PROTECTED")
        resting = [str(o["algoId"]) for o in sim_control.state()["open_algo_orders"]
                   if o["symbol"] == "BTCUSDT"]
        assert resting == [row["stop_order_id"]] and row["pid"] in system_pids(
            "127.0.0.1", second.port), "not restored by an actor of the new system"
        second_pids = _pids(second)
        assert second.terminate() == 0
        second.lines()
        output = second.tail(1_000_000) + "\n".join(second.output)
        assert "Traceback" not in output, output[-3000:]
        assert sorted(p for p in first_pids | second_pids if pid_alive(p)) == []
    finally:
        left = second.cleanup() + (first.cleanup() if first.proc else [])
    assert left == [], f"processes left running after the test: {left}"
