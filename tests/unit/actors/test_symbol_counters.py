"""The symbol actor's shell keeps its metrics counters (actors/tally.py) and pushes them with
its view: at once when the supervisor's table needs the change, and with view_refresh_secs at
most that often for what only the metrics show (the mark against the stop, the counters).

Handlers called directly, sends and timers recorded, an in-memory store, a manual clock, the
real state machine (as in test_request_deadlines).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from thespian.actors import WakeupMessage

from actors.messages import (
    ExchangeReply,
    ExchangeRequest,
    FailureKind,
    MarketRulesInfo,
    MarkPrice,
    PlaceStop,
    Retry,
    SymbolInit,
    SymbolView,
    ViewRefresh,
)
from actors.protection import ProtectionPolicy
from actors.symbol import SymbolActor
from actors.machine.core import MAX_STOP_FAILURES
from system.clock import ManualClock
from tests.fakes.machine import SYMBOL, failure, snapshot, stop_info
from tests.fakes.memory_stores import MemoryStores
from venues.binance.adapter import CAPABILITIES

D = Decimal
RULES_INFO = MarketRulesInfo(SYMBOL, D("0.1"), D("0.001"), D("0.001"))


class Shell:
    """A SymbolActor with recorded sends and timers, a manual clock and view_refresh_secs."""

    def __init__(self, refresh_secs: float = 0.0) -> None:
        self.store = MemoryStores(epoch=7)
        self.sent: list[tuple[Any, Any]] = []
        self.timers: list[tuple[float, Any]] = []
        a = SymbolActor()
        a._myRef = SimpleNamespace(address="symbol")
        a.send = lambda dest, msg: self.sent.append((dest, msg))  # type: ignore[method-assign]
        a.wakeupAfter = lambda d, payload=None: self.timers.append(  # type: ignore[method-assign]
            (d.total_seconds(), payload))
        self.clock = ManualClock()
        self.actor = a
        a.receiveMsg_SymbolInit(SymbolInit(SYMBOL, 7, self.store, "pool", ProtectionPolicy(),
                                           view_refresh_secs=refresh_secs, clock=self.clock,
                                           venue=CAPABILITIES),
                                "supervisor")

    def requests(self) -> list[ExchangeRequest]:
        return [m for dest, m in self.sent if dest == "pool"]

    def views(self) -> list[SymbolView]:
        return [m for dest, m in self.sent if dest == "supervisor" and isinstance(m, SymbolView)]

    def refreshes(self) -> list[tuple[float, Any]]:
        return [t for t in self.timers if t[1] == ViewRefresh()]

    def reply(self, req: ExchangeRequest, result: Any) -> None:
        self.actor.receiveMsg_ExchangeReply(ExchangeReply(req.request_id, req.op, result, None),
                                            "worker")

    def accept_last_stop(self) -> None:
        place = self.requests()[-1]
        assert isinstance(place.op, PlaceStop) and place.op.trigger_price is not None
        n = len(self.requests())
        self.reply(place, stop_info(place.op.client_id, str(place.op.trigger_price),
                                    algo_id=f"40{n}"))

    def tick(self, price: str) -> None:
        self.actor.receiveMsg_MarkPrice(MarkPrice(SYMBOL, D(price), self.clock.now_ms()), None)

    def wake_refresh(self) -> None:
        self.actor.receiveMsg_WakeupMessage(WakeupMessage(timedelta(0), payload=ViewRefresh()),
                                            None)


def protected(refresh_secs: float = 0.0) -> Shell:
    """A long 0.010 @ 60000 found without a stop by the first reconcile, then protected 250 ms
    after the fetch's reply."""
    sh = Shell(refresh_secs)
    (fetch,) = sh.requests()
    sh.reply(fetch, dataclasses.replace(snapshot("0.010", "60000"), rules=RULES_INFO))
    sh.clock.advance(250)
    sh.accept_last_stop()
    assert sh.actor.s.state.value == "PROTECTED"
    return sh


def test_the_pushed_view_counts_moves_every_journal_append_and_the_unprotected_stretch():
    sh = protected()

    sh.tick("61000")  # past activation: the stop moves
    sh.clock.advance(100)
    sh.accept_last_stop()

    c = sh.views()[-1].counters
    assert c is not None and c.moves == 1 and c.stop_failures == ()
    assert c.append_count == len(sh.store.kinds(SYMBOL)) == c.append_buckets[-1]
    assert c.unprotected_ms == 250 and c.unprotected_since_ms is None


def test_with_a_refresh_interval_a_tick_is_pushed_once_the_interval_after_it():
    sh = protected(refresh_secs=5.0)
    pushed = len(sh.views())

    sh.tick("60100")  # inside activation: nothing moves, nothing is journaled
    sh.tick("60200")
    assert sh.refreshes() == [(5.0, ViewRefresh())], "one timer for both ticks"
    assert len(sh.views()) == pushed, "not at once"

    sh.wake_refresh()
    assert len(sh.views()) == pushed + 1 and sh.views()[-1].mark_price == "60200"

    sh.wake_refresh()  # a stray timer with nothing new: nothing sent
    assert len(sh.views()) == pushed + 1


def test_without_a_refresh_interval_only_the_tables_facts_are_pushed():
    sh = protected()
    pushed = len(sh.views())

    sh.tick("60100")

    assert sh.refreshes() == [] and len(sh.views()) == pushed


def test_a_quarantine_after_failed_placements_is_in_the_view_pushed_with_it():
    sh = Shell()
    (fetch,) = sh.requests()
    sh.reply(fetch, dataclasses.replace(snapshot("0.010", "60000"), rules=RULES_INFO))
    down = failure(FailureKind.TEMPORARY, -1001, "Internal error")
    for _ in range(MAX_STOP_FAILURES):
        place = sh.requests()[-1]
        assert isinstance(place.op, PlaceStop)
        sh.actor.receiveMsg_ExchangeReply(ExchangeReply(place.request_id, place.op, None, down),
                                          "worker")
        if sh.actor.s.state.value != "QUARANTINED":
            sh.actor.receiveMsg_WakeupMessage(WakeupMessage(timedelta(0), payload=Retry(place.op)),
                                              None)

    last = sh.views()[-1]
    assert last.state == "QUARANTINED" and last.quarantines == 1
    assert last.counters is not None
    assert dict(last.counters.stop_failures) == {"temporary": MAX_STOP_FAILURES}
    assert last.counters.unprotected_since_ms is not None, "still no stop resting"
