"""An actor for tests of the stream actors in real processes (tests/integration/actors/
test_streams_*.py). It lives in an importable module (Thespian pickles actor classes by
reference). `StreamParent` stands in for the supervisor: it creates one stream actor, hands
it its settings and a routing table that sends every symbol's events to the parent itself,
keeps what the stream tells it, and answers `StreamQuery` with it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from thespian.actors import ActorExitRequest, ActorTypeDispatcher, ChildActorExited

from actors.messages import StreamConnected, StreamSettings, StreamStatus, Subscriptions
from venues.bybit import Bybit


@dataclass(frozen=True, slots=True)
class StartStream:
    """Create a stream actor of `actor_class`, start it, route `symbols` to the parent."""

    actor_class: type
    settings: StreamSettings
    symbols: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StopStream:
    """Ask the stream actor to exit."""


@dataclass(frozen=True, slots=True)
class StreamQuery:
    """Ask the parent what it has seen (answered with StreamSeen)."""


@dataclass(frozen=True, slots=True)
class StreamSeen:
    """Everything the stream actor told its parent."""

    connected: tuple[StreamConnected, ...]
    statuses: tuple[StreamStatus, ...]
    events: tuple[Any, ...]
    exited: bool
    stream: Any


class StreamParent(ActorTypeDispatcher):
    """The stream actor's parent: records, never acts on its own."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.stream: Any = None
        self.connected: list[StreamConnected] = []
        self.statuses: list[StreamStatus] = []
        self.events: list[Any] = []
        self.exited = False

    def receiveMsg_StartStream(self, msg: StartStream, sender: Any) -> None:
        """Create the stream actor; its settings, then its routing table."""
        self.stream = self.createActor(msg.actor_class)
        self.send(self.stream, msg.settings)
        self.send(self.stream, Subscriptions(tuple((s, self.myAddress) for s in msg.symbols)))
        self.send(sender, self._seen())

    def receiveMsg_StopStream(self, msg: StopStream, sender: Any) -> None:
        """Ask the stream actor to exit."""
        self.send(self.stream, ActorExitRequest())
        self.send(sender, self._seen())

    def receiveMsg_StreamQuery(self, msg: StreamQuery, sender: Any) -> None:
        """Answer with what we saw."""
        self.send(sender, self._seen())

    def receiveMsg_StreamConnected(self, msg: StreamConnected, sender: Any) -> None:
        """The user stream (re)connected: the supervisor would make every symbol reconcile."""
        self.connected.append(msg)

    def receiveMsg_StreamStatus(self, msg: StreamStatus, sender: Any) -> None:
        """The stream's health."""
        self.statuses.append(msg)

    def receiveMsg_ChildActorExited(self, msg: ChildActorExited, sender: Any) -> None:
        """The stream actor exited."""
        self.exited = True

    def receiveUnrecognizedMessage(self, msg: Any, sender: Any) -> None:
        """Typed events (PositionUpdate, OrderUpdate, AlgoUpdate, MarkPrice) and the rest."""
        self.events.append(msg)

    def _seen(self) -> StreamSeen:
        return StreamSeen(tuple(self.connected), tuple(self.statuses[-50:]),
                          tuple(self.events[-500:]), self.exited, self.stream)


def fast_heartbeat_bybit(every_secs: float) -> Any:
    """The real Bybit adapter with its heartbeat every `every_secs` (0: none), so a test can
    watch the simulator's idle cut without waiting Bybit's 10 minutes (module-level classes:
    the actor processes unpickle them by reference)."""
    return (FastBybit if every_secs else QuietBybit)()


@dataclass(frozen=True, slots=True)
class FastBybit(Bybit):
    """Bybit, pinging every half second."""

    heartbeat_secs: ClassVar[float] = 0.5


@dataclass(frozen=True, slots=True)
class QuietBybit(Bybit):
    """Bybit without its application heartbeat (what the venue cuts)."""

    heartbeat_secs: ClassVar[float] = 0.0


@dataclass(frozen=True, slots=True)
class UnpacedCancelsBybit(Bybit):
    """Bybit as if cancels were not limited on their own (the pool's model before Bybit):
    the control that shows the venue's 10/s cancel limit is real."""

    limits: ClassVar[Any] = dataclasses.replace(Bybit.limits, cancel_window=None)
