"""The exchange pool: exchange calls off the symbol actors, paced and answered for.

Measured: `import ccxt` costs ~64 MB per process, so symbol actors (target <= 8 MB PSS) never
import it. A small pool of worker processes (actors/io_worker.py) holds one asynchronous
ccxt client each, with up to `max_in_flight` requests in flight on its event loop; the pool
hands each request to the least-loaded worker with room (so one slow request never stalls
other symbols), protective work first, and paces them by the account-wide order budgets and
what the venue reports: a worker returns the venue's counters (Binance: X-MBX-*) and any
429/418 Retry-After of each request with its WorkerIdle (actors/pacing.py). A worker's
gateway comes from the venue adapter in its settings (ExchangeSettings.venue). Workers reply
directly to the requesting symbol actor.

No request waits forever (actors/deadlines.py, actors/workers.py): a worker answers a call
past its in-worker deadline itself; the pool checks its workers' processes (Thespian's exit
notice can miss a death), ends a worker that holds a request past the pool's longer deadline
(a hung loop), answers UNKNOWN_OUTCOME for every request of a worker that died or was ended,
replaces the worker and tells the supervisor (WorkerGone). It vouches for every request
it still holds (RequestHeld) so that requesters' own deadlines measure only its silence.
Once asked to exit it starts nothing and answers what it had queued.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from thespian.actors import (
    ActorExitRequest,
    ChildActorExited,
    WakeupMessage,
)

from actors.dispatch import Dispatcher
from actors.io_worker import ExchangeWorker
from actors.lifecycle import Lifecycle
from actors.log import ActorLogger
from actors.messages import (
    AccountLimits,
    ChildFailing,
    ExchangeFailure,
    ExchangeReply,
    ExchangeRequest,
    FailureKind,
    FetchLimits,
    LimitsRetry,
    MarketsLoaded,
    MoveWanted,
    ParentCheck,
    PoolInit,
    PoolStatus,
    PoolSweep,
    RateUsage,
    RequestHeld,
    Started,
    WorkerDone,
    WorkerDrain,
    WorkerGone,
    WorkerIdle,
    WorkerInit,
    new_id,
)
from actors.pacing import OrderBudget, Pacer, Scope
from actors.pool_io import LOCAL, InPoolIO
from actors.workers import (
    Worker,
    WorkerBook,
    child_alive,
    end_process,
    pool_deadline_secs,
)
from venue.interface import RateLimits

log = ActorLogger("posguard.exchange")  # looked up per call: see actors/log.py
# ExchangeWorker: actors/io_worker.py; OrderBudget: actors/pacing.py
__all__ = ["ExchangePool", "ExchangeWorker", "OrderBudget"]
SWEEP_SECS = 1.0
HELD_NOTICE_SECS = 2.0
"""A requester hears from the pool (RequestHeld) about a request it has held this long."""
LIMITS_RETRY_SECS = 60
MIN_TIMER_SECS = 0.001
BEFORE_INIT = RateLimits(order_windows_secs=(10.0, 60.0), weight_window_secs=60.0,
                         weight_limit=1, weight_code=None, orders_code=None,
                         default_ban_secs=0.0, weights=(), default_weight=0,
                         weight_per_explained_stop=0)
"""The pool's limits before PoolInit names the venue: never consulted (nothing is dispatched
before PoolInit creates the workers, and PoolInit replaces the pacer with the venue's)."""


def _per(window_secs: float) -> str:
    """A counter window for the log: "min" for 60 s, else its seconds ("10 s", "1 s")."""
    return "min" if window_secs == 60.0 else f"{window_secs:g} s"


class ExchangePool(InPoolIO, Lifecycle):
    """Dispatches ExchangeRequests to workers with room, paced by what the venue reports.

    Protective work first (actors/dispatch.py); order budgets, request weight and 429/418
    pauses from the X-MBX-* headers and Retry-After each worker returns (actors/pacing.py).
    Finds dead and hung workers and replaces them (actors/workers.py).
    """

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.init: PoolInit | None = None
        self.workers = WorkerBook()
        self.pacer = Pacer(250, 1000, limits=BEFORE_INIT)
        self.queue = Dispatcher(self.pacer)
        self.clock: Callable[[], float] = time.monotonic
        self.alive: Callable[[int], bool] = child_alive
        self.end: Callable[[int], None] = end_process
        self.deadline_secs = 0.0
        self.stopping = False
        self.held: dict[str, list[float]] = {}
        """request id -> [when it arrived, when its requester last heard from us], for the
        requests that asked for RequestHeld (held_notices)."""
        self.wake_at: float | None = None
        """When the earliest pending dispatch timer fires (timers cannot be cancelled)."""
        self.told: PoolStatus | None = None
        """The budget status last sent to the supervisor (for the metrics)."""

    def receiveMessage(self, msg: Any, sender: Any) -> Any:
        """With the I/O in this process (workers: 0, actors/pool_io.py), every handler
        returns the watch on its loop's wake-up socket."""
        result = super().receiveMessage(msg, sender)
        watch = self.local_watch()
        return watch if watch is not None else result

    def receiveMsg_PoolInit(self, msg: PoolInit, sender: Any) -> None:
        """Create the workers; ask the exchange for its published rate limits."""
        if self.init is not None:
            return
        self.init = msg
        self.deadline_secs = msg.deadline_secs or pool_deadline_secs(msg.settings.timeout_ms)
        self.watch_parent(sender)
        self.pacer = Pacer(msg.orders_per_10s, msg.orders_per_min,
                           limits=msg.settings.venue.limits)
        self.queue = Dispatcher(self.pacer)
        for _ in range(max(msg.workers, 1)):  # 0: one loop in this process (pool_io.py)
            self._spawn()
        self.send(sender, Started("exchange_pool", os.getpid()))
        self.wakeupAfter(timedelta(seconds=SWEEP_SECS), payload=PoolSweep())
        self._ask_limits("start")

    def receiveMsg_Started(self, msg: Started, sender: Any) -> None:
        """A worker's pid (its liveness is checked from now on): passed up so `actors`
        shows it and cleanup can find it. It takes requests once it is ready (WorkerIdle)."""
        w = self.workers.get(sender)
        if w is None:
            return  # a worker already ended (its pid would only be a dead one upstairs)
        w.pid = msg.pid
        if self.parent_addr is not None:
            self.send(self.parent_addr, msg)

    def _spawn(self) -> None:
        assert self.init is not None
        if self.init.workers == 0:
            self.spawn_local()
            return
        worker = self.createActor(ExchangeWorker)
        self.send(worker, WorkerInit(self.init.settings))
        self.workers.add(worker, self.clock(), self.init.settings.max_in_flight)

    def _ask_limits(self, reason: str) -> None:
        self.queue.submit(ExchangeRequest(new_id(), FetchLimits(reason), self.myAddress))
        self._dispatch()

    def receiveMsg_ExchangeRequest(self, msg: ExchangeRequest, sender: Any) -> None:
        """Queue a request and dispatch what can go."""
        if self.stopping:
            self._answer(msg, FailureKind.TEMPORARY, "not sent: the exchange pool is stopping")
            return
        if msg.held_notices:
            now = self.clock()
            self.held[msg.request_id] = [now, now]
        self.queue.submit(msg)
        self._dispatch()

    def receiveMsg_MoveWanted(self, msg: MoveWanted, sender: Any) -> None:
        """A symbol's latest wish for a stop move (actors/dispatch.py): grant what can go."""
        if not self.stopping:
            self.queue.want(msg, sender)
            self._dispatch()

    def receiveMsg_ExchangeReply(self, msg: ExchangeReply, sender: Any) -> None:
        """The exchange's published limits (our own FetchLimits): they can only lower ours."""
        if not isinstance(msg.op, FetchLimits):
            log.warning("exchange pool: unexpected reply to %s", type(msg.op).__name__)
            return
        if msg.failure is not None or not isinstance(msg.result, AccountLimits):
            # The configured budget stays in force meanwhile (it is below Binance's limits).
            log.warning("exchange limits not read (%s); asking again in %d s",
                        msg.failure.message if msg.failure else msg.result, LIMITS_RETRY_SECS)
            self.wakeupAfter(timedelta(seconds=LIMITS_RETRY_SECS), payload=LimitsRetry())
            return
        self.pacer.apply_limits(msg.result)
        per_short, per_long = self.pacer.budget.limits
        short, long = (_per(w) for w in self.pacer.limits.order_windows_secs)
        log.info("exchange limits %s; order budget %d / %s, %d / %s, weight %d / %s",
                 msg.result, per_short, short, per_long, long, self.pacer.gauge.limit,
                 _per(self.pacer.limits.weight_window_secs))

    def receiveMsg_WorkerIdle(self, msg: WorkerIdle, sender: Any) -> None:
        """A worker finished a request (or warmed up): take in what the venue said about that
        request, dispatch."""
        w = self.workers.get(sender)
        if w is None:
            return  # ended past its deadline: its request was answered already
        if msg.markets is not None and self.parent_addr is not None:
            self.send(self.parent_addr, MarketsLoaded(msg.markets))  # the start's progress
        done = self.workers.finished(w, msg.request_id)
        if done is not None:
            self.held.pop(done.request_id, None)
            self._observe(done, msg.usage)
        self._dispatch()

    def receiveMsg_WorkerDone(self, msg: WorkerDone, sender: Any) -> None:
        """A worker finished several requests: take in what the venue said about each (in
        the order they finished), then dispatch once."""
        w = self.workers.get(sender)
        if w is None:
            return  # ended or found dead: its requests were answered already
        for request_id, usage in msg.done:
            done = self.workers.finished(w, request_id)
            if done is not None:
                self.held.pop(done.request_id, None)
                self._observe(done, usage)
        self._dispatch()

    def _observe(self, req: ExchangeRequest, usage: RateUsage | None) -> None:
        throttled = self.pacer.observe(req.op, usage, self.clock())
        if throttled is None:
            return
        what = {Scope.ALL: "every request", Scope.ORDERS: "every order placement",
                Scope.CANCELS: "every cancel"}[throttled.scope]
        code = f", code {throttled.code}" if throttled.code is not None else ""
        status = throttled.http_status
        # Bybit's 10006 rides HTTP 200: the code, not the status, is the refusal.
        refusal = f"HTTP {status}{code}" if status not in (None, 200) else code.lstrip(", ")
        if throttled.banned:
            log.critical("ALERT exchange IP ban (%s): %s waits %.0f s (Retry-After); "
                         "%d requests queued. Stops already resting stay in place.",
                         refusal, what, throttled.secs, len(self.queue))
        else:
            log.warning("exchange rate limit (%s on %s): %s waits %.1f s "
                        "(Retry-After); %d requests queued", refusal, type(req.op).__name__,
                        what, throttled.secs, len(self.queue))

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> None:
        """A held request may go now (or: is the parent alive? the workers? ask for limits)."""
        if isinstance(msg.payload, ParentCheck):
            self.check_parent(msg.payload)
            return
        if isinstance(msg.payload, LimitsRetry):
            self._ask_limits("retry")
            return
        if isinstance(msg.payload, PoolSweep):
            if not self.stopping:
                self._sweep()
                self.wakeupAfter(timedelta(seconds=SWEEP_SECS), payload=PoolSweep())
            return
        self.wake_at = None
        self._dispatch()

    def _sweep(self) -> None:
        """Dead and hung workers are replaced; requesters hear about what we still hold."""
        now = self.clock()
        for w in self.workers.dead(self.alive):
            self._replace(w, f"process {w.pid} is gone")
        for w in self.workers.overdue(now, self.deadline_secs):
            self._end(w, f"no reply within {self.deadline_secs:g} s")
        for w in self.workers.stillborn(now):
            self._end(w, "it never reported its pid")
        self._vouch(now)
        self._dispatch()
        self._tell_status(now)

    def _tell_status(self, now: float) -> None:
        """The supervisor hears the budget status when it changed (once a sweep at most)."""
        status = self.pacer.status(now, len(self.queue), os.getpid())
        if status != self.told and self.parent_addr is not None:
            self.told = status
            self.send(self.parent_addr, status)

    def _vouch(self, now: float) -> None:
        busy = [(r, False) for r in self.workers.in_flight()]
        for req, queued in [*busy, *((r, True) for r in self.queue)]:
            times = self.held.get(req.request_id)
            if times is None or now - times[1] < HELD_NOTICE_SECS:
                continue
            times[1] = now
            self.send(req.reply_to, RequestHeld(req.request_id, queued, now - times[0]))

    def receiveMsg_ChildActorExited(self, msg: ChildActorExited, sender: Any) -> None:
        """A worker died: its requests in flight have an unknown outcome; replace it."""
        w = self.workers.get(msg.childAddress)
        if w is not None:  # None: already replaced (ended by us, or found dead by a sweep)
            self._replace(w, "exit notice")
            self._dispatch()

    def receiveMsg_ChildFailing(self, msg: ChildFailing, sender: Any) -> None:
        """A worker says why it is about to exit (its exit notice then replaces it)."""
        w = self.workers.get(sender)
        log.error("exchange worker %s exiting: %s", w.pid if w else "?", msg.reason)

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender: Any) -> None:
        """Shutting down: start nothing from now on; answer what was never sent; the workers
        finish and answer their own calls (WorkerDrain); Thespian then ends them."""
        self.stopping = True
        queued = self.queue.drain()
        for req in queued:
            self._answer(req, FailureKind.TEMPORARY, "not sent: the exchange pool is stopping")
        log.info("exchange pool %d stopping: %d queued requests answered, %d in flight",
                 os.getpid(), len(queued), len(self.workers.in_flight()))
        for w in self.workers:  # before Thespian's ActorExitRequest reaches them
            if w.address != LOCAL:
                self.send(w.address, WorkerDrain())
        self.stop_local()

    def _end(self, w: Worker, reason: str) -> None:
        """End a worker that must not go on (a hung call never reads ActorExitRequest)."""
        if w.address == LOCAL:
            self.abandon_local()
        else:
            if w.pid is not None:
                self.end(w.pid)
            self.send(w.address, ActorExitRequest())
        self._replace(w, f"{reason}; ended")

    def _replace(self, w: Worker, reason: str) -> None:
        """`w` is gone: answer each of its requests (once: it is forgotten first), tell the
        supervisor, start another (the caller dispatches)."""
        self.workers.remove(w.address)
        jobs = w.requests
        for job in jobs:
            self._answer(job, FailureKind.UNKNOWN_OUTCOME, f"{reason} (exchange worker "
                         f"{w.pid}, running {type(job.op).__name__})")
        if w.pid is not None and self.parent_addr is not None and w.address != LOCAL:
            self.send(self.parent_addr, WorkerGone(w.pid, reason))
        if self.stopping:
            return
        log.error("exchange worker %s: %s; %s; starting a replacement", w.pid, reason,
                  f"the outcome of its {len(jobs)} requests in flight is unknown" if jobs
                  else "it was idle")
        self._spawn()

    def _answer(self, req: ExchangeRequest, kind: FailureKind, message: str) -> None:
        self.held.pop(req.request_id, None)
        if req.reply_to == self.myAddress and self.stopping:
            return  # our own FetchLimits: nothing left to learn
        self.send(req.reply_to, ExchangeReply(req.request_id, req.op, None,
                                              ExchangeFailure(kind, None, message)))

    def _free_worker(self) -> Worker | None:
        """The least-loaded worker with room whose process is alive (a dead one is replaced
        on the way)."""
        for w in self.workers.free():
            if w.pid is not None and self.alive(w.pid):
                return w
            self._replace(w, f"process {w.pid} is gone (found before dispatch)")
        return None

    def _dispatch(self) -> None:
        now = self.clock()
        while len(self.queue):
            worker = self._free_worker()
            if worker is None:
                break
            req = self.queue.take(now)
            if req is None:
                break
            self.workers.assign(worker, req, now)
            self.hand(worker, req)
        for addr, message in self.queue.outgoing(now):
            self.held.pop(getattr(message, "request_id", ""), None)  # a deferred move: answered
            self.send(addr, message)
        wait = self.queue.next_wake_secs(now) if self.workers.free() else None
        if wait is not None and wait > 0:
            self._arm(now, now + wait)

    def _arm(self, now: float, at: float) -> None:
        # Timers cannot be cancelled: arm another only when it must fire earlier than the
        # one pending; a timer that finds nothing to send is harmless.
        if self.wake_at is not None and self.wake_at <= at:
            return
        self.wake_at = at
        self.wakeupAfter(timedelta(seconds=max(at - now, MIN_TIMER_SECS)))
