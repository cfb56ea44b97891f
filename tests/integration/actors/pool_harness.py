"""Actors for tests of the exchange pool and the symbol actor's deadlines in real processes.

They live in an importable module (not a test module): Thespian pickles actor classes by
reference and the actor processes import them. `Parent` stands in for the supervisor: it
creates the pool (and a symbol actor), keeps what they report, and answers `Query` with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from thespian.actors import ActorExitRequest, ActorTypeDispatcher, ChildActorExited

from actors.exchange_worker import ExchangePool
from actors.messages import (
    ExchangeReply,
    ExchangeRequest,
    PlaceStop,
    PoolInit,
    RequestHeld,
    Started,
    SymbolInit,
    WorkerGone,
)


@dataclass(frozen=True, slots=True)
class StartPool:
    """Create a pool of `pool_class` and initialise it."""

    pool_class: type
    init: PoolInit


@dataclass(frozen=True, slots=True)
class StartSymbol:
    """Create a SymbolActor on the pool already started; `init.pool` is filled in here."""

    init: SymbolInit


@dataclass(frozen=True, slots=True)
class Submit:
    """Send `op` to the pool as request `request_id`, replies to the Parent."""

    request_id: str
    op: Any


@dataclass(frozen=True, slots=True)
class StopPool:
    """Send the pool an ActorExitRequest."""


@dataclass(frozen=True, slots=True)
class Query:
    """Ask the Parent what it has seen (answered with Seen)."""


@dataclass(frozen=True, slots=True)
class Seen:
    """Everything the Parent was told."""

    started: tuple[tuple[str, int], ...]
    gone: tuple[WorkerGone, ...]
    replies: tuple[ExchangeReply, ...]
    held: tuple[RequestHeld, ...]
    exited: tuple[str, ...]
    symbol: Any = None
    pool: Any = None
    other: tuple[str, ...] = field(default=())


class Parent(ActorTypeDispatcher):
    """The pool's (and the symbol actor's) parent: records, never acts on its own."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.pool: Any = None
        self.symbol: Any = None
        self.started: list[tuple[str, int]] = []
        self.gone: list[WorkerGone] = []
        self.replies: list[ExchangeReply] = []
        self.held: list[RequestHeld] = []
        self.exited: list[str] = []
        self.other: list[str] = []

    def receiveMsg_StartPool(self, msg: StartPool, sender: Any) -> None:
        """Create and initialise the pool."""
        self.pool = self.createActor(msg.pool_class)
        self.send(self.pool, msg.init)
        self.send(sender, self._seen())

    def receiveMsg_StartSymbol(self, msg: StartSymbol, sender: Any) -> None:
        """Create the symbol actor on our pool."""
        from dataclasses import replace

        from actors.symbol import SymbolActor
        self.symbol = self.createActor(SymbolActor)
        self.send(self.symbol, replace(msg.init, pool=self.pool))
        self.send(sender, self._seen())

    def receiveMsg_Submit(self, msg: Submit, sender: Any) -> None:
        """One request to the pool."""
        self.send(self.pool, ExchangeRequest(msg.request_id, msg.op, self.myAddress,
                                             held_notices=True))
        self.send(sender, self._seen())

    def receiveMsg_StopPool(self, msg: StopPool, sender: Any) -> None:
        """Ask the pool to exit."""
        self.send(self.pool, ActorExitRequest())
        self.send(sender, self._seen())

    def receiveMsg_Query(self, msg: Query, sender: Any) -> None:
        """Answer with what we saw."""
        self.send(sender, self._seen())

    def receiveMsg_Started(self, msg: Started, sender: Any) -> None:
        """A pid reported by the pool (its own and its workers')."""
        self.started.append((msg.kind, msg.pid))

    def receiveMsg_WorkerGone(self, msg: WorkerGone, sender: Any) -> None:
        """The pool dropped a worker."""
        self.gone.append(msg)

    def receiveMsg_ExchangeReply(self, msg: ExchangeReply, sender: Any) -> None:
        """An answer to one of our Submits."""
        self.replies.append(msg)

    def receiveMsg_RequestHeld(self, msg: RequestHeld, sender: Any) -> None:
        """The pool vouched for one of our Submits."""
        self.held.append(msg)

    def receiveMsg_ChildActorExited(self, msg: ChildActorExited, sender: Any) -> None:
        """The pool or the symbol actor exited."""
        self.exited.append("pool" if msg.childAddress == self.pool else "symbol")

    def receiveUnrecognizedMessage(self, msg: Any, sender: Any) -> None:
        """Views, Ready, CommandResults of the symbol actor: only their names are kept."""
        self.other.append(type(msg).__name__)

    def _seen(self) -> Seen:
        return Seen(tuple(self.started), tuple(self.gone), tuple(self.replies),
                    tuple(self.held), tuple(self.exited), self.symbol, self.pool,
                    tuple(self.other))


class OneNoticePool(ExchangePool):
    """The pool as the field saw it: Thespian's first exit notice arrives, later ones never do
    (measured: one ChildActorExited for two SIGKILLed workers in 1 of 4 trials). Dropping the
    rest makes that loss certain, so the pool's own liveness check is what must find them."""

    notices = 0

    def receiveMsg_ChildActorExited(self, msg: ChildActorExited, sender: Any) -> None:
        """Pass the first exit notice on; drop every later one."""
        self.notices += 1
        if self.notices == 1:
            super().receiveMsg_ChildActorExited(msg, sender)


class LosingPool(ExchangePool):
    """Loses the reply to the first STOP_MARKET placement: the worker places it on the
    exchange and answers the pool instead of the symbol actor, and the pool drops it (a reply
    lost between worker and requester, like a dropped dead letter)."""

    lost: str | None = None

    def receiveMsg_ExchangeRequest(self, msg: ExchangeRequest, sender: Any) -> None:
        """Divert the first stop placement's reply to ourselves."""
        if self.lost is None and isinstance(msg.op, PlaceStop) \
                and msg.op.order_type == "STOP_MARKET":
            from dataclasses import replace
            self.lost = msg.request_id
            msg = replace(msg, reply_to=self.myAddress, held_notices=False)
        super().receiveMsg_ExchangeRequest(msg, sender)

    def receiveMsg_ExchangeReply(self, msg: ExchangeReply, sender: Any) -> None:
        """Drop the diverted reply; the rest is the pool's own (FetchLimits)."""
        if msg.request_id == self.lost:
            return
        super().receiveMsg_ExchangeReply(msg, sender)
