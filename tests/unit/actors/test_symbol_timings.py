"""The symbol actor times stream events from frame read to applied, and answers TimingsQuery.

simpleSystemBase (synchronous, in this process) with the real state machine; the store is the
memory store (handed over in SymbolInit) and the exchange pool swallows requests. An actor
that would die fails the test (Lifecycle.die ends only a Thespian actor process, not this).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from thespian.actors import Actor, ActorSystem

from actors.messages import (
    Forward,
    MarkPrice,
    PositionUpdate,
    SymbolInit,
    SymbolTimings,
    TimingsQuery,
)
from actors.protection import ProtectionPolicy
from actors.symbol import SymbolActor
from system.clock import SystemClock
from tests.fakes.memory_stores import MemoryStores
from venues.binance.adapter import CAPABILITIES

SYM = "BTCUSDT"
D = Decimal
ASK = timedelta(seconds=2)


class SwallowingPool(Actor):
    """Stands in for the exchange pool: no exchange in unit tests."""

    def receiveMessage(self, msg: Any, sender: Any) -> None:
        """Ignore every request."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """Ask a Recorder for the last message it got."""


class Recorder(Actor):
    """Stands in for the CLI endpoint a Forward names: keeps the last reply it got."""

    last: Any = None

    def receiveMessage(self, msg: Any, sender: Any) -> None:
        """Keep a reply, or hand back the kept one."""
        if isinstance(msg, Recorded):
            self.send(sender, self.last)
        else:
            self.last = msg


@pytest.fixture
def asys(monkeypatch) -> Iterator[Any]:
    deaths: list[str] = []

    def die(self: SymbolActor, reason: str, *_: Any) -> None:
        deaths.append(reason)
        self.dying = reason  # stop handling messages, but do not exit this process

    monkeypatch.setattr(SymbolActor, "die", die)
    system = ActorSystem("simpleSystemBase", transientUnique=True)
    try:
        yield system
    finally:
        system.shutdown()
    assert deaths == []


def _init(asys: Any, actor: Any) -> None:
    pool = asys.createActor(SwallowingPool)
    asys.tell(actor, SymbolInit(SYM, 1, MemoryStores(), pool, ProtectionPolicy(),
                                clock=SystemClock(), venue=CAPABILITIES))


def _timings(asys: Any, query: Any, actor: Any) -> SymbolTimings:
    """Ask, skipping what the actor sent its parent (this endpoint) along the way."""
    reply = asys.ask(actor, query, ASK)
    for _ in range(50):
        if isinstance(reply, SymbolTimings):
            return reply
        assert reply is not None, "no SymbolTimings"
        reply = asys.listen(ASK)
    raise AssertionError(f"no SymbolTimings, last {reply!r}")


def _flat(received_mono: float) -> PositionUpdate:
    return PositionUpdate(SYM, D(0), D(0), "ORDER", 1, 1, received_mono=received_mono)


def test_stream_events_are_timed_into_route_and_mark_when_applied(asys):
    actor = asys.createActor(SymbolActor)
    _init(asys, actor)
    read = time.monotonic() - 0.05  # read 50 ms ago

    asys.tell(actor, _flat(read))
    asys.tell(actor, MarkPrice(SYM, D("60000"), 1, received_mono=read))
    done = time.monotonic()
    t = _timings(asys, TimingsQuery(SYM), actor)

    assert (t.symbol, len(t.route), len(t.mark)) == (SYM, 1, 1)
    for received, latency_ms in (t.route[0], t.mark[0]):
        assert received == read
        assert 50 <= latency_ms <= (done - read) * 1000


def test_events_not_from_a_stream_are_not_timed(asys):
    actor = asys.createActor(SymbolActor)
    _init(asys, actor)

    asys.tell(actor, _flat(0.0))
    asys.tell(actor, MarkPrice(SYM, D("60000"), 1))
    t = _timings(asys, TimingsQuery(SYM), actor)

    assert (t.route, t.mark) == ((), ())


def test_an_event_that_arrives_before_init_is_timed_when_it_is_applied(asys):
    actor = asys.createActor(SymbolActor)
    read = time.monotonic()
    asys.tell(actor, _flat(read))
    before_init = _timings(asys, TimingsQuery(SYM), actor)
    time.sleep(0.02)

    _init(asys, actor)
    after_init = _timings(asys, TimingsQuery(SYM), actor)

    assert before_init.route == ()
    [(received, latency_ms)] = after_init.route
    assert received == read and latency_ms >= 20, "timed at apply, after init, not on arrival"


def test_a_forwarded_timings_query_is_answered_to_reply_to(asys):
    actor = asys.createActor(SymbolActor)
    _init(asys, actor)
    asys.tell(actor, _flat(time.monotonic()))
    asker = asys.createActor(Recorder)

    asys.tell(actor, Forward(TimingsQuery(SYM), asker))
    relayed = _timings(asys, Recorded(), asker)

    assert relayed == _timings(asys, TimingsQuery(SYM), actor) and len(relayed.route) == 1
