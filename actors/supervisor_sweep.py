"""The supervisor's periodic sweep: the exchange's positions and stops against its table.

A mixin of actors/supervisor.py's Supervisor (which owns the state named below); what to do
about each symbol is planned by the pure functions of actors/sweep.py. Positions without an
actor are adopted, actors whose exchange differs reconcile, and (at most every
stop_check_min_interval_secs, weight 40) each actor is handed the stops the exchange shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from actors.messages import (
    AccountSnapshot,
    ExchangeReply,
    FetchAccount,
    FetchPositions,
    ReconcileRequest,
    SupervisorInit,
)
from actors.routing import Child, Routes
from actors.supervisor_log import AccountLogger
from actors.sweep import plan_stop_checks, plan_sweep

log = AccountLogger("posguard.supervisor")  # names the account; looked up per call


class SupervisorSweep:
    """The sweep's reply handling (mixed into Supervisor)."""

    # Owned by Supervisor (annotations only: the mixin reads and changes them).
    init: SupervisorInit | None
    routes: Routes
    stopping: bool
    last_stop_check: float
    send: Callable[[Any, Any], None]
    _ensure: Callable[[str, str], Child | None]
    _spawn: Callable[[Child, str], None]

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
