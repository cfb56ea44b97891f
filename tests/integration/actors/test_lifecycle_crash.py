"""The guarded receive in real actor processes: an exception in a handler ends that actor
(instead of Thespian's retry-once-then-carry-on) and its parent learns why."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from system import actor_system
from system.launched import pid_alive
from system.processes import kill, system_pids
from tests.fixtures.engine import free_port
from tests.integration.actors.crash_harness import (
    Boom,
    CrashParent,
    Heard,
    Query,
    SelectorProbe,
    StartCrasher,
    WhichSelector,
)
from tests.waiting import wait_for

ASK = timedelta(seconds=5)
SHUTDOWN_SECS = 10.0


@pytest.fixture
def asys(tmp_path) -> Iterator[Any]:
    """A fresh actor system on a private loopback port; every process of it ends with the
    test (shutdown, then SIGKILL by pid of whatever is left)."""
    port = free_port()
    actor_system.start("127.0.0.1", port, log_file=str(tmp_path / "actors.log"))
    system = actor_system.connect("127.0.0.1", port)
    try:
        yield system
    finally:
        with contextlib.suppress(actor_system.ActorSystemError):
            actor_system.shutdown("127.0.0.1", port, timeout_secs=SHUTDOWN_SECS)
        for pid in system_pids("127.0.0.1", port):
            kill(pid)
        wait_for(lambda: not [p for p in system_pids("127.0.0.1", port) if pid_alive(p)],
                 SHUTDOWN_SECS, "every process of the test's actor system to end")


def heard(asys: Any, parent: Any) -> Heard:
    reply = asys.ask(parent, Query(), ASK)
    assert isinstance(reply, Heard), f"the parent did not answer ({reply!r})"
    return reply


def test_an_exception_in_a_handler_ends_the_actor_and_its_parent_learns_why(asys):
    # Arrange: a Lifecycle actor whose process is up and watching its parent
    parent = asys.createActor(CrashParent)
    asys.ask(parent, StartCrasher(), ASK)
    pid = wait_for(lambda h: h.pid, 10, "the crasher's pid",
                   sample=lambda: heard(asys, parent)).pid

    # Act
    started = time.monotonic()
    asys.ask(parent, Boom(), ASK)
    seen = wait_for(lambda h: h.exited, 10, "the crasher's exit",
                    sample=lambda: heard(asys, parent))

    # Assert: told why, then gone (process and all), never retried into a PoisonMessage
    assert seen.failing == ("crashed on Boom: RuntimeError: boom",), seen
    assert seen.poisoned == (), seen
    wait_for(lambda: not pid_alive(pid), 5, f"the crasher's process {pid} to end")
    assert time.monotonic() - started < 5


def test_actor_processes_select_with_poll_not_a_new_epoll_per_pass(asys):
    """system/actor_system.py installs system/thespian_poll.py in the admin before it forks
    any actor: a real actor process (not this one) answers with the checked poll."""
    probe = asys.createActor(SelectorProbe)
    name, pid = asys.ask(probe, WhichSelector(), ASK)
    assert name == "PassPoll"
    assert pid != os.getpid()
