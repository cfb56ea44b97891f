"""The supervisor's operator side: what the CLI and the launcher ask it, and the gate.

Queries (status, a symbol's view or timings, where its actor is), the operator restart and
the shutdown request. A mixin of actors/supervisor.py's Supervisor (which owns the state
named below), kept apart so each file holds one concern.

The gate: the launcher creates the supervisor (globalName "posguard") and initialises it a
moment later; the CLI never creates one (system/admin.py looks the name up), but it can reach
the registered supervisor in between. Without its init the supervisor has no store, no pool
and no policies, so it must not take a command: an entry made then (issue 13) stayed STARTING
with no address and wedged the symbol. Every command, query and restart is refused with the
text the CLI prints when no supervisor is registered, and nothing is stored.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from thespian.actors import ActorExitRequest

from actors.child_status import ALIVE, ChildStatus
from actors.messages import (
    ClosePosition,
    CommandResult,
    Located,
    OpenPosition,
    PoolStatus,
    ReconcileRequest,
    RestartDone,
    RestartSymbol,
    ShutdownAccepted,
    ShutdownRequest,
    StateQuery,
    StatusQuery,
    StreamStatus,
    SupervisorInit,
    SupervisorStatus,
    TimingsQuery,
    Where,
)
from actors.restarts import RestartIntensity
from actors.routing import Child, Others, Routes
from actors.supervisor_log import AccountLogger

log = AccountLogger("posguard.supervisor")  # names the account; looked up per call
NOT_READY = "posguard is starting (its supervisor is not ready yet); try again"
BUSY_STATES = ("OPENING", "MOVING_STOP", "CLOSING", "RECONCILING")


def not_ready_reply(msg: Any) -> Any | None:
    """The refusal an uninitialised supervisor sends for `msg`; None: not a command."""
    if isinstance(msg, (OpenPosition, ClosePosition, ReconcileRequest)):
        command_id = getattr(msg, "command_id", None) or msg.msg_id
        return CommandResult(msg.symbol, command_id, "rejected", NOT_READY, -1)
    if isinstance(msg, RestartSymbol):
        return RestartDone(msg.symbol, False, NOT_READY)
    if isinstance(msg, (Where, StateQuery, TimingsQuery)):
        return Located(msg.symbol, None, NOT_READY)
    if isinstance(msg, ShutdownRequest):
        # Nothing to stop yet; the launcher, which is initialising it, handles its own signals.
        return CommandResult("", "", "rejected", NOT_READY, -1)
    return None


class SupervisorAdmin:
    """Handlers of the operator's queries and commands (mixed into Supervisor)."""

    # Owned by Supervisor (annotations only: the mixin reads and changes them).
    init: SupervisorInit | None
    routes: Routes
    others: Others
    streams: dict[str, StreamStatus]
    intensity: RestartIntensity | None
    poison: int
    markets: int | None
    recovering: tuple[str, ...] | None
    pool_status: PoolStatus | None
    stopping: bool
    send: Callable[[Any, Any], None]
    _ensure: Callable[[str, str], Child | None]
    _spawn: Callable[[Child, str], None]
    _deliver: Callable[[Child, Any, Any], None]
    _quiet_ticks: Callable[[], None]

    def receiveMsg_StateQuery(self, msg: StateQuery, sender: Any) -> None:
        """CLI: one symbol's fresh view (or its table entry when it has no running actor)."""
        self._query(msg, sender)

    def receiveMsg_TimingsQuery(self, msg: TimingsQuery, sender: Any) -> None:
        """Bench: one symbol's routing latencies (or its table entry when it has no actor)."""
        self._query(msg, sender)

    def _query(self, msg: StateQuery | TimingsQuery, sender: Any) -> None:
        """Relay a query to the symbol's live actor; never creates one."""
        known = self.routes.get(msg.symbol)
        if known is None or known.status not in ALIVE or known.address is None:
            self.send(sender, known.entry() if known else Located(
                msg.symbol, None, "no actor for this symbol"))
            return
        self._deliver(known, msg, sender)

    def receiveMsg_Where(self, msg: Where, sender: Any) -> None:
        """The address of a symbol's actor (created on request)."""
        child = self._ensure(msg.symbol, "command") if msg.create else \
            self.routes.get(msg.symbol)
        if child is None:
            detail = "shutting down" if self.stopping else "no actor for this symbol"
            self.send(sender, Located(msg.symbol, None, detail))
            return
        addr = child.address if child.status in ALIVE else None
        why = child.quarantine_reason if child.status == ChildStatus.QUARANTINED else None
        self.send(sender, Located(msg.symbol, addr, why or str(child.status)))

    def receiveMsg_RestartSymbol(self, msg: RestartSymbol, sender: Any) -> None:
        """Operator restart: stop the actor, recreate it from its snapshot, answer when loaded."""
        child = self.routes.get(msg.symbol)
        if self.stopping:
            self.send(sender, RestartDone(msg.symbol, False, "posguard is shutting down"))
            return
        if child is None:
            self.send(sender, RestartDone(msg.symbol, False, "no actor for this symbol"))
            return
        assert self.intensity is not None
        self.intensity.reset(msg.symbol)
        child.waiters.append(sender)
        child.quarantine_reason = None
        if child.status in ALIVE and child.address is not None:
            child.respawn_reason = "operator restart"  # journaled as the new actor's reason
            self.send(child.address, ActorExitRequest())
        else:
            if child.status == ChildStatus.RESTARTING:
                child.gen += 1  # the pending backoff timer is now stale
            self._spawn(child, "operator restart")

    def receiveMsg_StatusQuery(self, msg: StatusQuery, sender: Any) -> None:
        """Every actor, the streams, the counters."""
        self.send(sender, self._status())

    def _status(self) -> SupervisorStatus:
        entries = tuple(c.entry() for c in sorted(self.routes.children.values(),
                                                  key=lambda c: c.symbol))
        init = self.init
        return SupervisorStatus(init is not None, self.stopping,
                                tuple(self.others) + entries, tuple(self.streams.values()),
                                self.poison, os.getpid(), init.epoch if init else 0,
                                init.mode if init else "?",
                                init.pool.settings.base_url if init else None,
                                markets=self.markets, recovering=self.recovering,
                                pool=self.pool_status, account=init.account if init else "?",
                                venue=init.pool.settings.venue.name if init else "")

    def receiveMsg_ShutdownRequest(self, msg: ShutdownRequest, sender: Any) -> None:
        """Stop accepting commands; report which symbols still have a request in flight."""
        if not self.stopping:
            log.warning("shutdown requested (%s): commands are refused from now on", msg.reason)
        self.stopping = True
        self._quiet_ticks()
        busy = tuple(c.symbol for c in self.routes.alive()
                     if c.view is None or c.view.state in BUSY_STATES)
        self.send(sender, ShutdownAccepted(busy))
