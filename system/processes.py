"""Which processes this posguard started, and making sure none outlives it.

Thespian does not stop the children of a dead actor, and a shutdown issued too early can leave
strays (THESPIAN.md). The launcher therefore keeps a book of every actor pid the supervisor
reports (with the process's start time, so a recycled pid is never mistaken for ours), and
every process of the actor system can also be found by its command line: all of them are
forked from `python -m system.actor_system start --address A --port N`, on the admin port this
instance holds under its instance lock. The launcher also keeps its book on disk (RunRecord),
so the run after a launcher's SIGKILL can end that launcher's actor system by pid.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger("posguard.processes")
ACTOR_SYSTEM = "actor_system"
"""PidBook kind of the admin and its logger: never a child of the supervisor."""


def _started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


class PidBook:
    """pid -> (kind, start time) of every actor process the supervisors reported, and which
    account's supervisor each belongs to (one supervisor subtree per account)."""

    def __init__(self) -> None:
        self.known: dict[int, tuple[str, float]] = {}
        self.accounts: dict[int, str] = {}
        """pid -> the account whose supervisor reported it (absent: unknown, e.g. the
        actor system's own processes)."""
        self.dirty = False
        """True when `known` changed since the owner last saved it (RunRecord)."""

    def add(self, pid: int | None, kind: str, account: str | None = None) -> None:
        """Remember `pid` (ignored if it is not running), of `account` if given."""
        if pid and pid not in self.known:
            started = _started(pid)
            if started is not None:
                self.known[pid] = (kind, started)
                if account is not None:
                    self.accounts[pid] = account
                self.dirty = True

    def learn(self, status: Any) -> None:
        """Every pid in a SupervisorStatus (of its account)."""
        account = getattr(status, "account", None)
        self.add(status.pid, "supervisor", account)
        for e in status.actors:
            self.add(e.pid, e.kind, account)
        for st in status.streams:
            self.add(st.pid, f"{st.kind}_stream", account)

    def all(self) -> list[int]:
        """Every pid in the book."""
        return list(self.known)

    def _of(self, pid: int, account: str | None) -> bool:
        # Strict: re-creating one account's supervisor waits for (and at worst kills) only
        # that account's orphans, never a live child of another account.
        return account is None or self.accounts.get(pid) == account

    def supervisor_pids(self, account: str | None = None) -> list[int]:
        """The supervisor pids in the book (one per supervisor this launcher has had), of
        `account` only when given."""
        return [p for p, (kind, _) in self.known.items()
                if kind == "supervisor" and self._of(p, account)]

    def children_of_supervisor(self, account: str | None = None) -> list[int]:
        """Every pid but the supervisors' and the actor system's own (admin, logger), of
        `account`'s supervisor only when given."""
        return [p for p, (kind, _) in self.known.items()
                if kind not in ("supervisor", ACTOR_SYSTEM) and self._of(p, account)]

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
            self.accounts.pop(pid, None)
            if self.known.pop(pid, None) is not None:
                self.dirty = True
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


# --------------------------------------------------------------------------- a run's record


class LeftoverError(RuntimeError):
    """A leftover actor system could not be ended, or the port is someone else's."""


class RunRecord:
    """One run's launcher and actor-system pids on disk, for the run after a SIGKILL.

    Thespian's admin daemonizes into its own session, so SIGKILL of the launcher's process
    group leaves the admin and every actor running on the admin port (issue 13). The launcher
    rewrites this file whenever its PidBook learns a pid; the next `posguard run` on the port
    reads it, ends those processes by pid (checked against their start times, so a recycled
    pid is never hit) and removes it after a clean stop.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, book: PidBook, launcher_pid: int) -> None:
        """Record `book` (atomically: a reader never sees half a file)."""
        started = _started(launcher_pid)
        data = {"launcher": [launcher_pid, started],
                "pids": {str(p): [kind, t] for p, (kind, t) in book.known.items()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)

    def read(self) -> tuple[tuple[int, float] | None, dict[int, float]]:
        """(launcher pid and start time, {pid: start time}) of the recorded run, if any."""
        try:
            data = json.loads(self.path.read_text())
            launcher = data.get("launcher")
            pids = {int(p): float(v[1]) for p, v in data.get("pids", {}).items()}
        except FileNotFoundError:
            return None, {}
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
            log.warning("ignoring unreadable run record %s: %s", self.path, e)
            return None, {}
        return ((int(launcher[0]), float(launcher[1])) if launcher and launcher[1] else None,
                pids)

    def remove(self) -> None:
        """Forget the record (every process of the run is gone)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def end_leftovers(address: str, port: int, record: RunRecord, timeout_secs: float,
                  port_answers: Any) -> list[int]:
    """SIGKILL a leftover actor system on address:port by pid; the pids ended.

    The leftover's pids are the recorded ones still running (same start time) plus every
    process forked from `system.actor_system start` for this port. Raises LeftoverError when
    the recorded launcher still runs (the port is a live posguard's), when something that is
    not an actor system of ours holds the port, or when a process or the port outlives the
    kill. `port_answers(address, port)` tests the port (injected: system.actor_system's).
    """
    launcher, recorded = record.read()
    if launcher is not None and launcher[0] != os.getpid() and _running(*launcher):
        raise LeftoverError(f"admin port {port} belongs to a running posguard launcher (pid "
                            f"{launcher[0]}, recorded in {record.path}): stop it first, or set "
                            f"actor_system.admin_port to another port")
    victims = {p: t for p, t in recorded.items() if _started(p) == t}
    for pid in system_pids(address, port):
        started = _started(pid)
        if started is not None:
            victims.setdefault(pid, started)
    if not victims:
        if port_answers(address, port):
            raise LeftoverError(f"{address}:{port} is in use by something that is not a "
                                f"posguard actor system: set actor_system.admin_port to a free "
                                f"port")
        record.remove()
        return []
    log.warning("ending a leftover actor system on port %d (a killed launcher's): pids %s",
                port, sorted(victims))
    for pid in victims:
        kill(pid)
    deadline = time.monotonic() + timeout_secs
    left = sorted(victims)
    while (left or port_answers(address, port)) and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if _running(p, victims[p])]
    if left or port_answers(address, port):
        raise LeftoverError(f"the leftover actor system on port {port} outlived SIGKILL "
                            f"(still running: {left or 'something on the port'})")
    record.remove()
    return sorted(victims)


def _running(pid: int, started: float) -> bool:
    """True if `pid` is the process that started at `started` and is not a zombie."""
    try:
        p = psutil.Process(pid)
        return p.create_time() == started and p.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
