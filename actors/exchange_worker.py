"""The exchange pool and its workers: blocking ccxt calls, off the symbol actors.

Measured: `import ccxt` costs ~64 MB per process, so symbol actors (target <= 8 MB PSS) never
import it. A small fixed pool of worker processes holds one ccxt client each; the pool hands
each request to an idle worker (so one slow request never stalls other symbols), protective
work first, and paces them by the account-wide order budgets and what the venue reports:
each worker returns the X-MBX-* counters and any 429/418 Retry-After of its call with
WorkerIdle (actors/pacing.py). Workers reply directly to the requesting symbol actor.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from thespian.actors import ActorTypeDispatcher, ChildActorExited, WakeupMessage

from actors.dispatch import Dispatcher
from actors.lifecycle import Lifecycle
from actors.messages import (
    AccountLimits,
    ExchangeFailure,
    ExchangeReply,
    ExchangeRequest,
    ExchangeSettings,
    FailureKind,
    FetchLimits,
    ParentCheck,
    PoolInit,
    RateUsage,
    Started,
    WorkerIdle,
    WorkerInit,
    new_id,
)
from actors.pacing import OrderBudget, Pacer, Scope
from system.logs import ActorLogger

log = ActorLogger("posguard.exchange")  # looked up per call: see system/logs.py
__all__ = ["ExchangePool", "ExchangeWorker", "OrderBudget"]  # OrderBudget: actors/pacing.py
ASK_LIMITS = "ask-limits"
"""Wakeup payload: read the exchange's published limits again."""
LIMITS_RETRY_SECS = 60
MIN_TIMER_SECS = 0.001


class ExchangePool(Lifecycle, ActorTypeDispatcher):
    """Dispatches ExchangeRequests to idle workers, paced by what the venue reports.

    Protective work first (actors/dispatch.py); order budgets, request weight and 429/418
    pauses from the X-MBX-* headers and Retry-After each worker returns (actors/pacing.py).
    Restarts dead workers.
    """

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.init: PoolInit | None = None
        self.idle: list[Any] = []
        self.busy: list[tuple[Any, ExchangeRequest]] = []
        self.pacer = Pacer(250, 1000)
        self.queue = Dispatcher(self.pacer)
        self.clock: Callable[[], float] = time.monotonic
        self.wake_at: float | None = None
        """When the earliest pending dispatch timer fires (timers cannot be cancelled)."""

    def receiveMsg_PoolInit(self, msg: PoolInit, sender: Any) -> None:
        """Create the workers; ask the exchange for its published rate limits."""
        if self.init is not None:
            return
        self.init = msg
        self.watch_parent(sender)
        self.pacer = Pacer(msg.orders_per_10s, msg.orders_per_min)
        self.queue = Dispatcher(self.pacer)
        for _ in range(msg.workers):
            self._spawn()
        self.send(sender, Started("exchange_pool", os.getpid()))
        self._ask_limits("start")

    def receiveMsg_Started(self, msg: Started, sender: Any) -> None:
        """A worker's pid: passed up so `actors` shows it and cleanup can find it."""
        if self.parent_addr is not None:
            self.send(self.parent_addr, msg)

    def _spawn(self) -> None:
        assert self.init is not None
        worker = self.createActor(ExchangeWorker)
        self.send(worker, WorkerInit(self.init.settings))
        self.idle.append(worker)

    def _ask_limits(self, reason: str) -> None:
        self.queue.submit(ExchangeRequest(new_id(), FetchLimits(reason), self.myAddress))
        self._dispatch()

    def receiveMsg_ExchangeRequest(self, msg: ExchangeRequest, sender: Any) -> None:
        """Queue a request and dispatch what can go."""
        self.queue.submit(msg)
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
            self.wakeupAfter(timedelta(seconds=LIMITS_RETRY_SECS), payload=ASK_LIMITS)
            return
        self.pacer.apply_limits(msg.result)
        per_10s, per_min = self.pacer.budget.limits
        log.info("exchange limits %s; order budget %d / 10 s, %d / min, weight %d / min",
                 msg.result, per_10s, per_min, self.pacer.gauge.limit)

    def receiveMsg_WorkerIdle(self, msg: WorkerIdle, sender: Any) -> None:
        """A worker is free again: take in what the venue said, dispatch what may go."""
        done = [r for (w, r) in self.busy if w == sender]
        self.busy = [(w, r) for (w, r) in self.busy if w != sender]
        self.idle.append(sender)
        if done:
            self._observe(done[0], msg.usage)
        self._dispatch()

    def _observe(self, req: ExchangeRequest, usage: RateUsage | None) -> None:
        throttled = self.pacer.observe(req.op, usage, self.clock())
        if throttled is None:
            return
        what = "every request" if throttled.scope is Scope.ALL else "every order placement"
        code = f", code {throttled.code}" if throttled.code is not None else ""
        if throttled.banned:
            log.critical("ALERT exchange IP ban (HTTP 418%s): %s waits %.0f s (Retry-After); "
                         "%d requests queued. Stops already resting stay in place.",
                         code, what, throttled.secs, len(self.queue))
        else:
            log.warning("exchange rate limit (HTTP 429%s on %s): %s waits %.1f s "
                        "(Retry-After); %d requests queued", code, type(req.op).__name__,
                        what, throttled.secs, len(self.queue))

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> None:
        """A held request may go now (or: is the parent alive? or: ask for limits again)."""
        if isinstance(msg.payload, ParentCheck):
            self.check_parent(msg.payload)
            return
        if msg.payload == ASK_LIMITS:
            self._ask_limits("retry")
            return
        self.wake_at = None
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
        now = self.clock()
        while self.idle:
            req = self.queue.take(now)
            if req is None:
                break
            worker = self.idle.pop(0)
            self.busy.append((worker, req))
            self.send(worker, req)
        wait = self.queue.next_wake_secs(now) if self.idle else None
        if wait is not None and wait > 0:
            self._arm(now, now + wait)

    def _arm(self, now: float, at: float) -> None:
        # Timers cannot be cancelled: arm another only when it must fire earlier than the
        # one pending; a timer that finds nothing to send is harmless.
        if self.wake_at is not None and self.wake_at <= at:
            return
        self.wake_at = at
        self.wakeupAfter(timedelta(seconds=max(at - now, MIN_TIMER_SECS)))


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
        """Run the call; reply to the requester; tell the pool we are idle and what the
        venue's last response said about the rate limits (X-MBX-* headers, 429/418)."""
        from system.exchange import ExchangeError
        result, failure = None, None
        try:
            gw = self._gw()
            gw.begin_call()
            result = gw.execute(msg.op)
        except ExchangeError as e:
            failure = e.failure
        except Exception as e:  # noqa: BLE001 - a bug or an unparseable reply
            # Not swallowed: the requester gets UNKNOWN_OUTCOME and looks the order up by its
            # client id (placing) or retries (reads); the traceback is logged here.
            log.exception("exchange call %s failed unexpectedly", type(msg.op).__name__)
            failure = ExchangeFailure(FailureKind.UNKNOWN_OUTCOME, None, f"{type(e).__name__}: {e}")
        usage = self.gateway.rate_usage() if self.gateway is not None else None
        # The pool first: the requester's next request (a move once its stop is accepted)
        # must not reach the pool before the counters of the reply that led to it.
        self.send(sender, WorkerIdle(msg.request_id, usage))
        self.send(msg.reply_to, ExchangeReply(msg.request_id, msg.op, result, failure))

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> None:
        """Is the parent (the pool) still alive?"""
        if isinstance(msg.payload, ParentCheck):
            self.check_parent(msg.payload)
