"""The exchange pool's book of its workers: who runs what since when, and who is dead.

Thespian's exit notice is not enough (measured in the field: one ChildActorExited for two
SIGKILLed workers, 1 trial in 4), so the pool also checks each worker's process itself: every
worker reports its pid (Started), then says it is ready (its first WorkerIdle, after warm-up)
before it is given any request, and the pool checks those pids on a timer and before each
dispatch. A worker's process is the pool's own child, so the
check is `waitid(..., WNOWAIT)`: it sees a dead worker even while it is an unreaped zombie
(which `kill(pid, 0)` would call alive) and leaves the reaping to Thespian.

A worker may run one request for at most the deadline (`worker_deadline_secs`); past it the
request is answered UNKNOWN_OUTCOME and the worker ended and replaced. Pure bookkeeping here:
the pool (actors/exchange_worker.py) sends the messages.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from actors.messages import ExchangeRequest

MIN_DEADLINE_SECS = 10.0
"""Shortest in-worker deadline, whatever the timeout: a reconcile's FetchSymbol is several
calls in a row (position, open orders, open algo orders, each stop's history)."""
START_SECS = 30.0
"""A worker that has not reported its pid this long after it was created is replaced (it
holds no request: a worker gets none before it is ready)."""


def worker_deadline_secs(timeout_ms: int) -> float:
    """Longest a worker may run one request: two of ccxt's timeouts (a placement is one HTTP
    call, bounded by one; a read whose first attempt timed out is retried once inside that),
    at least MIN_DEADLINE_SECS. Past it the call is hung, not slow."""
    return max(2 * timeout_ms / 1000, MIN_DEADLINE_SECS)


def child_alive(pid: int) -> bool:
    """True while process `pid` runs; a zombie is dead. No psutil (the pool stays small)."""
    try:
        state = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return _exists(pid)  # not (or no longer) our child: reaped by Thespian, or not ours
    return state is None


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc: kill(pid, 0) said it exists


def end_process(pid: int) -> None:
    """SIGKILL a worker we created (a hung call never lets it read an ActorExitRequest)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@dataclass(slots=True)
class Worker:
    """One worker actor as the pool knows it."""

    address: Any
    """Its ActorAddress."""
    born: float
    """When the pool created it (monotonic seconds)."""
    pid: int | None = None
    """Its process id, once it reported it (Started)."""
    ready: bool = False
    """True once it has warmed up (its first WorkerIdle): no request before that, so the
    deadline never counts a worker's start."""
    job: ExchangeRequest | None = None
    """The request it runs, None when idle."""
    since: float = 0.0
    """When it was handed `job`."""


class WorkerBook:
    """The pool's workers, least recently busy first. Addresses are compared with == (an
    ActorAddress is not hashable)."""

    def __init__(self) -> None:
        self._workers: list[Worker] = []

    def __len__(self) -> int:
        return len(self._workers)

    def __iter__(self) -> Iterator[Worker]:
        return iter(list(self._workers))

    def add(self, address: Any, now: float) -> Worker:
        """A worker was created."""
        w = Worker(address, now)
        self._workers.append(w)
        return w

    def get(self, address: Any) -> Worker | None:
        """The worker at `address`, None if it is not (or no longer) ours."""
        return next((w for w in self._workers if w.address == address), None)

    def remove(self, address: Any) -> Worker | None:
        """Forget a worker; returns it (None if unknown)."""
        w = self.get(address)
        if w is not None:
            self._workers.remove(w)
        return w

    def assign(self, w: Worker, req: ExchangeRequest, now: float) -> None:
        """`w` runs `req` from `now`."""
        w.job, w.since = req, now

    def finished(self, w: Worker) -> ExchangeRequest | None:
        """`w` is idle again (or for the first time): it goes to the back of the line;
        returns what it ran."""
        job, w.job, w.ready = w.job, None, True
        self._workers.remove(w)
        self._workers.append(w)
        return job

    def idle(self) -> list[Worker]:
        """Workers that may take a request now (pid known, warmed up, nothing running)."""
        return [w for w in self._workers if w.pid is not None and w.ready and w.job is None]

    def busy(self) -> list[Worker]:
        """Workers running a request."""
        return [w for w in self._workers if w.job is not None]

    def dead(self, alive: Callable[[int], bool]) -> list[Worker]:
        """Workers whose process is gone."""
        return [w for w in self._workers if w.pid is not None and not alive(w.pid)]

    def overdue(self, now: float, deadline_secs: float) -> list[Worker]:
        """Workers that have run their request for the deadline or longer."""
        return [w for w in self._workers if w.job is not None and now - w.since >= deadline_secs]

    def stillborn(self, now: float) -> list[Worker]:
        """Workers that never reported their pid within START_SECS."""
        return [w for w in self._workers if w.pid is None and now - w.born >= START_SECS]
