"""The supervisor of one account (globalName "posguard:<account>"): builds the children,
routes, restarts, quarantines.

Its duties, one module each: creating and restarting its children and keeping their status
(actors/supervisor_children.py, the status table in actors/child_status.py), the periodic
sweep (actors/supervisor_sweep.py), the operator's queries and commands and the gate before
its init (actors/supervisor_admin.py), and here: the start, the routing of events, commands
and dead letters to the symbol actors, and its timers.

It owns the routing table (actors/routing.py): every event, command or sweep result for a
symbol without an actor creates one, and messages for a symbol whose actor is (re)starting
wait in the table until it exists (nothing is dropped, I-5). The supervisor never blocks:
exchange calls go through the pool. Before its SupervisorInit it refuses every command
("starting, try again") and stores nothing; once it is stopping (ShutdownRequest, or
Thespian's ActorExitRequest when the system shuts down) no exit is respawned and nothing is
created. The store and the clock come in its init (the launcher's, system/kernel.py) and are
handed on to every symbol actor.

Hot path: the stream actors get the routing table (Subscriptions: symbol -> address of every
live actor, refreshed within HOUSEKEEPING_SECS of a change; each market-stream shard only its
part, actors/supervisor_streams.py) and send ticks and user-stream events straight to the
symbol actors; only events for symbols without a live actor come here. An event sent to an actor that died in between is not lost: Thespian hands anything
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

from thespian.actors import ActorExitRequest, DeadEnvelope, WakeupMessage

from actors.child_status import ALIVE, ChildStatus
from actors.child_watch import LostExits
from actors.lifecycle import Lifecycle, in_actor_process
from actors.messages import (
    SUPERVISOR_TIMERS,
    AccountSweep,
    AlgoUpdate,
    ClosePosition,
    CommandResult,
    ExchangeRequest,
    Housekeeping,
    MarketsLoaded,
    OpenPosition,
    OrderUpdate,
    PoolStatus,
    PositionUpdate,
    ReconcileRequest,
    Recover,
    Respawn,
    StreamConnected,
    StreamStatus,
    SupervisorInit,
    new_id,
)
from actors.restarts import RestartIntensity
from actors.routing import MAX_PENDING, Others, Routes
from actors.supervisor_admin import SupervisorAdmin, not_ready_reply
from actors.supervisor_children import SupervisorChildren
from actors.supervisor_log import AccountLogger, set_account
from actors.supervisor_streams import SupervisorStreams
from actors.supervisor_sweep import SupervisorSweep

log = AccountLogger("posguard.supervisor")  # names the account; looked up per call
HOUSEKEEPING_SECS = 1.0
SUPERVISOR_EXIT_SECS = 5.0
"""Told to exit, the supervisor ends its own process after this (see _end_after)."""
EXIT_TIMER_NAME = "posguard-supervisor-exit"


class Supervisor(SupervisorAdmin, SupervisorChildren, SupervisorStreams, SupervisorSweep,
                 Lifecycle):
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
        self.user: Any = None
        self._streams_state()  # the market-stream shards (actors/supervisor_streams.py)
        self.last_stop_check = float("-inf")
        """time.monotonic() of the last sweep that read the open algo orders too."""
        self.carried: dict[tuple[str, str | None], int] = {}
        self.lost_exits = LostExits()
        """Children seen dead whose exit notice has not come (actors/child_watch.py)."""
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
            set_account(msg.account)  # every supervisor log line of this process names it
            s = msg.supervisor
            self.intensity = RestartIntensity(s.max_restarts, s.within_secs, s.backoff_min_ms,
                                              s.backoff_max_ms)
            self.carried = {(kind, symbol): n for kind, symbol, n in msg.restarts}
            self._start_pool(self.carried.get(("exchange_pool", None), 0))
            if msg.streams is not None:
                self._start_streams(self.carried)
            self.handleDeadLetters(startHandling=True)
            self._recover()
            self.wakeupAfter(timedelta(seconds=HOUSEKEEPING_SECS), payload=Housekeeping())
            if msg.reconcile_interval_secs > 0:
                self.wakeupAfter(timedelta(seconds=msg.reconcile_interval_secs),
                                 payload=AccountSweep())
            log.info("supervisor %d of account %s started (epoch %d)", os.getpid(),
                     msg.account, msg.epoch)
        self.send(sender, self._status())

    def _recover(self) -> None:
        from persistence.store import StoreError
        assert self.init is not None
        if self.stopping:
            return
        try:
            store = self.init.store(self.init.epoch, self.init.clock)
            try:
                live = store.live_symbols()
            finally:
                store.close()
        except StoreError as e:
            log.error("cannot list live symbols (%s); retrying in 1 s", e)
            self.wakeupAfter(timedelta(seconds=1), payload=Recover())
            return
        self.recovering = tuple(live)
        for symbol in live:
            self._ensure(symbol, "startup")

    # ------------------------------------------------------------------ routing

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
        elif child.status == ChildStatus.QUARANTINED:
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

    def receiveMsg_MarketsLoaded(self, msg: MarketsLoaded, sender: Any) -> None:
        """An exchange worker loaded the venue's market list (shown while posguard starts)."""
        self.markets = msg.count

    def receiveMsg_PoolStatus(self, msg: PoolStatus, sender: Any) -> None:
        """The exchange pool's budget against the venue's counters (shown by the metrics)."""
        self.pool_status = msg

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
        self._quiet_ticks()  # before Thespian tells the children to exit (queued first)
        if in_actor_process(self):
            # Only in an actor process Thespian made: a Supervisor a unit test builds (or one
            # in simpleSystemBase) runs in the test's own process, which the timer would end.
            _end_after(SUPERVISOR_EXIT_SECS)

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
        if not isinstance(t, SUPERVISOR_TIMERS) or self.init is None:
            return
        if isinstance(t, Respawn):
            self._respawn_due(t)
        elif isinstance(t, Housekeeping):
            self._housekeeping()
            self.wakeupAfter(timedelta(seconds=HOUSEKEEPING_SECS), payload=t)
        elif isinstance(t, AccountSweep):
            if not self.stopping:
                self.send(self.pool, ExchangeRequest(new_id(), self._sweep_op(), self.myAddress))
            self.wakeupAfter(timedelta(seconds=self.init.reconcile_interval_secs), payload=t)
        elif isinstance(t, Recover):
            self._recover()

    def _housekeeping(self) -> None:
        assert self.init is not None
        self._passivate_idle(self.init.supervisor.passivate_after_secs)
        self._handle_lost_exits()
        if self.subs_dirty:
            self.subs_dirty = False
            self._send_tables()


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
