"""actors/child_watch.py: which children died without Thespian's exit notice.

process_gone is checked against real processes of this test (a live child, a zombie, a pid
that is not ours); LostExits against a recorded `gone` answer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from actors.child_watch import LostExits, process_gone


def _wait_zombie(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rpartition(")")[2].split()[0] == "Z":
                return
        time.sleep(0.01)
    raise AssertionError(f"pid {pid} did not become a zombie in {timeout} s")


def test_a_live_child_is_not_gone_and_a_killed_unreaped_one_is():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert not process_gone(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        _wait_zombie(child.pid)  # dead, not reaped: what Thespian leaves when it misses it
        assert process_gone(child.pid)
    finally:
        child.kill()
        child.wait(timeout=10)
    assert process_gone(child.pid)  # reaped: no such process


def test_a_live_process_that_is_not_our_child_counts_as_gone():
    # The pid was reused by someone else's process: our child is not there any more.
    assert process_gone(os.getppid())
    assert not process_gone(os.getpid(), parent=os.getppid())


def test_a_child_seen_dead_is_due_only_after_the_grace_and_only_once():
    dead = {11}
    watch = LostExits(grace_secs=2.0)
    watched = [(10, "a"), (11, "b")]
    assert watch.due(watched, 100.0, gone=dead.__contains__) == []
    assert watch.due(watched, 101.9, gone=dead.__contains__) == []
    assert watch.due(watched, 102.0, gone=dead.__contains__) == [(11, "b")]
    assert watch.due(watched, 110.0, gone=dead.__contains__) == []  # once (then grace again)


def test_a_child_that_looks_dead_once_then_alive_starts_its_grace_again():
    answers = iter([True, False, True, True])
    watch = LostExits(grace_secs=2.0)
    assert watch.due([(7, "a")], 0.0, gone=lambda _p: next(answers)) == []
    assert watch.due([(7, "a")], 5.0, gone=lambda _p: next(answers)) == []
    assert watch.due([(7, "a")], 6.0, gone=lambda _p: next(answers)) == []
    assert watch.due([(7, "a")], 8.0, gone=lambda _p: next(answers)) == [(7, "a")]


def test_a_child_whose_notice_came_is_forgotten():
    watch = LostExits(grace_secs=2.0)
    assert watch.due([(5, "a")], 0.0, gone=lambda _p: True) == []
    assert watch.due([], 1.0, gone=lambda _p: True) == []   # its notice came: unwatched
    assert watch.seen_dead == {}
    assert watch.due([(5, "a")], 2.5, gone=lambda _p: True) == []  # a new grace, not the old
