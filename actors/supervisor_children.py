"""The supervisor's children: creating them, hearing how they are, and what follows their exit.

A mixin of actors/supervisor.py's Supervisor (which owns the state named below), kept apart
so each file holds one concern. A symbol actor that dies is restarted from its snapshot after
an exponential backoff, at most `max_restarts` times in `within_secs`; past that the symbol
is QUARANTINED (its exchange stop stays, the reason is shown, the operator decides). Each
symbol's status moves only through the table in actors/child_status.py. A pool or stream
that dies is replaced at once; a replaced pool restarts every symbol actor (they wait for
replies the old one will never send).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from thespian.actors import ActorExitRequest, ChildActorExited, PoisonMessage

from actors.child_status import ChildEvent, ChildStatus, move
from actors.child_watch import LostExits
from actors.forking import prepare_fork
from actors.messages import (
    ChildFailing,
    Forward,
    Ready,
    Respawn,
    RestartDone,
    Started,
    SupervisorInit,
    SymbolInit,
    SymbolView,
    WorkerGone,
)
from actors.restarts import RestartIntensity
from actors.routing import Child, Others, Routes
from actors.supervisor_log import AccountLogger

log = AccountLogger("posguard.supervisor")  # names the account; looked up per call
HEALTHY_STATES = ("FLAT", "PROTECTED")
"""A symbol actor in one of these after its restart no longer shows why it last exited."""
KILLED = "exited without a reason (killed?)"


class SupervisorChildren:
    """Creation, status and exits of the supervisor's children (mixed into Supervisor)."""

    # Owned by Supervisor (annotations only: the mixin reads and changes them).
    init: SupervisorInit | None
    routes: Routes
    others: Others
    intensity: RestartIntensity | None
    carried: dict[tuple[str, str | None], int]
    lost_exits: LostExits
    poison: int
    stopping: bool
    subs_dirty: bool
    pool: Any
    user: Any
    send: Callable[[Any, Any], None]
    createActor: Callable[..., Any]
    wakeupAfter: Callable[..., None]
    _stream_exited: Callable[[str, Any, int, str], None]

    # ------------------------------------------------------------------ creating

    def _start_pool(self, restarts: int = 0, reason: str | None = None) -> None:
        from actors.exchange_worker import ExchangePool
        assert self.init is not None
        self.pool = self.createActor(ExchangePool)
        self.send(self.pool, self.init.pool)
        self.others.add("exchange_pool", self.pool, restarts, reason)

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
        if child.status == ChildStatus.PASSIVATED and child.address is None:
            self._spawn(child, reason)
        return child

    def _spawn(self, child: Child, reason: str) -> None:
        from actors.symbol import SymbolActor
        assert self.init is not None
        starting = move(child.status, ChildEvent.SPAWNED)  # checked before anything is made
        prepare_fork()  # the child shares this process's pages (actors/forking.py)
        child.address = self.createActor(SymbolActor)
        child.status, child.pid, child.view, child.tick_inbox = starting, None, None, None
        child.last_active = time.monotonic()
        self.send(child.address, SymbolInit(
            child.symbol, self.init.epoch, self.init.store, self.pool,
            self.init.protection.policy_for(child.symbol), reason,
            view_refresh_secs=self.init.view_refresh_secs, clock=self.init.clock,
            venue=self.init.pool.settings.venue.capabilities, account=self.init.account))
        for msg, reply_to in child.pending:
            self._deliver(child, msg, reply_to)
        child.pending.clear()
        self.subs_dirty = True

    def _deliver(self, child: Child, msg: Any, reply_to: Any) -> None:
        if reply_to is None:
            self.send(child.address, msg)
        else:
            self.send(child.address, Forward(msg, reply_to))

    # ------------------------------------------------------------------ how they are

    def receiveMsg_Ready(self, msg: Ready, sender: Any) -> None:
        """A symbol actor loaded its snapshot."""
        child = self.routes.reporting(msg.symbol, sender)
        if child is None:
            return
        child.move(ChildEvent.READY)
        child.pid = msg.pid
        if msg.tick_inbox != child.tick_inbox:
            child.tick_inbox = msg.tick_inbox
            self.subs_dirty = True  # its shard sends its ticks there from now on
        for waiter in child.waiters:
            self.send(waiter, RestartDone(child.symbol, True, f"restored at seq {msg.seq} "
                                          f"(state {msg.state}), reconciling", msg.pid,
                                          msg.seq))
        child.waiters.clear()

    def receiveMsg_SymbolView(self, msg: SymbolView, sender: Any) -> None:
        """A symbol actor's view after a persisted transition."""
        child = self.routes.reporting(msg.symbol, sender)
        if child is not None:
            child.view, child.pid = msg, msg.pid
            child.last_active = time.monotonic()
            if child.status == ChildStatus.RUNNING and msg.state in HEALTHY_STATES:
                child.last_exit_reason = None  # restored and reconciled: no longer the news

    def receiveMsg_Started(self, msg: Started, sender: Any) -> None:
        """A non-symbol child (or a worker, via the pool) reports its pid."""
        entry = self.others.find(sender) if msg.kind != "exchange_worker" else None
        running = ChildStatus.RUNNING.value
        if entry is None:
            self.others.learn_pid(msg.kind, msg.pid)  # a worker's, via the pool (no address)
        elif entry.kind == "exchange_pool":
            # A pool that runs again no longer shows why its predecessor exited.
            self.others.update(sender, pid=msg.pid, state=running, last_exit_reason=None)
        else:
            self.others.update(sender, pid=msg.pid, state=running)

    def receiveMsg_WorkerGone(self, msg: WorkerGone, sender: Any) -> None:
        """The pool saw one of its workers die: `actors` no longer shows its pid."""
        log.warning("exchange worker %d is gone (%s)", msg.pid, msg.reason)
        self.others.remove(kind="exchange_worker", pid=msg.pid)

    def receiveMsg_PoisonMessage(self, msg: PoisonMessage, sender: Any) -> None:
        """A child raised twice on a message we sent: log, count, show in `actors`."""
        self.poison += 1
        child = self.routes.by_address(sender)
        if child is not None:
            child.poison += 1
        log.error("PoisonMessage from %s: %r (%s)", child.symbol if child else sender,
                  type(msg.poisonMessage).__name__, getattr(msg, "details", ""))

    def _passivate_idle(self, idle_secs: float) -> None:
        """Stop the actors FLAT and idle for `idle_secs` (the next message recreates them)."""
        now = time.monotonic()
        for child in self.routes.alive():
            v = child.view
            if idle_secs > 0 and not self.stopping and child.status == ChildStatus.RUNNING \
                    and v is not None and v.state == "FLAT" and not child.pending \
                    and not child.waiters and now - child.last_active > idle_secs:
                log.info("%s: FLAT and idle for %.0f s; passivating", child.symbol, idle_secs)
                child.move(ChildEvent.IDLE)
                self.subs_dirty = True  # the streams stop sending to it (flushed after)
                self.send(child.address, ActorExitRequest())

    # ------------------------------------------------------------------ exits

    def receiveMsg_ChildFailing(self, msg: ChildFailing, sender: Any) -> None:
        """A child says why it is about to exit."""
        child = None if msg.symbol is None else self.routes.reporting(msg.symbol, sender)
        if child is not None:
            child.last_exit_reason = child.exit_note = msg.reason
        self.others.update(sender, last_exit_reason=msg.reason)

    def receiveMsg_ChildActorExited(self, msg: ChildActorExited, sender: Any) -> None:
        """Restart (with backoff and an intensity limit), passivate, or quarantine."""
        child = self.routes.by_address(msg.childAddress)
        if child is None:
            self._other_exited(msg.childAddress)
            return
        child.address, child.tick_inbox = None, None
        reason, child.exit_note = child.exit_note or KILLED, None
        if self.stopping:
            child.move(ChildEvent.STOPPED)  # no actor, and none will be made
            return
        if child.status == ChildStatus.PASSIVATING:
            child.move(ChildEvent.EXITED_IDLE)
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
        child.move(ChildEvent.CRASHED)
        child.gen += 1
        child.restarts += 1
        self.subs_dirty = True
        log.error("%s actor exited (%s); restart %d in %.0f ms", child.symbol, reason,
                  child.restarts, backoff * 1000)
        self.wakeupAfter(timedelta(seconds=backoff),
                         payload=Respawn(child.gen, child.symbol))

    def _handle_lost_exits(self) -> None:
        """Every child seen dead without Thespian's exit notice is handled as exited
        (actors/child_watch.py: notices of children dying together can be merged away)."""
        if self.stopping:
            return
        watched = [(e.pid, e.address) for e in self.others
                   if e.pid is not None and e.address is not None]
        watched += [(c.pid, c.address) for c in self.routes.alive() if c.pid is not None]
        for pid, address in self.lost_exits.due(watched, time.monotonic()):
            log.error("child pid %d died but no exit notice came; handling it as exited", pid)
            self.receiveMsg_ChildActorExited(ChildActorExited(address), None)

    def _respawn_due(self, t: Respawn) -> None:
        """The backoff of a restart is over: create the replacement (if still due)."""
        child = self.routes.get(t.symbol or "")
        if child is not None and child.status == ChildStatus.RESTARTING \
                and child.gen == t.gen and not self.stopping:
            self._spawn(child, f"restart after exit: {child.last_exit_reason}")

    def _quarantine(self, child: Child, reason: str) -> None:
        assert self.init is not None
        s = self.init.supervisor
        child.move(ChildEvent.QUARANTINED)
        child.quarantine_reason = (f"restarted {s.max_restarts} times within {s.within_secs:g} s;"
                                   f" last exit: {reason}")
        self.subs_dirty = True
        named = f"{self.init.account}:{child.symbol}"
        log.critical("ALERT %s QUARANTINED: %s. Its exchange stop stays in place; "
                     "`posguard restart %s` when fixed", named, child.quarantine_reason, named)
        for waiter in child.waiters:
            self.send(waiter, RestartDone(child.symbol, False, child.quarantine_reason))
        child.waiters.clear()

    def _other_exited(self, address: Any) -> None:
        entry = self.others.find(address)
        if entry is None or self.stopping or self.init is None:
            return
        self.others.remove(address)
        reason = entry.last_exit_reason or KILLED
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
            self._stream_exited(entry.kind, address, entry.restarts + 1, reason)
