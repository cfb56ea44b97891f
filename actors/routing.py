"""The supervisor's table: symbol -> its actor, status, latest view, and waiting messages.

ActorAddress defines __eq__ without __hash__, so children are found by address with a linear
search; symbols are dict keys. Nothing addressed to a symbol is dropped while its actor is
being (re)started: it waits in `pending` and is delivered, in order, once the actor exists.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from actors.messages import ActorEntry, SymbolView

# Child statuses (the state machine state comes from the actor's view).
STARTING, RUNNING, RESTARTING = "starting", "running", "restarting"
QUARANTINED, PASSIVATING, PASSIVATED, STOPPING = ("quarantined", "passivating", "passivated",
                                                  "stopping")
ALIVE = (STARTING, RUNNING)
MAX_PENDING = 10_000


@dataclass
class Child:
    """One symbol's entry."""

    symbol: str
    address: Any = None
    status: str = STARTING
    pid: int | None = None
    view: SymbolView | None = None
    restarts: int = 0
    poison: int = 0
    last_exit_reason: str | None = None
    quarantine_reason: str | None = None
    pending: list[tuple[Any, Any]] = field(default_factory=list)
    """(message, reply_to) waiting for the actor to exist."""
    waiters: list[Any] = field(default_factory=list)
    """CLI endpoints waiting for a RestartDone."""
    operator_restart: bool = False
    last_active: float = field(default_factory=time.monotonic)
    gen: int = 0

    @property
    def state(self) -> str:
        """The state an operator sees: the actor's state, or why there is no actor."""
        if self.status == QUARANTINED:
            return "QUARANTINED"
        if self.status in (PASSIVATED, PASSIVATING):
            return "PASSIVATED"
        if self.status == RESTARTING:
            return "RESTARTING"
        return self.view.state if self.view is not None else "STARTING"

    def entry(self) -> ActorEntry:
        """This child as `posguard actors` shows it."""
        alive = self.status in ALIVE
        return ActorEntry("symbol", self.symbol, self.pid if alive else None, self.state,
                          self.restarts, self.quarantine_reason or self.last_exit_reason,
                          self.address if alive else None, self.view, self.poison)


class Routes:
    """symbol -> Child, plus lookup by ActorAddress."""

    def __init__(self) -> None:
        self.children: dict[str, Child] = {}

    def get(self, symbol: str) -> Child | None:
        """The entry of `symbol`, if any."""
        return self.children.get(symbol)

    def add(self, symbol: str) -> Child:
        """The entry of `symbol`, created if missing."""
        return self.children.setdefault(symbol, Child(symbol))

    def by_address(self, address: Any) -> Child | None:
        """The child whose actor is at `address` (linear search with ==)."""
        return next((c for c in self.children.values()
                     if c.address is not None and c.address == address), None)

    def alive(self) -> list[Child]:
        """Children with a running (or starting) actor."""
        return [c for c in self.children.values() if c.status in ALIVE]
