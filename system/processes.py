"""Which processes this posguard started, and making sure none outlives it.

Thespian does not stop the children of a dead actor, and a shutdown issued too early can leave
strays (THESPIAN.md). The launcher therefore keeps a book of every actor pid the supervisor
reports (with the process's start time, so a recycled pid is never mistaken for ours), and
every process of the actor system can also be found by its command line: all of them are
forked from `python -m system.actor_system start --address A --port N`, on the admin port this
instance holds under its instance lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from typing import Any

import psutil

log = logging.getLogger("posguard.processes")


def _started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


class PidBook:
    """pid -> (kind, start time) of every actor process the supervisor reported."""

    def __init__(self) -> None:
        self.known: dict[int, tuple[str, float]] = {}

    def add(self, pid: int | None, kind: str) -> None:
        """Remember `pid` (ignored if it is not running)."""
        if pid and pid not in self.known:
            started = _started(pid)
            if started is not None:
                self.known[pid] = (kind, started)

    def learn(self, status: Any) -> None:
        """Every pid in a SupervisorStatus."""
        self.add(status.pid, "supervisor")
        for e in status.actors:
            self.add(e.pid, e.kind)
        for st in status.streams:
            self.add(st.pid, f"{st.kind}_stream")

    def all(self) -> list[int]:
        """Every pid in the book."""
        return list(self.known)

    def supervisor_pids(self) -> list[int]:
        """The supervisor pids in the book (one per supervisor this launcher has had)."""
        return [p for p, (kind, _) in self.known.items() if kind == "supervisor"]

    def children_of_supervisor(self) -> list[int]:
        """Every pid but the supervisor's (its children, grandchildren)."""
        return [p for p, (kind, _) in self.known.items() if kind != "supervisor"]

    def alive(self, pid: int) -> bool:
        """True if `pid` runs and is the process we recorded (not a recycled pid)."""
        entry = self.known.get(pid)
        return entry is not None and _started(pid) == entry[1]

    def wait_gone(self, pids: list[int], timeout_secs: float) -> list[int]:
        """Wait for `pids` to exit; SIGKILL the ones still running after the timeout."""
        deadline = time.monotonic() + timeout_secs
        left = [p for p in pids if self.alive(p)]
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = [p for p in left if self.alive(p)]
        for pid in left:
            log.warning("process %d (%s) did not exit; killing it", pid, self.known[pid][0])
            kill(pid)
        for pid in pids:
            self.known.pop(pid, None)
        return left


def kill(pid: int) -> None:
    """SIGKILL one process we started (gone already is fine)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def system_pids(address: str, port: int) -> list[int]:
    """Every process of the actor system started for address:port (admin, logger, actors)."""
    want = ["-m", "system.actor_system", "start", "--address", address, "--port", str(port)]
    out = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = p.info.get("cmdline") or []
        if any(cmd[i:i + len(want)] == want for i in range(len(cmd))):
            out.append(p.info["pid"])
    return [p for p in out if p != os.getpid()]
