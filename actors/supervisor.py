"""The supervisor (globalName "posguard"): builds the children, routes, restarts, quarantines.

It owns the routing table (actors/routing.py): every event, command or sweep result for a
symbol without an actor creates one, and messages for a symbol whose actor is (re)starting
wait in the table until it exists (nothing is dropped, I-5). A symbol actor that dies is
restarted from its snapshot after an exponential backoff, at most `max_restarts` times in
`within_secs`; past that the symbol is QUARANTINED (its exchange stop stays, the reason is
shown, the operator decides). The supervisor never blocks: exchange calls go through the pool.
Before its SupervisorInit it refuses every command ("starting, try again") and stores nothing
(the gate and the operator's queries and commands are in actors/supervisor_admin.py); once it
is stopping (ShutdownRequest, or Thespian's ActorExitRequest when the system shuts down) no
exit is respawned and nothing is created.

Hot path: the stream actors get the routing table (Subscriptions: symbol -> address of every
live actor, refreshed within HOUSEKEEPING_SECS of a change) and send ticks and user-stream
events straight to the symbol actors; only events for symbols without a live actor come
here. An event sent to an actor that died in between is not lost: Thespian hands anything
sent to a dead address to the dead-letter handler, which is this supervisor, and it is
routed again like any other (queued until the replacement exists). Through the supervisor,
every event cost two transport hops and a turn of its loop, whose cost grows with its
number of children (Thespian re-registers every socket per select): `posguard bench`
measured user-stream delivery p50 2.7 s at 100 symbols moving once a second.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from typing import Any

from thespian.actors import (
    ActorExitRequest,
    ActorTypeDispatcher,
    ChildActorExited,
    DeadEnvelope,
    PoisonMessage,
    WakeupMessage,
)

from actors.messages import (
    AccountSnapshot,
    AlgoUpdate,
    ChildFailing,
    ClosePosition,
    CommandResult,
    ExchangeReply,
    ExchangeRequest,
    FetchAccount,
    FetchPositions,
    Forward,
    MarketsLoaded,
    OpenPosition,
    OrderUpdate,
    PoolStatus,
    PositionUpdate,
    Ready,
    ReconcileRequest,
    RestartDone,
    Started,
    StreamConnected,
    StreamStatus,
    Subscriptions,
    SupervisorInit,
    SymbolInit,
    SymbolView,
    Timer,
    WorkerGone,
    new_id,
)
from actors.restarts import RestartIntensity
from actors.routing import (
    ALIVE,
    MAX_PENDING,
    PASSIVATED,
    PASSIVATING,
    QUARANTINED,
    RESTARTING,
    RUNNING,
    STARTING,
    STOPPING,
    Child,
    Others,
    Routes,
)
from actors.supervisor_admin import SupervisorAdmin, not_ready_reply
from actors.sweep import plan_stop_checks, plan_sweep
from system.clock import SystemClock
from system.logs import ActorLogger

log = ActorLogger("posguard.supervisor")  # looked up per call: see system/logs.py
HOUSEKEEPING_SECS = 1.0
SUPERVISOR_EXIT_SECS = 5.0
"""Told to exit, the supervisor ends its own process after this (see _end_after)."""
EXIT_TIMER_NAME = "posguard-supervisor-exit"
HEALTHY_STATES = ("FLAT", "PROTECTED")
"""A symbol actor in one of these after its restart no longer shows why it last exited."""


class Supervisor(SupervisorAdmin, ActorTypeDispatcher):
    """Creates and watches the pool, the streams and one actor per symbol."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.init: SupervisorInit | None = None
        self.routes = Routes()
        self.intensity: RestartIntensity | None = None
        self.others = Others()
        """Non-symbol children: pool, workers, streams (address, kind, pid)."""
        self.streams: dict[str, StreamStatus] = {}
        self.poison = 0
        self.stopping = False
        self.subs_dirty = False
        self.pool: Any = None
        self.market: Any = None
        self.user: Any = None
        self.last_stop_check = float("-inf")
        """time.monotonic() of the last sweep that read the open algo orders too."""
        self.carried: dict[tuple[str, str | None], int] = {}
        """Restart counts the previous supervisor had (SupervisorInit.restarts)."""
        self.pool_status: PoolStatus | None = None
        """The exchange pool's latest budget status (for the metrics)."""
        self.markets: int | None = None
        """Markets the exchange workers loaded (MarketsLoaded; the launcher's start progress)."""
        self.recovering: tuple[str, ...] | None = None
        """Symbols the store listed as live at start (None until it was read)."""

    def receiveMessage(self, msg: Any, sender: Any) -> Any:
        """Dispatch; before the init every command is refused and nothing is stored."""
        if self.init is None:
            refusal = not_ready_reply(msg)
            if refusal is not None:
                log.warning("supervisor not initialised: %s refused", type(msg).__name__)
                self.send(sender, refusal)
                return None
        return super().receiveMessage(msg, sender)

    # ------------------------------------------------------------------ start

    def receiveMsg_SupervisorInit(self, msg: SupervisorInit, sender: Any) -> None:
        """Build the children and recover every symbol with live state; answer the status."""
        if self.init is None:
            self.init = msg
            s = msg.supervisor
            self.intensity = RestartIntensity(s.max_restarts, s.within_secs, s.backoff_min_ms,
                                              s.backoff_max_ms)
            self.carried = {(kind, symbol): n for kind, symbol, n in msg.restarts}
            self._start_pool(self.carried.get(("exchange_pool", None), 0))
            if msg.streams is not None:
                for kind in ("user_stream", "market_stream"):
                    self._start_stream(kind, self.carried.get((kind, None), 0))
            self.handleDeadLetters(startHandling=True)
            self._recover()
            self.wakeupAfter(timedelta(seconds=HOUSEKEEPING_SECS), payload=Timer("housekeeping"))
            if msg.reconcile_interval_secs > 0:
                self.wakeupAfter(timedelta(seconds=msg.reconcile_interval_secs),
                                 payload=Timer("sweep"))
            log.info("supervisor %d started (epoch %d)", os.getpid(), msg.epoch)
        self.send(sender, self._status())

    def _start_pool(self, restarts: int = 0, reason: str | None = None) -> None:
        from actors.exchange_worker import ExchangePool
        assert self.init is not None
        self.pool = self.createActor(ExchangePool)
        self.send(self.pool, self.init.pool)
        self.others.add("exchange_pool", self.pool, restarts, reason)

    def _start_stream(self, kind: str, restarts: int = 0, reason: str | None = None) -> None:
        from actors.market_stream import MarketStreamActor
        from actors.user_stream import UserStreamActor
        assert self.init is not None
        cls = UserStreamActor if kind == "user_stream" else MarketStreamActor
        addr = self.createActor(cls)
        self.send(addr, self.init.streams)
        if kind == "market_stream":
            self.market = addr
        else:
            self.user = addr
        self.subs_dirty = True
        self.others.add(kind, addr, restarts, reason)

    def _recover(self) -> None:
        from persistence.factory import attach
        from persistence.store import StoreError
        assert self.init is not None
        if self.stopping:
            return
        try:
            store = attach(self.init.store_target, self.init.epoch, SystemClock())
            try:
                live = store.live_symbols()
            finally:
                store.close()
        except StoreError as e:
            log.error("cannot list live symbols (%s); retrying in 1 s", e)
            self.wakeupAfter(timedelta(seconds=1), payload=Timer("recover"))
            return
        self.recovering = tuple(live)
        for symbol in live:
            self._ensure(symbol, "startup")

    # ------------------------------------------------------------------ symbol actors

    def _ensure(self, symbol: str, reason: str) -> Child | None:
        """The symbol's entry, with an actor created if it has none (and may have one).

        A new entry is stored only once its actor exists: an entry without an address is taken
        for a live actor by everyone who reads the table (issue 13: a wedged symbol). None
        while there is no init or the supervisor is stopping: nothing may be created then.
        """
        child = self.routes.get(symbol)
        if self.init is None or self.stopping:
            return child
        if child is None:
            child = Child(symbol, restarts=self.carried.get(("symbol", symbol), 0))
            self._spawn(child, reason)
            return self.routes.put(child)
        if child.status == PASSIVATED and child.address is None:
            self._spawn(child, reason)
        return child

    def _spawn(self, child: Child, reason: str) -> None:
        from actors.symbol import SymbolActor
        assert self.init is not None
        child.address = self.createActor(SymbolActor)
        child.status, child.pid, child.view = STARTING, None, None
        child.last_active = time.monotonic()
        self.send(child.address, SymbolInit(
            child.symbol, self.init.epoch, self.init.store_target, self.pool,
            self.init.protection.policy_for(child.symbol), reason,
            view_refresh_secs=self.init.view_refresh_secs))
        for msg, reply_to in child.pending:
            self._deliver(child, msg, reply_to)
        child.pending.clear()
        self.subs_dirty = True

    def _deliver(self, child: Child, msg: Any, reply_to: Any) -> None:
        if reply_to is None:
            self.send(child.address, msg)
        else:
            self.send(child.address, Forward(msg, reply_to))

    def _route(self, symbol: str, msg: Any, reply_to: Any, reason: str) -> None:
        """Deliver to the symbol's actor, creating it or queueing while it restarts."""
        child = self._ensure(symbol, reason)
        if child is None:
            log.warning("%s: no actor while %s; %s not delivered", symbol,
                        "stopping" if self.stopping else "not initialised", type(msg).__name__)
            if reply_to is not None:
                self.send(reply_to, CommandResult(symbol, getattr(msg, "command_id", ""),
                                                  "rejected", "posguard is shutting down", -1))
            return
        child.last_active = time.monotonic()
        if child.status in ALIVE and child.address is not None:
            self._deliver(child, msg, reply_to)
        elif child.status == QUARANTINED:
            log.warning("%s is quarantined (%s): %s not delivered", symbol,
                        child.quarantine_reason, type(msg).__name__)
            if reply_to is not None:
                self.send(reply_to, CommandResult(symbol, getattr(msg, "command_id", ""),
                                                  "rejected", f"quarantined: "
                                                  f"{child.quarantine_reason}", -1))
        elif len(child.pending) < MAX_PENDING:
            child.pending.append((msg, reply_to))  # delivered once the actor exists
        else:
            log.error("%s: pending queue full; %s not queued", symbol, type(msg).__name__)

    def receiveMsg_Ready(self, msg: Ready, sender: Any) -> None:
        """A symbol actor loaded its snapshot."""
        child = self.routes.by_address(sender)
        if child is None:
            return
        child.status, child.pid = RUNNING, msg.pid
        for waiter in child.waiters:
            self.send(waiter, RestartDone(child.symbol, True, f"restored at seq {msg.seq} "
                                          f"(state {msg.state}), reconciling", msg.pid,
                                          msg.seq))
        child.waiters.clear()

    def receiveMsg_SymbolView(self, msg: SymbolView, sender: Any) -> None:
        """A symbol actor's view after a persisted transition."""
        child = self.routes.by_address(sender)
        if child is not None:
            child.view, child.pid = msg, msg.pid
            child.last_active = time.monotonic()
            if child.status == RUNNING and msg.state in HEALTHY_STATES:
                child.last_exit_reason = None  # restored and reconciled: no longer the news

    def receiveMsg_ChildFailing(self, msg: ChildFailing, sender: Any) -> None:
        """A child says why it is about to exit."""
        child = self.routes.by_address(sender)
        if child is not None:
            child.last_exit_reason = child.exit_note = msg.reason
        self.others.update(sender, last_exit_reason=msg.reason)

    def receiveMsg_ChildActorExited(self, msg: ChildActorExited, sender: Any) -> None:
        """Restart (with backoff and an intensity limit), passivate, or quarantine."""
        child = self.routes.by_address(msg.childAddress)
        if child is None:
            self._other_exited(msg.childAddress)
            return
        child.address = None
        reason, child.exit_note = child.exit_note or "exited without a reason (killed?)", None
        if self.stopping:
            child.status = STOPPING  # no actor, and none will be made
            return
        if child.status == PASSIVATING:
            child.status = PASSIVATED
            self.subs_dirty = True
            if child.pending:
                self._spawn(child, "message while passivated")
            return
        if child.respawn_reason is not None:
            # We stopped it ourselves (operator restart, pool replaced): back at once, and
            # journaled (SymbolInit.reason -> recovery_started) with that real cause.
            child.last_exit_reason, child.respawn_reason = child.respawn_reason, None
            self._spawn(child, child.last_exit_reason)
            return
        child.last_exit_reason = reason
        assert self.intensity is not None
        backoff = self.intensity.allow(child.symbol, time.monotonic())
        if backoff is None:
            self._quarantine(child, reason)
            return
        child.status, child.gen = RESTARTING, child.gen + 1
        child.restarts += 1
        self.subs_dirty = True
        log.error("%s actor exited (%s); restart %d in %.0f ms", child.symbol, reason,
                  child.restarts, backoff * 1000)
        self.wakeupAfter(timedelta(seconds=backoff),
                         payload=Timer("respawn", child.gen, child.symbol))

    def _quarantine(self, child: Child, reason: str) -> None:
        assert self.init is not None
        s = self.init.supervisor
        child.status = QUARANTINED
        child.quarantine_reason = (f"restarted {s.max_restarts} times within {s.within_secs:g} s;"
                                   f" last exit: {reason}")
        self.subs_dirty = True
        log.critical("ALERT %s QUARANTINED: %s. Its exchange stop stays in place; "
                     "`posguard restart %s` when fixed", child.symbol, child.quarantine_reason,
                     child.symbol)
        for waiter in child.waiters:
            self.send(waiter, RestartDone(child.symbol, False, child.quarantine_reason))
        child.waiters.clear()

    def _other_exited(self, address: Any) -> None:
        entry = self.others.find(address)
        if entry is None or self.stopping or self.init is None:
            return
        self.others.remove(address)
        reason = entry.last_exit_reason or "exited without a reason (killed?)"
        log.error("%s exited (%s); replacing it", entry.kind, reason)
        if entry.kind == "exchange_pool":
            # Symbol actors hold the pool's address and wait for replies it will never send:
            # restart them all from their snapshots (they reconcile, resolving what was in
            # flight by client id).
            self.others.remove(kind="exchange_worker")
            self._start_pool(entry.restarts + 1, reason)
            for child in self.routes.alive():
                child.respawn_reason = (f"exchange pool exited ({reason}); restarted to resolve "
                                        f"its requests in flight")
                self.send(child.address, ActorExitRequest())
        elif entry.kind in ("user_stream", "market_stream"):
            self._start_stream(entry.kind, entry.restarts + 1, reason)

    def receiveMsg_Started(self, msg: Started, sender: Any) -> None:
        """A non-symbol child (or a worker, via the pool) reports its pid."""
        entry = self.others.find(sender) if msg.kind != "exchange_worker" else None
        if entry is None:
            self.others.learn_pid(msg.kind, msg.pid)  # a worker's, via the pool (no address)
        elif entry.kind == "exchange_pool":
            # A pool that runs again no longer shows why its predecessor exited.
            self.others.update(sender, pid=msg.pid, state=RUNNING, last_exit_reason=None)
        else:
            self.others.update(sender, pid=msg.pid, state=RUNNING)

    def receiveMsg_MarketsLoaded(self, msg: MarketsLoaded, sender: Any) -> None:
        """An exchange worker loaded the venue's market list (shown while posguard starts)."""
        self.markets = msg.count

    def receiveMsg_PoolStatus(self, msg: PoolStatus, sender: Any) -> None:
        """The exchange pool's budget against the venue's counters (shown by the metrics)."""
        self.pool_status = msg

    def receiveMsg_WorkerGone(self, msg: WorkerGone, sender: Any) -> None:
        """The pool saw one of its workers die: `actors` no longer shows its pid."""
        log.warning("exchange worker %d is gone (%s)", msg.pid, msg.reason)
        self.others.remove(kind="exchange_worker", pid=msg.pid)

    def receiveMsg_CommandResult(self, msg: CommandResult, sender: Any) -> None:
        """A symbol actor's answer to a ReconcileRequest we sent (reconnect, sweep): expected."""
        if msg.outcome == "rejected":
            log.info("%s: reconcile not done now: %s", msg.symbol, msg.detail)

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender: Any) -> None:
        """We are being stopped (system shutdown): from now on no exit is respawned.

        Thespian then stops our children and waits for their exits; a child re-created now
        would never be told to exit, and the shutdown would hang on it (issue 13).
        """
        if not self.stopping:
            log.warning("supervisor %d exiting: its children are stopped, none respawned",
                        os.getpid())
        self.stopping = True
        if getattr(self, "myAddress", None) is not None:
            # Only in an actor process Thespian made: a Supervisor a unit test builds has no
            # address, and the timer would end the test's own process.
            _end_after(SUPERVISOR_EXIT_SECS)

    def receiveMsg_PoisonMessage(self, msg: PoisonMessage, sender: Any) -> None:
        """A child raised twice on a message we sent: log, count, show in `actors`."""
        self.poison += 1
        child = self.routes.by_address(sender)
        if child is not None:
            child.poison += 1
        log.error("PoisonMessage from %s: %r (%s)", child.symbol if child else sender,
                  type(msg.poisonMessage).__name__, getattr(msg, "details", ""))

    # ------------------------------------------------------------------ events and commands

    def receiveMsg_PositionUpdate(self, msg: PositionUpdate, sender: Any) -> None:
        """A user-stream event: to the symbol's actor (created if needed, I-5)."""
        self._route(msg.symbol, msg, None, "stream event")

    def receiveMsg_OrderUpdate(self, msg: OrderUpdate, sender: Any) -> None:
        """A user-stream event: to the symbol's actor (created if needed, I-5)."""
        self._route(msg.symbol, msg, None, "stream event")

    def receiveMsg_AlgoUpdate(self, msg: AlgoUpdate, sender: Any) -> None:
        """A user-stream event: to the symbol's actor (created if needed, I-5)."""
        self._route(msg.symbol, msg, None, "stream event")

    def receiveMsg_DeadEnvelope(self, msg: DeadEnvelope, sender: Any) -> None:
        """A message sent to an actor that had died: user-stream events are routed again."""
        event = msg.deadMessage
        if not isinstance(event, (PositionUpdate, OrderUpdate, AlgoUpdate)):
            return  # a tick (a newer one follows), a reply to a gone CLI, a stale timer ...
        child = self.routes.get(event.symbol)
        if child is not None and child.address is not None and \
                child.address == msg.deadAddress and len(child.pending) < MAX_PENDING:
            # We have not heard of the death yet (ChildActorExited follows): hold the event
            # for the replacement instead of sending it to the dead address again.
            child.pending.append((event, None))
            return
        self._route(event.symbol, event, None, "stream event (dead letter)")

    def receiveMsg_OpenPosition(self, msg: OpenPosition, sender: Any) -> None:
        """CLI: open a position (the symbol's actor answers the sender)."""
        self._command(msg, sender)

    def receiveMsg_ClosePosition(self, msg: ClosePosition, sender: Any) -> None:
        """CLI: close a position (the symbol's actor answers the sender)."""
        self._command(msg, sender)

    def receiveMsg_ReconcileRequest(self, msg: ReconcileRequest, sender: Any) -> None:
        """CLI: reconcile one symbol with the exchange."""
        self._command(msg, sender)

    def _command(self, msg: Any, sender: Any) -> None:
        if self.stopping:
            self.send(sender, CommandResult(msg.symbol, getattr(msg, "command_id", ""),
                                            "rejected", "posguard is shutting down", -1))
            return
        self._route(msg.symbol, msg, sender, "command")

    def receiveMsg_StreamStatus(self, msg: StreamStatus, sender: Any) -> None:
        """A stream actor's health."""
        self.streams[msg.kind] = msg
        self.others.update(sender, pid=msg.pid, state=msg.state)
        if msg.state == "connected":  # connected again: why its predecessor exited is old news
            self.others.update(sender, last_exit_reason=None)

    def receiveMsg_StreamConnected(self, msg: StreamConnected, sender: Any) -> None:
        """The user stream (re)connected: events may be missing; everyone reconciles."""
        if msg.kind != "user":
            return
        for child in self.routes.alive():
            self.send(child.address, ReconcileRequest(
                child.symbol, f"user stream connection #{msg.connection}"))

    # ------------------------------------------------------------------ timers

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> None:
        """Respawn, housekeeping (passivation, subscriptions), the periodic sweep."""
        t = msg.payload
        if not isinstance(t, Timer) or self.init is None:
            return
        if t.kind == "respawn":
            child = self.routes.get(t.symbol or "")
            if child is not None and child.status == RESTARTING and child.gen == t.gen \
                    and not self.stopping:
                self._spawn(child, f"restart after exit: {child.last_exit_reason}")
        elif t.kind == "housekeeping":
            self._housekeeping()
            self.wakeupAfter(timedelta(seconds=HOUSEKEEPING_SECS), payload=t)
        elif t.kind == "sweep":
            if not self.stopping:
                self.send(self.pool, ExchangeRequest(new_id(), self._sweep_op(), self.myAddress))
            self.wakeupAfter(timedelta(seconds=self.init.reconcile_interval_secs), payload=t)
        elif t.kind == "recover":
            self._recover()

    def _housekeeping(self) -> None:
        assert self.init is not None
        idle_secs = self.init.supervisor.passivate_after_secs
        now = time.monotonic()
        for child in self.routes.alive():
            v = child.view
            if idle_secs > 0 and not self.stopping and child.status == RUNNING and v is not None \
                    and v.state == "FLAT" and not child.pending and not child.waiters \
                    and now - child.last_active > idle_secs:
                log.info("%s: FLAT and idle for %.0f s; passivating", child.symbol, idle_secs)
                child.status = PASSIVATING
                self.subs_dirty = True  # the streams stop sending to it (flushed below)
                self.send(child.address, ActorExitRequest())
        if self.subs_dirty:
            self.subs_dirty = False
            table = Subscriptions(tuple((c.symbol, c.address) for c in self.routes.alive()))
            for stream in (self.market, self.user):
                if stream is not None:
                    self.send(stream, table)

    def receiveMsg_ExchangeReply(self, msg: ExchangeReply, sender: Any) -> None:
        """The periodic sweep's positions (and with FetchAccount our stops): adopt what has no
        actor, reconcile what differs, hand each actor the stops the exchange shows for it."""
        if not isinstance(msg.op, FetchPositions | FetchAccount):
            return
        if msg.failure is not None:
            log.warning("reconcile sweep failed: %s", msg.failure.message)
            return
        snap = msg.result if isinstance(msg.result, AccountSnapshot) else None
        positions = snap.positions if snap else msg.result if isinstance(msg.result, tuple) \
            else ()
        create, reconcile = plan_sweep(positions, self.routes.children)
        for symbol in create:
            log.warning("sweep: %s has a position on the exchange and no actor; adopting",
                        symbol)
            self._ensure(symbol, "sweep: position without an actor")
        for symbol in reconcile:
            child = self.routes.get(symbol)
            if child is not None and child.address is not None:
                self.send(child.address, ReconcileRequest(symbol, "sweep: exchange differs"))
        if snap is not None and not self.stopping:
            self._check_stops(snap, set(reconcile) | set(create))

    def _sweep_op(self) -> FetchPositions | FetchAccount:
        """Positions only, or with the account's open algo orders (weight 40: actors/sweep.py)
        at most every stop_check_min_interval_secs."""
        assert self.init is not None
        now = time.monotonic()
        if now - self.last_stop_check < self.init.stop_check_min_interval_secs:
            return FetchPositions()
        self.last_stop_check = now
        return FetchAccount()

    def _check_stops(self, snap: AccountSnapshot, reconciling: set[str]) -> None:
        """The sweep's stop check (actors/sweep.py plan_stop_checks)."""
        plan = plan_stop_checks(snap, self.routes.children, reconciling)
        for chk in plan.checks:
            child = self.routes.get(chk.symbol)
            if child is not None and child.address is not None:
                self.send(child.address, chk)
        for symbol in plan.create:
            log.warning("sweep: %s has stops of ours on the exchange and no actor; starting "
                        "one (it cancels them)", symbol)
            self._ensure(symbol, "sweep: stops of ours without an actor")
        for symbol in plan.naked_quarantined:
            child = self.routes.get(symbol)
            if child is None or child.address is not None:
                continue
            log.critical("ALERT %s QUARANTINED and UNPROTECTED: a position on the exchange and "
                         "no stop of ours; restarting its actor to protect it (it was: %s)",
                         symbol, child.quarantine_reason)
            child.quarantine_reason = None
            self._spawn(child, "sweep: quarantined with no stop on the exchange")

    def receiveUnrecognizedMessage(self, msg: Any, sender: Any) -> None:
        """Log and drop what the supervisor does not understand."""
        log.warning("supervisor: unexpected message %s from %s", type(msg).__name__, sender)


def _end_after(secs: float) -> None:
    """End this process `secs` from now, if Thespian has not ended it by then.

    Thespian keeps an exiting actor alive until every child's exit notice has arrived. A
    notice it misses (THESPIAN.md: one notice for two simultaneous deaths), or a child that
    cannot answer, held the whole system's shutdown for its 25 s timeout (about once per full
    test run). Everything the supervisor knows is durable or rebuilt at start, so nothing is
    lost by ending it; its children watch their parent and exit, and the admin reaps it.
    A daemon timer thread only calls os._exit: it touches no actor state.
    """
    timer = threading.Timer(secs, os._exit, args=(0,))
    timer.name = EXIT_TIMER_NAME
    timer.daemon = True
    timer.start()
