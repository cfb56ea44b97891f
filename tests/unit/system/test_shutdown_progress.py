"""`posguard shutdown` says what it waits for when the stop takes more than a second."""

from __future__ import annotations

import pytest

from system.admin import AdminError
from system.admin_commands import wait_stopped
from system.progress import Narrator


class _World:
    """A fake clock; the system stops answering after `busy_for` asks, goes after `gone_at`."""

    def __init__(self, busy: list[tuple[str, ...] | None], gone_at: float) -> None:
        self.now = 0.0
        self.busy = busy
        self.gone_at = gone_at
        self.said: list[str] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, secs: float) -> None:
        self.now += secs

    def gone(self) -> bool:
        return self.now >= self.gone_at

    def in_flight(self) -> tuple[str, ...] | None:
        return self.busy.pop(0) if self.busy else None


def _wait(w: _World, bound_secs: float = 40.0) -> None:
    wait_stopped(w.gone, w.in_flight, grace_secs=10.0, bound_secs=bound_secs,
                 narrator=Narrator(w.said.append, 1.0, w.clock), clock=w.clock, sleep=w.sleep)


def test_a_quick_shutdown_says_nothing_more():
    w = _World([()], gone_at=0.5)

    _wait(w)

    assert w.said == []


def test_a_slow_shutdown_names_the_symbols_in_flight_then_the_actor_systems_end():
    w = _World([("BTCUSDT", "ETHUSDT")] * 3 + [("ETHUSDT",)] * 2 + [None] * 20, gone_at=9.0)

    _wait(w)

    assert w.said[0] == ("waiting for 2 symbols with requests in flight: BTCUSDT, ETHUSDT "
                         "(9 s left)")
    assert "waiting for 1 symbol with a request in flight: ETHUSDT (7 s left)" in w.said
    assert w.said[-1] == "ending the actor system"


def test_a_system_that_never_goes_is_an_error_naming_the_bound():
    w = _World([], gone_at=1e9)

    with pytest.raises(AdminError, match="still running 40 s after the request"):
        _wait(w)


def test_the_launchers_drain_tells_its_narrator_which_symbols_it_waits_for(monkeypatch):
    from actors.messages import ShutdownAccepted
    from system.config import load_config
    from system.kernel import Kernel
    from tests.fixtures.engine import REPO
    kernel = Kernel(load_config(REPO / "config.yaml"))
    kernel.supervisor = object()
    answers = [ShutdownAccepted(("BTCUSDT", "ETHUSDT")), ShutdownAccepted(("ETHUSDT",)),
               ShutdownAccepted(())]
    monkeypatch.setattr(kernel, "ask", lambda msg, timeout_secs=None, account=None: answers.pop(0))
    steps: list[str] = []

    kernel.drain(10.0, narrator=type("N", (), {"step": lambda self, t: steps.append(t)})())

    assert [s.split(" (")[0] for s in steps] == [
        "waiting for 2 symbols with requests in flight: BTCUSDT, ETHUSDT",
        "waiting for 1 symbol with a request in flight: ETHUSDT"]
    assert all(s.endswith("s left)") for s in steps) and answers == []
