"""The exchange worker: one asynchronous exchange client, many requests in flight at once.

Why a worker process at all, and not the pool doing the I/O itself: `import ccxt` costs ~64
MB, and a call that hangs the client must not hang the pool that paces and answers for every
request (system/bench/io.py measures what the hop costs). Why asynchronous: a blocking client
has one request in flight, so at 60 ms RTT four of them move 27 stops a second; one event
loop holds dozens of requests on kept-alive connections for a fraction of the CPU.

The venue's AsyncGateway runs on an event loop in a background thread (actors/io_loop.py);
this actor stays the only thread that sends. For the requests one wake-up finds finished it
tells the pool first (one WorkerDone with each request's own rate usage) and then each
requester: the requester's next request (a move once its stop is accepted) must not reach the pool before
the counters of the reply that led to it. Every request has an in-worker deadline
(`worker_deadline_secs`): past it the call is cancelled and answered UNKNOWN_OUTCOME. The
pool's deadline is longer: it ends a worker whose loop no longer answers at all.

Asked to drain (WorkerDrain, from the exiting pool, ahead of Thespian's ActorExitRequest) the
worker starts nothing new and cancels nothing already sent: it waits for its calls in flight
(at most their deadline), answers them, closes the client's connections and joins the loop
thread (bounded), so no thread or process is left behind.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from thespian.actors import ActorExitRequest, ThespianWatch, WakeupMessage, WatchMessage

from actors.io_loop import Finished, IOLoop
from actors.lifecycle import Lifecycle
from actors.log import ActorLogger
from actors.messages import (
    ExchangeFailure,
    ExchangeReply,
    ExchangeRequest,
    ExchangeSettings,
    FailureKind,
    ParentCheck,
    Started,
    WorkerDone,
    WorkerDrain,
    WorkerIdle,
    WorkerInit,
)
from actors.workers import worker_deadline_secs
from venue.interface import AsyncGateway, Credentials, Outcome

log = ActorLogger("posguard.exchange")  # looked up per call: see actors/log.py
CLOSE_SECS = 2.0
"""How long closing the client's connections may take at exit."""


def credentials_of(s: ExchangeSettings) -> Credentials:
    """The account's keys: the simulator's in paper mode, else from the environment variables
    the settings name (KeyError naming the variable when one is missing)."""
    if s.environment == "simulator":
        return Credentials(s.paper_key, s.paper_secret)
    return Credentials(os.environ[s.api_key_env], os.environ[s.api_secret_env])


async def open_once(holder: Any, s: ExchangeSettings, credentials: Credentials) -> AsyncGateway:
    """The venue's AsyncGateway for `holder` (an actor with a `gateway` attribute), opened
    once however many calls ask at the same moment (after a failed warm-up every request
    would otherwise build its own client); on the loop thread only."""
    lock = getattr(holder, "_open_lock", None)
    if lock is None:
        lock = holder._open_lock = asyncio.Lock()
    async with lock:
        if holder.gateway is None:
            holder.gateway = await s.venue.open_async_gateway(
                s.environment, s.base_url, credentials, s.timeout_ms)
        return holder.gateway


def outcome_of(req: ExchangeRequest, done: Finished, deadline_secs: float, who: str) -> Outcome:
    """What a finished call on the loop means for its requester."""
    if done.timed_out:
        return Outcome(None, ExchangeFailure(
            FailureKind.UNKNOWN_OUTCOME, None, f"no reply within {deadline_secs:g} s ({who})"),
            None)
    if done.error is not None:
        # Not swallowed: the requester gets UNKNOWN_OUTCOME and looks the order up by its
        # client id (placing) or retries (reads); the traceback is logged here.
        log.error("exchange call %s failed unexpectedly", type(req.op).__name__,
                  exc_info=(type(done.error), done.error, done.error.__traceback__))
        return Outcome(None, ExchangeFailure(FailureKind.UNKNOWN_OUTCOME, None,
                                             f"{type(done.error).__name__}: {done.error}"),
                       None)
    assert isinstance(done.value, Outcome)
    return done.value


class ExchangeWorker(Lifecycle):
    """Runs many exchange calls at once (the venue's AsyncGateway on a background event
    loop) and replies to each requester."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.settings: ExchangeSettings | None = None
        self.io: IOLoop | None = None
        self.gateway: AsyncGateway | None = None
        self.credentials: Credentials | None = None
        self.deadline_secs = 0.0
        self.running: dict[str, tuple[ExchangeRequest, Any]] = {}
        """request id -> (the request, the pool that sent it), for calls in flight."""
        self.stopping = False

    def receiveMessage(self, msg: Any, sender: Any) -> Any:
        """Every handler's return is the watch on the loop's wake-up socket (a ThespianWatch
        lasts one message: without it, finished calls would wait for the next message)."""
        super().receiveMessage(msg, sender)
        if self.io is not None and not self.stopping and self.dying is None:
            return ThespianWatch([self.io.fileno()])
        return None

    def receiveMsg_WorkerInit(self, msg: WorkerInit, sender: Any) -> None:
        """Start the loop, build the venue's client on it and load the market list now, not
        on the first order; then say we are ready (the pool's deadline starts now)."""
        self.settings = msg.settings
        self.deadline_secs = msg.deadline_secs or worker_deadline_secs(msg.settings.timeout_ms)
        self.watch_parent(sender)
        self.send(sender, Started("exchange_worker", os.getpid()))
        self.credentials = credentials_of(msg.settings)  # a missing key: the handler fails
        if self.io is None:
            self.io = IOLoop(f"posguard-io-{os.getpid()}")
        markets = None
        try:
            markets = self.io.call(self._open(), self.deadline_secs)
        except Exception as e:  # noqa: BLE001 - not fatal: the first request loads them again
            log.warning("exchange worker warm-up failed: %s: %s", type(e).__name__, e)
        self.send(sender, WorkerIdle("warm-up", markets=markets))

    async def _open(self) -> int:
        """On the loop: the venue's client (ccxt is imported here, in the worker's process),
        then its market list."""
        return await (await self._client()).warm_up()

    async def _client(self) -> AsyncGateway:
        # One client, whoever asks first; a failed start is tried again by the next call.
        if self.gateway is None:
            s = self.settings
            assert s is not None and self.credentials is not None
            self.gateway = await open_once(self, s, self.credentials)
        return self.gateway

    async def _run(self, op: Any) -> Outcome:
        return await (await self._client()).run(op)

    def receiveMsg_ExchangeRequest(self, msg: ExchangeRequest, sender: Any) -> None:
        """Start the call on the loop; its answer goes out when it finishes (WatchMessage)."""
        if self.io is None or self.stopping:
            self._answer(msg, sender, Outcome(None, ExchangeFailure(
                FailureKind.TEMPORARY, None, "not sent: the exchange worker is not running"),
                None))
            return
        self.running[msg.request_id] = (msg, sender)
        self.io.submit(msg.request_id, self._run(msg.op), self.deadline_secs)

    def receiveMsg_WatchMessage(self, msg: WatchMessage, sender: Any) -> None:
        """Calls finished: answer each (the pool first, then the requester)."""
        self._answer_finished()

    def _answer_finished(self) -> None:
        """Everything the loop finished: one WorkerDone to the pool for all of them (sent
        first), then each requester's reply."""
        if self.io is None:
            return
        answers = []
        for done in self.io.drain():
            entry = self.running.pop(done.key, None)
            if entry is not None:
                answers.append((entry[0], entry[1], self._outcome(entry[0], done)))
        self._answer_all(answers)

    def _answer_all(self, answers: list[tuple[ExchangeRequest, Any, Outcome]]) -> None:
        if not answers:
            return
        pools: list[Any] = []
        for _, pool, _ in answers:
            if not any(pool == p for p in pools):  # an ActorAddress is not hashable
                pools.append(pool)
        for pool in pools:
            self.send(pool, WorkerDone(tuple((req.request_id, out.usage)
                                             for req, p, out in answers if p == pool)))
        for req, _, out in answers:
            self.send(req.reply_to, ExchangeReply(req.request_id, req.op, out.result,
                                                  out.failure))

    def _outcome(self, req: ExchangeRequest, done: Finished) -> Outcome:
        return outcome_of(req, done, self.deadline_secs, f"exchange worker {os.getpid()}")

    def _answer(self, req: ExchangeRequest, pool: Any, out: Outcome) -> None:
        # The pool first: see the module docstring.
        self.send(pool, WorkerIdle(req.request_id, out.usage))
        self.send(req.reply_to, ExchangeReply(req.request_id, req.op, out.result, out.failure))

    def receiveMsg_WorkerDrain(self, msg: WorkerDrain, sender: Any) -> None:
        """The pool is exiting: answer every call in flight (waiting at most their deadline),
        then close the client and stop the loop thread (Thespian's ActorExitRequest follows)."""
        self.stop_io()

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender: Any) -> None:
        """Exit: as WorkerDrain, if it did not come first (replies sent from here may be lost
        as the process ends: the pool drains its workers before it exits)."""
        self.stop_io()

    def stop_io(self) -> None:
        """Answer what is in flight, close the client, join the loop thread (bounded)."""
        if self.io is None or self.stopping:
            return
        self.stopping = True
        io = self.io
        started = time.monotonic()
        io.wait(self.deadline_secs)
        self._answer_finished()
        stopped = ExchangeFailure(FailureKind.UNKNOWN_OUTCOME, None,
                                  f"exchange worker {os.getpid()} stopped with the call in flight")
        self._answer_all([(req, pool, Outcome(None, stopped, None))
                          for req, pool in self.running.values()])
        self.running.clear()
        if self.gateway is not None:
            try:
                io.call(self.gateway.close(), CLOSE_SECS)
            except Exception as e:  # noqa: BLE001 - exiting anyway
                log.warning("exchange worker: closing the client failed: %s", e)
        if not io.stop():
            log.warning("exchange worker %d: I/O thread still running after %.1f s", os.getpid(),
                        time.monotonic() - started)

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> None:
        """Is the parent (the pool) still alive?"""
        if isinstance(msg.payload, ParentCheck):
            self.check_parent(msg.payload)
