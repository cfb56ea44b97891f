"""The exchange pool's book of its workers: who runs what since when, and who is dead.

Thespian's exit notice is not enough (measured in the field: one ChildActorExited for two
SIGKILLed workers, 1 trial in 4), so the pool also checks each worker's process itself: every
worker reports its pid (Started), then says it is ready (its first WorkerIdle, after warm-up)
before it is given any request, and the pool checks those pids on a timer and before each
dispatch. A worker's process is the pool's own child, so the
check is `waitid(..., WNOWAIT)`: it sees a dead worker even while it is an unreaped zombie
(which `kill(pid, 0)` would call alive) and leaves the reaping to Thespian.

A worker holds up to `capacity` requests at once (exchange.max_in_flight: its calls run on
one event loop, actors/io_worker.py); the pool gives the next request to the least-loaded
live worker with room. The worker cancels a call past `worker_deadline_secs` itself and
answers it UNKNOWN_OUTCOME; a worker that holds a request past the pool's longer deadline
(`pool_deadline_secs`: its loop no longer answers at all) is ended and every request it held
is answered UNKNOWN_OUTCOME, as for a worker that died. Pure bookkeeping here: the pool
(actors/exchange_worker.py) sends the messages.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from actors.messages import ExchangeRequest

MIN_DEADLINE_SECS = 10.0
"""Shortest in-worker deadline, whatever the timeout: a reconcile's FetchSymbol is several
calls in a row (position, open orders, open algo orders, each stop's history)."""
HUNG_GRACE_SECS = 5.0
"""The pool's deadline exceeds the in-worker one by this much: the worker answers its own
overdue calls first; the pool steps in only when the worker's loop is stuck."""
START_SECS = 30.0
"""A worker that has not reported its pid this long after it was created is replaced (it
holds no request: a worker gets none before it is ready)."""


def worker_deadline_secs(timeout_ms: int) -> float:
    """Longest a worker may run one request: two of ccxt's timeouts (a placement is one HTTP
    call, bounded by one; a read whose first attempt timed out is retried once inside that),
    at least MIN_DEADLINE_SECS. Past it the call is hung, not slow."""
    return max(2 * timeout_ms / 1000, MIN_DEADLINE_SECS)


def pool_deadline_secs(timeout_ms: int) -> float:
    """Longest the pool lets a worker hold one request before it ends the worker."""
    return worker_deadline_secs(timeout_ms) + HUNG_GRACE_SECS


def child_alive(pid: int) -> bool:
    """True while process `pid` runs; a zombie is dead. No psutil (the pool stays small)."""
    if pid == os.getpid():
        return True  # the asker (the pool's own event loop: its health is the sweep's)
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
    capacity: int = 1
    """Requests it may hold at once."""
    pid: int | None = None
    """Its process id, once it reported it (Started)."""
    ready: bool = False
    """True once it has warmed up (its first WorkerIdle): no request before that, so the
    deadline never counts a worker's start."""
    jobs: list[tuple[ExchangeRequest, float]] = field(default_factory=list)
    """The requests it runs, each with when it was handed over."""

    @property
    def requests(self) -> list[ExchangeRequest]:
        """The requests it runs, oldest first."""
        return [req for req, _ in self.jobs]


class WorkerBook:
    """The pool's workers, least recently finished first. Addresses are compared with ==
    (an ActorAddress is not hashable)."""

    def __init__(self) -> None:
        self._workers: list[Worker] = []

    def __len__(self) -> int:
        return len(self._workers)

    def __iter__(self) -> Iterator[Worker]:
        return iter(list(self._workers))

    def add(self, address: Any, now: float, capacity: int = 1) -> Worker:
        """A worker was created."""
        w = Worker(address, now, max(1, capacity))
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
        w.jobs.append((req, now))

    def finished(self, w: Worker, request_id: str) -> ExchangeRequest | None:
        """`w` finished `request_id` (or warmed up): it is ready, and goes to the back of
        the line; returns the request (None: not one it held, e.g. the warm-up)."""
        w.ready = True
        self._workers.remove(w)
        self._workers.append(w)
        for i, (req, _) in enumerate(w.jobs):
            if req.request_id == request_id:
                del w.jobs[i]
                return req
        return None

    def free(self) -> list[Worker]:
        """Workers that may take a request now (pid known, warmed up, room left), least
        loaded first (ties: least recently finished first)."""
        ok = [w for w in self._workers if w.pid is not None and w.ready
              and len(w.jobs) < w.capacity]
        return sorted(ok, key=lambda w: len(w.jobs))

    def idle(self) -> list[Worker]:
        """Workers ready and running nothing."""
        return [w for w in self._workers if w.pid is not None and w.ready and not w.jobs]

    def busy(self) -> list[Worker]:
        """Workers running at least one request."""
        return [w for w in self._workers if w.jobs]

    def in_flight(self) -> list[ExchangeRequest]:
        """Every request a worker runs."""
        return [req for w in self._workers for req, _ in w.jobs]

    def dead(self, alive: Callable[[int], bool]) -> list[Worker]:
        """Workers whose process is gone."""
        return [w for w in self._workers if w.pid is not None and not alive(w.pid)]

    def overdue(self, now: float, deadline_secs: float) -> list[Worker]:
        """Workers holding a request for the deadline or longer."""
        return [w for w in self._workers
                if any(now - since >= deadline_secs for _, since in w.jobs)]

    def stillborn(self, now: float) -> list[Worker]:
        """Workers that never reported their pid within START_SECS."""
        return [w for w in self._workers if w.pid is None and now - w.born >= START_SECS]
