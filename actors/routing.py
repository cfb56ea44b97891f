"""The supervisor's tables: symbol -> its actor, status, latest view, and waiting messages;
and its other children (pool, workers, streams).

ActorAddress defines __eq__ without __hash__, so children are found by address with a linear
search; symbols are dict keys. Nothing addressed to a symbol is dropped while its actor is
being (re)started: it waits in `pending` and is delivered, in order, once the actor exists.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from actors.child_status import ALIVE, ChildEvent, ChildStatus, move
from actors.messages import ActorEntry, SymbolView

MAX_PENDING = 10_000


@dataclass
class Child:
    """One symbol's entry."""

    symbol: str
    address: Any = None
    status: ChildStatus = ChildStatus.STARTING
    """Has it an actor, and if not why (actors/child_status.py); changed only by `move`."""
    pid: int | None = None
    tick_inbox: str | None = None
    """Its actor's tick socket (Ready.tick_inbox); None until it says, and after it exits."""
    view: SymbolView | None = None
    restarts: int = 0
    poison: int = 0
    last_exit_reason: str | None = None
    quarantine_reason: str | None = None
    pending: list[tuple[Any, Any]] = field(default_factory=list)
    """(message, reply_to) waiting for the actor to exist."""
    waiters: list[Any] = field(default_factory=list)
    """CLI endpoints waiting for a RestartDone."""
    respawn_reason: str | None = None
    """Set when the supervisor stopped the actor itself (operator restart, pool replaced):
    the exit is respawned at once and journaled with this cause."""
    exit_note: str | None = None
    """What the actor said (ChildFailing) before its exit: the cause of that exit."""
    last_active: float = field(default_factory=time.monotonic)
    gen: int = 0

    def move(self, event: ChildEvent) -> None:
        """Change the status as the table says (raises "STATUS -> EVENT" if it does not)."""
        self.status = move(self.status, event)

    @property
    def state(self) -> str:
        """The state an operator sees: the actor's state, or why there is no actor."""
        shown = _SHOWN.get(ChildStatus(self.status))
        if shown is not None:
            return shown
        return self.view.state if self.view is not None else "STARTING"

    def entry(self) -> ActorEntry:
        """This child as `posguard actors` shows it."""
        alive = self.status in ALIVE
        return ActorEntry("symbol", self.symbol, self.pid if alive else None, self.state,
                          self.restarts, self.quarantine_reason or self.last_exit_reason,
                          self.address if alive else None, self.view, self.poison)


_SHOWN = {ChildStatus.QUARANTINED: "QUARANTINED", ChildStatus.PASSIVATED: "PASSIVATED",
          ChildStatus.PASSIVATING: "PASSIVATED", ChildStatus.RESTARTING: "RESTARTING",
          ChildStatus.STOPPING: "STOPPED"}
"""What `posguard actors` shows for a symbol without a (running) actor."""


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

    def put(self, child: Child) -> Child:
        """Store `child`, whose actor exists (see Supervisor._ensure)."""
        assert child.address is not None, f"{child.symbol}: an entry without an actor"
        self.children[child.symbol] = child
        return child

    def reporting(self, symbol: str, sender: Any) -> Child | None:
        """`symbol`'s child if `sender` is its current actor, else None: a report from an
        actor that is gone (or names another symbol) is nobody's. Matching on the address
        alone could hand it to another symbol's new actor on the same host:port."""
        child = self.children.get(symbol)
        if child is None or child.address is None or child.address != sender:
            return None
        return child

    def by_address(self, address: Any) -> Child | None:
        """The child whose actor is at `address` (linear search with ==): for Thespian's
        notices, which name no symbol; a symbol actor's own reports go through reporting."""
        return next((c for c in self.children.values()
                     if c.address is not None and c.address == address), None)

    def alive(self) -> list[Child]:
        """Children with a running (or starting) actor."""
        return [c for c in self.children.values()
                if c.status in ALIVE and c.address is not None]


class Others:
    """The supervisor's other children: the pool, its workers (pids only) and the streams.

    Entries are frozen ActorEntry rows, replaced on every change; workers are the pool's
    children, so they are known by pid (the pool forwards their Started and WorkerGone).
    """

    def __init__(self) -> None:
        self.entries: list[ActorEntry] = []

    def __iter__(self) -> Iterator[ActorEntry]:
        return iter(self.entries)

    def add(self, kind: str, address: Any, restarts: int = 0, reason: str | None = None) -> None:
        """A child just created (pid unknown until its Started)."""
        self.entries.append(ActorEntry(kind, None, None, ChildStatus.STARTING.value, restarts,
                                       reason, address))

    def find(self, address: Any) -> ActorEntry | None:
        """The entry of the child at `address`."""
        return next((e for e in self.entries if e.address is not None and e.address == address),
                    None)

    def update(self, address: Any, **changes: Any) -> None:
        """Change the entry of the child at `address` (nothing if unknown)."""
        self.entries = [dataclasses.replace(e, **changes)
                        if e.address is not None and e.address == address else e
                        for e in self.entries]

    def remove(self, address: Any = None, kind: str | None = None, pid: int | None = None) -> None:
        """Drop the child at `address`, or every entry of `kind` (with `pid`, if given)."""
        self.entries = [e for e in self.entries if not (
            (address is not None and e.address is not None and e.address == address)
            or (kind is not None and e.kind == kind and pid in (None, e.pid)))]

    def learn_pid(self, kind: str, pid: int) -> None:
        """A running child known only by its pid (a worker, via the pool); once per pid."""
        if not any(e.kind == kind and e.pid == pid for e in self.entries):
            self.entries.append(ActorEntry(kind, None, pid, ChildStatus.RUNNING.value, 0, None,
                                           None))
