"""No exchange request waits forever: the bookkeeping, driven without Thespian.

- actors/deadlines.InFlight: the requester's silence deadlines and settled replies;
- the exchange pool's liveness and in-worker deadline (actors/workers.py), through the
  PoolHarness of test_exchange_pool (handlers called directly, clock and pids faked);
- the symbol actor's shell (actors/symbol.py): handlers called directly, sends and timers
  recorded, an in-memory store, the real state machine.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from thespian.actors import ActorExitRequest, ChildActorExited, WakeupMessage

from actors.deadlines import SETTLED_MEMORY, InFlight, Settled
from actors.exchange_worker import HELD_NOTICE_SECS
from actors.messages import (
    DeadlineCheck,
    ExchangeReply,
    ExchangeRequest,
    FailureKind,
    FetchPositions,
    FetchSymbol,
    LookupOrder,
    MarketRulesInfo,
    PlaceStop,
    PoolSweep,
    RequestHeld,
    Retry,
    SymbolInit,
    WorkerGone,
)
from actors.protection import ProtectionPolicy
from actors.symbol import SymbolActor
from actors.workers import MIN_DEADLINE_SECS, child_alive, worker_deadline_secs
from system.clock import ManualClock
from tests.fakes.machine import SYMBOL, accept, snapshot
from tests.fakes.memory_stores import MemoryStores
from tests.unit.actors.test_exchange_pool import PoolHarness, stop
from tests.waiting import wait_for
from venues.binance.adapter import CAPABILITIES

D = Decimal

# --------------------------------------------------------------------------- InFlight


def test_a_request_nobody_says_anything_about_expires_after_the_silence_deadline():
    f = InFlight(10.0)
    f.sent("a", "op-a", now=0.0)
    f.sent("b", "op-b", now=4.0)

    assert f.expire(9.9) == [] and f.next_due() == 10.0
    (x,) = f.expire(10.0)

    assert (x.request_id, x.op, x.silent_secs) == ("a", "op-a", 10.0)
    assert len(f) == 1 and f.next_due() == 14.0


def test_a_held_notice_starts_the_deadline_again():
    f = InFlight(10.0)
    f.sent("a", "op", now=0.0)

    assert f.heard("a", now=8.0)
    assert f.expire(17.9) == []
    assert [x.request_id for x in f.expire(18.0)] == ["a"]
    assert not f.heard("a", now=19.0), "no longer in flight"


def test_a_reply_after_the_deadline_is_late_a_second_reply_a_duplicate_a_stranger_unknown():
    f = InFlight(1.0)
    f.sent("lost", "op", now=0.0)
    f.sent("ok", "op", now=0.0)
    f.expire(0.5)  # nothing due yet
    assert f.settle("ok") is Settled.FIRST
    f.expire(1.0)

    assert f.settle("lost") is Settled.LATE
    assert f.settle("ok") is Settled.DUPLICATE
    assert f.settle("never-sent") is Settled.UNKNOWN


def test_settled_requests_are_remembered_up_to_a_bound():
    f = InFlight(1.0)
    for i in range(SETTLED_MEMORY + 1):
        f.sent(str(i), "op", now=0.0)
        f.settle(str(i))

    assert f.settle("0") is Settled.UNKNOWN
    assert f.settle(str(SETTLED_MEMORY)) is Settled.DUPLICATE


# --------------------------------------------------------------------------- workers


def test_the_in_worker_deadline_is_two_exchange_timeouts_and_never_under_the_minimum():
    assert worker_deadline_secs(10_000) == 20.0
    assert worker_deadline_secs(1_500) == MIN_DEADLINE_SECS


def test_a_dead_child_is_dead_even_while_it_is_an_unreaped_zombie():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        # exited but not reaped: kill(pid, 0) would still succeed
        wait_for(lambda: not child_alive(pid), 5, "an exited child to count as dead", 0.01)
        os.kill(pid, 0)  # it is a zombie: the pid still exists
        assert child_alive(os.getpid()), "a running process that is not our child"
    finally:
        os.waitpid(pid, 0)
    assert not child_alive(pid), "reaped"


def test_the_process_asking_is_alive_without_a_system_call(monkeypatch):
    # The pool's own event loop is a pseudo-worker with the pool's pid: it was asked about
    # before every dispatch (waitid, kill and a /proc read: 8 % of the pool's CPU at 100
    # symbols in a py-spy profile).
    def no_call(*a: Any) -> None:
        raise AssertionError("a system call to ask whether this process is alive")
    for name in ("waitid", "kill"):
        monkeypatch.setattr(os, name, no_call)
    assert child_alive(os.getpid())


# --------------------------------------------------------------------------- the pool


def to(h: PoolHarness, kind: type) -> list[tuple[Any, Any]]:
    return [(dest, m) for dest, m in h.sent if isinstance(m, kind)]


def sweep(h: PoolHarness, at: float) -> None:
    h.now = at
    h.pool.receiveMsg_WakeupMessage(WakeupMessage(timedelta(0), payload=PoolSweep()), None)


def test_two_busy_workers_dead_without_any_exit_notice_are_answered_unknown_and_replaced():
    # Arrange: both workers run a stop placement; a third request waits behind them
    h = PoolHarness(workers=2)
    h.submit(stop(1), "s1")
    h.submit(stop(2), "s2")
    h.submit(stop(3), "s3")
    h.dead |= {h.pid("w0"), h.pid("w1")}  # SIGKILLed; Thespian says nothing

    # Act
    sweep(h, 1.0)

    # Assert: both requesters hear UNKNOWN_OUTCOME once; two replacements; the supervisor
    # drops both pids; the queued request goes to a replacement once it is ready
    replies = {m.request_id: m for _, m in to(h, ExchangeReply)}
    assert sorted(replies) == ["s1", "s2"]
    assert all(r.failure.kind is FailureKind.UNKNOWN_OUTCOME for r in replies.values())
    assert all("is gone" in r.failure.message for r in replies.values())
    assert h.created == ["w0", "w1", "w2", "w3"]
    assert sorted(m.pid for _, m in to(h, WorkerGone)) == [1000, 1001]
    assert h.sent_ids() == ["s1", "s2"]
    h.ready("w2")
    assert h.sent_ids() == ["s1", "s2", "s3"]


def test_one_exit_notice_for_two_deaths_answers_each_request_once_and_replaces_each_once():
    h = PoolHarness(workers=2)
    h.submit(stop(1), "s1")
    h.submit(stop(2), "s2")
    h.dead |= {h.pid("w0"), h.pid("w1")}

    h.pool.receiveMsg_ChildActorExited(ChildActorExited("w0"), None)
    sweep(h, 1.0)
    h.pool.receiveMsg_ChildActorExited(ChildActorExited("w1"), None)  # late, after the sweep

    assert sorted(m.request_id for _, m in to(h, ExchangeReply)) == ["s1", "s2"]
    assert h.created == ["w0", "w1", "w2", "w3"]
    assert len(to(h, WorkerGone)) == 2


def test_an_idle_worker_whose_process_is_gone_is_never_given_a_request():
    h = PoolHarness(workers=2)
    first, other = (w.address for w in h.pool.workers.idle())
    h.dead.add(h.pid(first))  # the next in line died idle, before any sweep saw it

    h.submit(stop(1), "s1")

    assert [dest for dest, _ in h.requests()] == [other]
    assert [m.pid for _, m in to(h, WorkerGone)] == [h.pid(first)] and h.created[-1] == "w2"


def test_a_worker_past_the_deadline_is_answered_unknown_ended_and_its_late_idle_ignored():
    h = PoolHarness(workers=1, deadline_secs=20.0)
    h.submit(FetchSymbol(SYMBOL), "fetch")
    h.submit(stop(2), "s2")
    sweep(h, 19.0)
    assert to(h, ExchangeReply) == []

    sweep(h, 20.0)

    (_, r), = to(h, ExchangeReply)
    assert r.request_id == "fetch" and r.failure.kind is FailureKind.UNKNOWN_OUTCOME
    assert r.failure.message.startswith("no reply within 20 s")
    assert h.ended == [1000]
    assert [d for d, m in h.sent if isinstance(m, ActorExitRequest)] == ["w0"]
    assert h.created == ["w0", "w1"]
    h.idle("w0", None, "fetch")  # its call ended after all: nothing changes
    assert h.sent_ids() == ["fetch"]
    h.ready("w1")
    assert h.sent_ids() == ["fetch", "s2"]


def test_requests_the_pool_holds_are_vouched_for_every_two_seconds_when_asked():
    # one worker busy with s1; s2 queued behind it; the supervisor's sweep asked for nothing
    h = PoolHarness(workers=1, deadline_secs=30.0)
    for rid, op, notices in (("s1", stop(1), True), ("s2", stop(2), True),
                             ("sweep", FetchPositions(), False)):
        h.pool.receiveMsg_ExchangeRequest(ExchangeRequest(rid, op, "symbol",
                                                          held_notices=notices), "symbol")
    sweep(h, 1.0)
    assert to(h, RequestHeld) == []

    sweep(h, HELD_NOTICE_SECS)
    sweep(h, HELD_NOTICE_SECS + 1)

    held = [m for _, m in to(h, RequestHeld)]
    assert [(m.request_id, m.queued) for m in held] == [("s1", False), ("s2", True)]
    h.idle("w0", None, "s1")
    sweep(h, 2 * HELD_NOTICE_SECS)
    assert [m.request_id for _, m in to(h, RequestHeld)][2:] == ["s2"]


def test_once_asked_to_exit_the_pool_starts_no_worker_and_answers_what_it_queued():
    h = PoolHarness(workers=1)
    h.submit(stop(1), "running")
    h.submit(stop(2), "queued")

    h.pool.receiveMsg_ActorExitRequest(ActorExitRequest(), None)
    h.pool.receiveMsg_ChildActorExited(ChildActorExited("w0"), None)
    h.dead.add(h.pid("w0"))
    sweep(h, 5.0)
    h.submit(stop(3), "late")

    answers = {m.request_id: m.failure for _, m in to(h, ExchangeReply)}
    assert answers["queued"].kind is FailureKind.TEMPORARY
    assert answers["late"].kind is FailureKind.TEMPORARY
    assert h.created == ["w0"], "a worker was started while stopping"


# --------------------------------------------------------------------------- the shell


class Shell:
    """A SymbolActor with its sends and timers recorded and a settable monotonic clock."""

    def __init__(self, deadline_secs: float = 10.0) -> None:
        self.store = MemoryStores(epoch=7)
        self.now = 0.0
        self.sent: list[tuple[Any, Any]] = []
        self.timers: list[tuple[float, Any]] = []
        a = SymbolActor()
        a._myRef = SimpleNamespace(address="symbol")
        a.send = lambda dest, msg: self.sent.append((dest, msg))  # type: ignore[method-assign]
        a.wakeupAfter = lambda d, payload=None: self.timers.append(  # type: ignore[method-assign]
            (d.total_seconds(), payload))
        a.mono = lambda: self.now
        self.actor = a
        a.receiveMsg_SymbolInit(SymbolInit(SYMBOL, 7, self.store, "pool", ProtectionPolicy(),
                                           request_deadline_secs=deadline_secs,
                                           clock=ManualClock(), venue=CAPABILITIES), "supervisor")

    def requests(self) -> list[ExchangeRequest]:
        return [m for dest, m in self.sent if dest == "pool"]

    def wake(self, at: float) -> None:
        self.now = at
        self.actor.receiveMsg_WakeupMessage(WakeupMessage(timedelta(0), payload=DeadlineCheck()),
                                            None)

    def reply(self, req: ExchangeRequest, result: Any) -> None:
        self.actor.receiveMsg_ExchangeReply(ExchangeReply(req.request_id, req.op, result, None),
                                            "worker")


RULES_INFO = MarketRulesInfo(SYMBOL, D("0.1"), D("0.001"), D("0.001"))


def adopted_and_placing() -> tuple[Shell, ExchangeRequest]:
    """A shell that found a long position without a stop and sent its stop placement."""
    sh = Shell()
    (fetch,) = sh.requests()
    sh.reply(fetch, dataclasses.replace(snapshot("0.010", "60000"), rules=RULES_INFO))
    (place,) = sh.requests()[1:]
    assert isinstance(place.op, PlaceStop) and place.held_notices
    return sh, place


def test_every_request_the_shell_sends_asks_for_notices_and_arms_one_deadline_timer():
    sh, place = adopted_and_placing()

    fetch = sh.requests()[0]
    assert isinstance(fetch.op, FetchSymbol) and fetch.held_notices
    assert [t for t in sh.timers if t[1] == DeadlineCheck()] == [(10.0, DeadlineCheck())]


def test_a_stop_placement_nobody_answers_is_settled_unknown_and_looked_up_by_client_id():
    sh, place = adopted_and_placing()

    sh.wake(9.9)
    assert len(sh.requests()) == 2
    sh.wake(10.0)

    (lookup,) = sh.requests()[2:]
    assert lookup.op == LookupOrder(SYMBOL, place.op.client_id, algo=True)
    assert sh.store.kinds(SYMBOL)[-1] == "stop_outcome_unknown"
    assert sh.actor.s.last_error.endswith("no reply within 10 s")


def test_the_reply_that_comes_after_the_deadline_is_not_applied():
    sh, place = adopted_and_placing()
    sh.wake(10.0)
    kinds = list(sh.store.kinds(SYMBOL))

    sh.reply(place, accept(place.op).result)

    assert sh.store.kinds(SYMBOL) == kinds and len(sh.requests()) == 3
    assert sh.actor.s.state.name == "OPEN_UNPROTECTED" and sh.actor.s.pending_stop is not None


def test_a_second_reply_to_the_same_request_is_not_applied():
    # a dead worker's last reply racing the pool's UNKNOWN_OUTCOME for the same request
    sh, place = adopted_and_placing()
    sh.reply(place, accept(place.op).result)
    assert sh.actor.s.state.name == "PROTECTED"
    kinds = list(sh.store.kinds(SYMBOL))

    sh.actor.receiveMsg_ExchangeReply(ExchangeReply(place.request_id, place.op, None, None),
                                      "pool")

    assert sh.store.kinds(SYMBOL) == kinds and sh.actor.s.state.name == "PROTECTED"


def test_a_request_the_pool_vouches_for_is_not_declared_lost():
    sh, place = adopted_and_placing()

    sh.now = 8.0
    sh.actor.receiveMsg_RequestHeld(RequestHeld(place.request_id, True, 8.0), "pool")
    sh.wake(10.0)
    assert len(sh.requests()) == 2, "held by the pool (e.g. a 429 pause), not lost"
    due = [t for t in sh.timers if t[1] == DeadlineCheck()]
    assert due[-1] == (8.0, DeadlineCheck())  # for 18.0
    sh.wake(18.0)

    assert isinstance(sh.requests()[-1].op, LookupOrder)


def test_a_fetch_nobody_answers_is_retried():
    sh = Shell(deadline_secs=5.0)
    (fetch,) = sh.requests()

    sh.wake(5.0)

    assert sh.store.kinds(SYMBOL)[-1] == "reconcile_retry_scheduled"
    assert any(isinstance(p, Retry) and isinstance(p.op, FetchSymbol) for _, p in sh.timers)
    sh.reply(fetch, dataclasses.replace(snapshot("0"), rules=RULES_INFO))  # late: ignored
    assert sh.actor.s.state.name == "RECONCILING"


def test_the_supervisors_sweep_fetch_is_covered_by_the_pool_deadline_without_notices():
    h = PoolHarness(workers=1, deadline_secs=20.0)
    h.pool.receiveMsg_ExchangeRequest(ExchangeRequest("sweep", FetchPositions(), "supervisor"),
                                      "supervisor")

    sweep(h, 20.0)

    (dest, r), = to(h, ExchangeReply)
    assert dest == "supervisor" and r.failure.kind is FailureKind.UNKNOWN_OUTCOME
    assert to(h, RequestHeld) == []


def test_the_pools_own_limits_fetch_is_covered_by_the_pool_deadline():
    h = PoolHarness(workers=1, deadline_secs=20.0)
    h.pool._ask_limits("retry")

    sweep(h, 20.0)

    (dest, r), = to(h, ExchangeReply)
    assert dest == "pool" and r.failure.kind is FailureKind.UNKNOWN_OUTCOME
