"""What the supervisor knows of a symbol actor's life: a status, and the events that move it.

The status says whether the symbol has an actor and why not; the state machine state an
operator sees comes from the actor's own view (routing.Child.state). Every change goes through
`move`, which raises "STATUS -> EVENT" for a pair the table does not list, the way the symbol
machine does for its triggers. Values are the strings `posguard actors` has always shown.
"""

from __future__ import annotations

from enum import Enum, StrEnum, unique


@unique
class ChildStatus(StrEnum):
    """A symbol's entry in the supervisor's table."""

    STARTING = "starting"
    """Its actor was created and is loading its snapshot (no Ready yet)."""
    RUNNING = "running"
    """Its actor answered Ready."""
    RESTARTING = "restarting"
    """Its actor exited; a replacement is due after the backoff."""
    QUARANTINED = "quarantined"
    """It exited too often: no actor until the operator (or the sweep) restarts it."""
    PASSIVATING = "passivating"
    """FLAT and idle: told to exit, its exit not seen yet."""
    PASSIVATED = "passivated"
    """Exited while idle: the next message for it creates a new actor."""
    STOPPING = "stopping"
    """Exited while posguard stops: gone for good."""


@unique
class ChildEvent(Enum):
    """What happens to a symbol's actor, as the supervisor learns it."""

    SPAWNED = "spawned"
    """A new actor was created for it (first start, respawn, restart, message for it)."""
    READY = "ready"
    """Its actor loaded its snapshot."""
    IDLE = "idle"
    """FLAT and idle past supervisor.passivate_after_secs: told to exit."""
    EXITED_IDLE = "exited idle"
    """Its exit after IDLE."""
    CRASHED = "crashed"
    """An exit the restart intensity still allows: a replacement after the backoff."""
    QUARANTINED = "quarantined"
    """An exit past the restart intensity."""
    STOPPED = "stopped"
    """An exit while posguard stops."""


S = ChildStatus
WITH_ACTOR = frozenset({S.STARTING, S.RUNNING, S.PASSIVATING})
"""Statuses whose entry has an actor (an address): the ones whose exit can be seen."""
TABLE: dict[ChildEvent, tuple[frozenset[ChildStatus], ChildStatus]] = {
    # Every status but STOPPING: an operator restart or a message for a passivated symbol may
    # replace an actor that is still exiting (its exit then finds no entry).
    ChildEvent.SPAWNED: (frozenset(S) - {S.STOPPING}, S.STARTING),
    ChildEvent.READY: (frozenset({S.STARTING, S.RUNNING}), S.RUNNING),
    ChildEvent.IDLE: (frozenset({S.RUNNING}), S.PASSIVATING),
    ChildEvent.EXITED_IDLE: (frozenset({S.PASSIVATING}), S.PASSIVATED),
    ChildEvent.CRASHED: (frozenset({S.STARTING, S.RUNNING}), S.RESTARTING),
    ChildEvent.QUARANTINED: (frozenset({S.STARTING, S.RUNNING}), S.QUARANTINED),
    ChildEvent.STOPPED: (WITH_ACTOR, S.STOPPING),
}
"""event -> (the statuses it may happen in, the status it leads to)."""
ALIVE = (S.STARTING, S.RUNNING)
"""Statuses of an entry whose actor exists and takes messages."""


class IllegalChildMove(RuntimeError):
    """A status change the table does not allow: a bug in the supervisor's bookkeeping."""


def move(status: ChildStatus | str, event: ChildEvent) -> ChildStatus:
    """The status `event` leads to from `status`; raises "STATUS -> EVENT" if not allowed."""
    allowed, target = TABLE[event]
    if status not in allowed:
        raise IllegalChildMove(f"{str(status).upper()} -> {event.name}")
    return target
