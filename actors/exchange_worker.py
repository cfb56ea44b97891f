"""The exchange pool and its workers: blocking ccxt calls, off the symbol actors.

Measured: `import ccxt` costs ~64 MB per process, so symbol actors (target <= 8 MB PSS) never
import it. A small fixed pool of worker processes holds one ccxt client each; the pool hands
each request to an idle worker (so one slow request never stalls other symbols) and enforces
the account-wide order budgets. Workers reply directly to the requesting symbol actor.
"""

from __future__ import annotations

import collections
import os
import time
from datetime import timedelta
from typing import Any

from thespian.actors import ActorTypeDispatcher, ChildActorExited, WakeupMessage

from actors.lifecycle import Lifecycle
from actors.messages import (
    ExchangeFailure,
    ExchangeReply,
    ExchangeRequest,
    ExchangeSettings,
    FailureKind,
    ParentCheck,
    PlaceMarket,
    PlaceStop,
    PoolInit,
    Started,
    WorkerIdle,
    WorkerInit,
)
from system.logs import ActorLogger

log = ActorLogger("posguard.exchange")  # looked up per call: see system/logs.py
PLACING = (PlaceMarket, PlaceStop)


class OrderBudget:
    """Sliding-window order counters (10 s and 60 s); never drops, only delays."""

    def __init__(self, per_10s: int, per_min: int) -> None:
        self._limits = ((10.0, per_10s), (60.0, per_min))
        self._sent: collections.deque[float] = collections.deque()

    def wait_secs(self, now: float) -> float:
        """0 if an order may go now, else how long until one may."""
        while self._sent and now - self._sent[0] > 60.0:
            self._sent.popleft()
        wait = 0.0
        for window, limit in self._limits:
            recent = [t for t in self._sent if now - t < window]
            if len(recent) >= limit:
                wait = max(wait, window - (now - recent[-limit]))
        return wait

    def record(self, now: float) -> None:
        """Count one order sent at `now`."""
        self._sent.append(now)


class ExchangePool(Lifecycle, ActorTypeDispatcher):
    """Dispatches ExchangeRequests to idle workers; restarts dead workers."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.init: PoolInit | None = None
        self.idle: list[Any] = []
        self.busy: list[tuple[Any, ExchangeRequest]] = []
        self.queue: collections.deque[ExchangeRequest] = collections.deque()
        self.budget = OrderBudget(250, 1000)
        self.timer_armed = False

    def receiveMsg_PoolInit(self, msg: PoolInit, sender: Any) -> None:
        """Create the workers."""
        if self.init is not None:
            return
        self.init = msg
        self.watch_parent(sender)
        self.budget = OrderBudget(msg.orders_per_10s, msg.orders_per_min)
        for _ in range(msg.workers):
            self._spawn()
        self.send(sender, Started("exchange_pool", os.getpid()))

    def receiveMsg_Started(self, msg: Started, sender: Any) -> None:
        """A worker's pid: passed up so `actors` shows it and cleanup can find it."""
        if self.parent_addr is not None:
            self.send(self.parent_addr, msg)

    def _spawn(self) -> None:
        assert self.init is not None
        worker = self.createActor(ExchangeWorker)
        self.send(worker, WorkerInit(self.init.settings))
        self.idle.append(worker)

    def receiveMsg_ExchangeRequest(self, msg: ExchangeRequest, sender: Any) -> None:
        """Queue a request and dispatch what can go."""
        self.queue.append(msg)
        self._dispatch()

    def receiveMsg_WorkerIdle(self, msg: WorkerIdle, sender: Any) -> None:
        """A worker is free again."""
        self.busy = [(w, r) for (w, r) in self.busy if w != sender]
        self.idle.append(sender)
        self._dispatch()

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> None:
        """The order budget may have room now (or: is the parent still alive?)."""
        if isinstance(msg.payload, ParentCheck):
            self.check_parent(msg.payload)
            return
        self.timer_armed = False
        self._dispatch()

    def receiveMsg_ChildActorExited(self, msg: ChildActorExited, sender: Any) -> None:
        """A worker died: its in-flight request has an unknown outcome; replace it."""
        addr = msg.childAddress
        self.idle = [w for w in self.idle if w != addr]
        lost = [r for (w, r) in self.busy if w == addr]
        self.busy = [(w, r) for (w, r) in self.busy if w != addr]
        for req in lost:
            failure = ExchangeFailure(FailureKind.UNKNOWN_OUTCOME, None, "exchange worker died")
            self.send(req.reply_to, ExchangeReply(req.request_id, req.op, None, failure))
        if self.init is not None:
            log.error("exchange worker exited; starting a replacement")
            self._spawn()
            self._dispatch()

    def _dispatch(self) -> None:
        while self.queue and self.idle:
            req = self.queue[0]
            if isinstance(req.op, PLACING):
                wait = self.budget.wait_secs(time.monotonic())
                if wait > 0:
                    self._arm(wait)
                    return
                self.budget.record(time.monotonic())
            self.queue.popleft()
            worker = self.idle.pop(0)
            self.busy.append((worker, req))
            self.send(worker, req)

    def _arm(self, wait: float) -> None:
        if not self.timer_armed:
            self.timer_armed = True
            self.wakeupAfter(timedelta(seconds=wait))


class ExchangeWorker(Lifecycle, ActorTypeDispatcher):
    """Runs one blocking ccxt call at a time and replies to the requester."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.settings: ExchangeSettings | None = None
        self.gateway: Any = None

    def receiveMsg_WorkerInit(self, msg: WorkerInit, sender: Any) -> None:
        """Build the ccxt client and load the market list now, not on the first order."""
        from system.exchange import ExchangeError
        self.settings = msg.settings
        self.watch_parent(sender)
        self.send(sender, Started("exchange_worker", os.getpid()))
        try:
            self._gw().warm_up()
        except ExchangeError as e:
            # Not fatal: the first real request loads the markets again and reports failures.
            log.warning("exchange worker warm-up failed: %s", e)

    def _gw(self) -> Any:
        if self.gateway is None:
            from system.exchange import Gateway, build_client
            s = self.settings
            assert s is not None
            if s.venue == "simulator":
                key, secret = s.paper_key, s.paper_secret
            else:
                key, secret = os.environ[s.api_key_env], os.environ[s.api_secret_env]
            self.gateway = Gateway(build_client(venue=s.venue, base_url=s.base_url,
                                                api_key=key, secret=secret,
                                                timeout_ms=s.timeout_ms))
        return self.gateway

    def receiveMsg_ExchangeRequest(self, msg: ExchangeRequest, sender: Any) -> None:
        """Run the call; reply to the requester; tell the pool we are idle."""
        from system.exchange import ExchangeError
        result, failure = None, None
        try:
            result = self._gw().execute(msg.op)
        except ExchangeError as e:
            failure = e.failure
        except Exception as e:  # noqa: BLE001 - a bug or an unparseable reply
            # Not swallowed: the requester gets UNKNOWN_OUTCOME and looks the order up by its
            # client id (placing) or retries (reads); the traceback is logged here.
            log.exception("exchange call %s failed unexpectedly", type(msg.op).__name__)
            failure = ExchangeFailure(FailureKind.UNKNOWN_OUTCOME, None, f"{type(e).__name__}: {e}")
        self.send(msg.reply_to, ExchangeReply(msg.request_id, msg.op, result, failure))
        self.send(sender, WorkerIdle(msg.request_id))

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> None:
        """Is the parent (the pool) still alive?"""
        if isinstance(msg.payload, ParentCheck):
            self.check_parent(msg.payload)
