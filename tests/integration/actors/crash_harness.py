"""Actors for the test of the guarded receive in real processes (actors/lifecycle.py).

They live in an importable module (not a test module): Thespian pickles actor classes by
reference and the actor processes import them. `CrashParent` stands in for the supervisor:
it creates a `Crasher`, passes it a `Boom`, and keeps what it hears (answering `Query`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from thespian.actors import ActorTypeDispatcher, ChildActorExited, PoisonMessage, WakeupMessage

from actors.lifecycle import Lifecycle
from actors.messages import ChildFailing, ParentCheck, Started


@dataclass(frozen=True, slots=True)
class StartCrasher:
    """Create the Crasher."""


@dataclass(frozen=True, slots=True)
class Hello:
    """To the Crasher: watch your parent and report your pid."""


@dataclass(frozen=True, slots=True)
class Boom:
    """A message whose handler raises (the parent passes it on to the Crasher)."""


@dataclass(frozen=True, slots=True)
class Query:
    """Ask the parent what it heard (answered with Heard)."""


@dataclass(frozen=True, slots=True)
class Heard:
    """What the parent heard from and about its child."""

    pid: int | None
    """The child's pid (its Started)."""
    failing: tuple[str, ...]
    """ChildFailing reasons."""
    exited: bool
    """Its ChildActorExited came."""
    poisoned: tuple[str, ...]
    """PoisonMessage details (Thespian's retry-then-carry-on: must stay empty)."""


class Crasher(Lifecycle):
    """A Lifecycle actor whose Boom handler raises."""

    def receiveMsg_Hello(self, msg: Hello, sender: Any) -> None:
        """Watch the parent; report the pid."""
        self.watch_parent(sender)
        self.send(sender, Started("crasher", os.getpid()))

    def receiveMsg_Boom(self, msg: Boom, sender: Any) -> None:
        """Raise."""
        raise RuntimeError("boom")

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> None:
        """The parent check."""
        if isinstance(msg.payload, ParentCheck):
            self.check_parent(msg.payload)


class CrashParent(ActorTypeDispatcher):
    """The Crasher's parent: records, never acts on its own."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.child: Any = None
        self.pid: int | None = None
        self.failing: list[str] = []
        self.exited = False
        self.poisoned: list[str] = []

    def receiveMsg_StartCrasher(self, msg: StartCrasher, sender: Any) -> None:
        """Create the Crasher and greet it."""
        self.child = self.createActor(Crasher)
        self.send(self.child, Hello())
        self.send(sender, self._heard())

    def receiveMsg_Boom(self, msg: Boom, sender: Any) -> None:
        """Pass it on to the Crasher (so the Crasher's sender is us)."""
        self.send(self.child, msg)
        self.send(sender, self._heard())

    def receiveMsg_Query(self, msg: Query, sender: Any) -> None:
        """Answer with what we heard."""
        self.send(sender, self._heard())

    def receiveMsg_Started(self, msg: Started, sender: Any) -> None:
        """The Crasher's pid."""
        self.pid = msg.pid

    def receiveMsg_ChildFailing(self, msg: ChildFailing, sender: Any) -> None:
        """Why the Crasher is about to exit."""
        self.failing.append(msg.reason)

    def receiveMsg_ChildActorExited(self, msg: ChildActorExited, sender: Any) -> None:
        """The Crasher exited."""
        self.exited = True

    def receiveMsg_PoisonMessage(self, msg: PoisonMessage, sender: Any) -> None:
        """Thespian gave up on a message we sent (the old retry-then-carry-on)."""
        self.poisoned.append(str(getattr(msg, "details", "")))

    def _heard(self) -> Heard:
        return Heard(self.pid, tuple(self.failing), self.exited, tuple(self.poisoned))


@dataclass(frozen=True, slots=True)
class WhichSelector:
    """Ask an actor which selector Thespian's transport builds in its process."""


class SelectorProbe(ActorTypeDispatcher):
    """Answers WhichSelector with the class name and the process's pid."""

    def receiveMsg_WhichSelector(self, msg: WhichSelector, sender: Any) -> None:
        from system.thespian_poll import thespian_selector
        self.send(sender, (thespian_selector().__name__, os.getpid()))
