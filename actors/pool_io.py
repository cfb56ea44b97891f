"""Exchange I/O in the pool's own process (exchange.workers: 0): no actor hop per request.

Measured (system/bench/io.py, RTT 0, 2 cores): a request through pool -> worker -> requester
costs 5.7-6.7 ms of CPU in the pool's and the worker's processes together (1.9-2.8 and
3.7-3.9 ms: about 1.5 ms per Thespian message), while the I/O itself costs 0.4-0.8 ms on the
event loop. Doing the I/O on an event loop thread inside the pool removes two messages per
request (pool -> worker, worker -> pool).

What that gives up, and what is kept:
- ccxt's ~64 MB is in the pool's process instead of a worker's (one process fewer in all).
- A call that hangs is still cancelled at the in-worker deadline (asyncio.wait_for), and a
  loop that stops answering altogether is found by the pool's sweep (its actor thread is not
  the loop's) and abandoned for a new one, its requests answered UNKNOWN_OUTCOME. What the
  pool can no longer survive is a call that blocks the whole process (the GIL held in C):
  then the requesters' own silence deadlines (actors/deadlines.py) answer for it.

The loop is a pseudo-worker in the pool's WorkerBook (address LOCAL, the pool's own pid), so
dispatch, capacity, deadlines and vouching are the same code for both modes; this mixin only
starts, feeds, drains and stops it.
"""

from __future__ import annotations

import os
from typing import Any

from thespian.actors import ThespianWatch, WatchMessage

from actors.io_loop import IOLoop
from actors.io_worker import credentials_of, open_once, outcome_of
from actors.log import ActorLogger
from actors.messages import (
    ExchangeFailure,
    ExchangeReply,
    ExchangeRequest,
    FailureKind,
    MarketsLoaded,
)
from actors.workers import Worker, worker_deadline_secs
from venue.interface import AsyncGateway, Outcome

log = ActorLogger("posguard.exchange")
LOCAL = "exchange-io-in-pool"
"""The WorkerBook address of the pool's own event loop."""
WARM_UP = "warm-up"
CLOSE_SECS = 2.0


class InPoolIO:
    """Mixin for ExchangePool (it provides workers, init, clock, send, held, parent_addr,
    stopping, _observe and _dispatch)."""

    local_io: IOLoop | None = None
    local_gateway: AsyncGateway | None = None
    local_deadline_secs = 0.0
    local_credentials: Any = None
    gateway: AsyncGateway | None = None
    """open_once's slot (the client of the current loop)."""
    _open_lock: Any = None

    # The pool's (annotations only).
    workers: Any
    init: Any
    held: dict[str, list[float]]
    parent_addr: Any
    stopping: bool

    def spawn_local(self) -> Worker:
        """Start the loop (and, on it, the client and its market list); ready once warm."""
        settings = self.init.settings
        self.local_deadline_secs = worker_deadline_secs(settings.timeout_ms)
        self.local_credentials = credentials_of(settings)
        io = IOLoop(f"posguard-pool-io-{os.getpid()}")
        self.local_io, self.local_gateway = io, None
        self.gateway, self._open_lock = None, None  # open_once's: a new loop, a new client
        w = self.workers.add(LOCAL, self.clock(), settings.max_in_flight)  # type: ignore[attr-defined]
        w.pid = os.getpid()

        async def warm() -> int:
            return await (await self._local_client()).warm_up()
        io.submit(WARM_UP, warm(), self.local_deadline_secs)
        return w

    async def _local_client(self) -> AsyncGateway:
        self.local_gateway = await open_once(self, self.init.settings, self.local_credentials)
        return self.local_gateway

    def hand(self, w: Worker, req: ExchangeRequest) -> None:
        """Give `req` to worker `w`: the pool's own loop, or a worker actor."""
        if w.address != LOCAL:
            self.send(w.address, req)  # type: ignore[attr-defined]
            return
        assert self.local_io is not None
        self.local_io.submit(req.request_id, self._local_run(req.op), self.local_deadline_secs)

    async def _local_run(self, op: Any) -> Outcome:
        return await (await self._local_client()).run(op)

    def local_watch(self) -> ThespianWatch | None:
        """The watch every handler must return while the loop runs (it lasts one message)."""
        if self.local_io is None:
            return None
        return ThespianWatch([self.local_io.fileno()])

    def receiveMsg_WatchMessage(self, msg: WatchMessage, sender: Any) -> None:
        """Calls finished on the loop: take in each one's usage, then answer its requester."""
        if self.local_io is None:
            return
        self._local_finished(self.local_io.drain())
        self._dispatch()  # type: ignore[attr-defined]

    def _local_finished(self, finished: list[Any]) -> None:
        w = self.workers.get(LOCAL)
        for done in finished:
            if w is None:
                return  # abandoned: its requests were answered
            if done.key == WARM_UP:
                self.workers.finished(w, WARM_UP)
                if isinstance(done.value, int) and self.parent_addr is not None:
                    self.send(self.parent_addr, MarketsLoaded(done.value))  # type: ignore[attr-defined]
                elif not isinstance(done.value, int):
                    log.warning("exchange client warm-up failed: %s",
                                done.error or "no reply in time")
                continue
            req = next((r for r in w.requests if r.request_id == done.key), None)
            if req is None:
                continue
            out = outcome_of(req, done, self.local_deadline_secs, f"exchange pool {os.getpid()}")
            self.workers.finished(w, done.key)
            self.held.pop(done.key, None)
            self._observe(req, out.usage)  # type: ignore[attr-defined]
            self.send(req.reply_to, ExchangeReply(req.request_id, req.op,  # type: ignore[attr-defined]
                                                  out.result, out.failure))

    def abandon_local(self) -> None:
        """The loop no longer answers: leave its thread (a daemon) behind; a new one starts."""
        io, self.local_io, self.local_gateway = self.local_io, None, None
        self.gateway, self._open_lock = None, None
        if io is not None and not io.stop(0.1):
            log.error("exchange pool %d: the I/O loop thread hangs; abandoned", os.getpid())

    def stop_local(self) -> None:
        """Exiting: answer every call in flight (at most their deadline), close the client,
        stop the loop thread."""
        io = self.local_io
        if io is None:
            return
        io.wait(self.local_deadline_secs)
        self._local_finished(io.drain())
        w = self.workers.get(LOCAL)
        stopped = ExchangeFailure(FailureKind.UNKNOWN_OUTCOME, None,
                                  f"exchange pool {os.getpid()} stopped with the call in flight")
        for req in (w.requests if w is not None else []):
            self.send(req.reply_to, ExchangeReply(req.request_id, req.op, None, stopped))  # type: ignore[attr-defined]
        if w is not None:
            w.jobs.clear()
        if self.local_gateway is not None:
            try:
                io.call(self.local_gateway.close(), CLOSE_SECS)
            except Exception as e:  # noqa: BLE001 - exiting anyway
                log.warning("exchange pool: closing the client failed: %s", e)
        self.local_io, self.local_gateway = None, None
        io.stop()
