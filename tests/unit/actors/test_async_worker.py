"""The exchange worker (actors/io_worker.ExchangeWorker): many requests in flight on its
background event loop, each answered once (the pool first, with that request's own rate
usage, then the requester), a call past the in-worker deadline answered UNKNOWN_OUTCOME, and
an exit that answers what is in flight and leaves no thread behind. Handlers are called
directly with sends recorded; the loop thread is real, the gateway a fake (or AsyncGateway
over the scripted async ccxt client)."""

from __future__ import annotations

import logging
import select
import threading
from decimal import Decimal
from typing import Any

import ccxt
import pytest
from thespian.actors import ActorExitRequest, ThespianWatch, WatchMessage

from actors.io_loop import IOLoop
from actors.io_worker import ExchangeWorker
from actors.messages import (
    ExchangeReply,
    ExchangeRequest,
    FailureKind,
    LookupOrder,
    RateUsage,
    WorkerDone,
)
from tests.fakes.ccxt_async_client import FakeAsyncClient
from tests.waiting import wait_for
from venue.interface import Outcome
from venues.binance.async_gateway import AsyncGateway

D = Decimal


def lookup(n: int) -> LookupOrder:
    return LookupOrder("BTCUSDT", f"pg-1-BTCUSDT-sl-{n}", algo=False)


class HeldGateway:
    """Every call waits until `release` (a threading.Event, set from the test's thread);
    `entered` counts the calls inside. Answers each lookup with its client id and a weight
    counter of its own."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = 0
        self.closed = False
        self._lock = threading.Lock()

    async def warm_up(self) -> int:
        return 1

    async def run(self, op: Any) -> Outcome:
        import asyncio
        with self._lock:
            self.entered += 1
        while not self.release.is_set():
            await asyncio.sleep(0.005)
        if op.client_id.endswith("boom"):
            raise ValueError("unparseable reply")
        n = int(op.client_id.rsplit("-", 1)[1])
        return Outcome(op.client_id, None, RateUsage(n, None, None))

    async def close(self) -> None:
        self.closed = True


class Rig:
    """A worker with a real loop thread and a given gateway; sends recorded in order."""

    def __init__(self, gateway: Any, deadline_secs: float = 30.0) -> None:
        self.sent: list[tuple[Any, Any]] = []
        w = ExchangeWorker()
        w.send = lambda to, msg: self.sent.append((to, msg))  # type: ignore[method-assign]
        w.io = IOLoop("test-io")
        w.gateway = gateway
        w.deadline_secs = deadline_secs
        self.w = w

    def submit(self, rid: str, op: Any) -> Any:
        return self.w.receiveMessage(ExchangeRequest(rid, op, f"symbol-{rid}"), "pool")

    def replies(self) -> list[ExchangeReply]:
        return [m for _, m in self.sent if isinstance(m, ExchangeReply)]

    def pump(self, n: int, timeout: float = 10.0) -> list[ExchangeReply]:
        """Deliver WatchMessages while the wake-up socket is readable, until n replies."""
        assert self.w.io is not None
        fd = self.w.io.fileno()

        def step() -> int:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                self.w.receiveMessage(WatchMessage([fd]), None)
            return len(self.replies())

        wait_for(lambda got: got >= n, timeout, f"{n} replies", 0.0, sample=step)
        return self.replies()

    def close(self) -> None:
        self.w.stop_io()


@pytest.fixture
def rigs() -> Any:
    made: list[Rig] = []

    def make(gateway: Any, deadline_secs: float = 30.0) -> Rig:
        made.append(Rig(gateway, deadline_secs))
        return made[-1]
    yield make
    for r in made:
        r.close()


def test_fifty_requests_are_in_flight_at_once_and_each_is_answered_once(rigs):
    gw = HeldGateway()
    rig = rigs(gw)

    for n in range(50):
        rig.submit(f"r{n}", lookup(n))
    wait_for(lambda: gw.entered == 50, 5, "50 calls inside the gateway at once")
    assert rig.sent == []  # none finished: all 50 were in flight together
    gw.release.set()
    replies = rig.pump(50)

    assert sorted(r.request_id for r in replies) == sorted(f"r{n}" for n in range(50))
    assert all(r.failure is None and r.result == r.op.client_id for r in replies)
    assert rig.w.running == {}


def test_the_pool_hears_each_requests_own_usage_before_its_requester_hears_the_result(rigs):
    # Many finish within one wake-up: one WorkerDone to the pool for all of them, first
    gw = HeldGateway()
    rig = rigs(gw)
    for n in range(10):
        rig.submit(f"r{n}", lookup(n))
    wait_for(lambda: gw.entered == 10, 5, "10 calls in flight")
    gw.release.set()
    rig.pump(10)

    told = [(i, m) for i, (to, m) in enumerate(rig.sent) if isinstance(m, WorkerDone)]
    assert all(rig.sent[i][0] == "pool" for i, _ in told)
    usage = {rid: u for _, m in told for rid, u in m.done}
    assert usage == {f"r{n}": RateUsage(n, None, None) for n in range(10)}
    for i, (to, m) in enumerate(rig.sent):
        if isinstance(m, ExchangeReply):
            assert to == f"symbol-{m.request_id}"
            first = next(j for j, d in told if m.request_id in dict(d.done))
            assert first < i, "the requester heard before the pool"


def test_every_handler_returns_the_watch_on_the_loops_wake_up_socket(rigs):
    gw = HeldGateway()
    rig = rigs(gw)

    watch = rig.submit("r1", lookup(1))

    assert isinstance(watch, ThespianWatch) and watch.filenos == [rig.w.io.fileno()]
    gw.release.set()
    rig.pump(1)
    again = rig.w.receiveMessage(WatchMessage([rig.w.io.fileno()]), None)
    assert isinstance(again, ThespianWatch)


def test_a_call_past_the_in_worker_deadline_is_answered_unknown_outcome(rigs):
    gw = HeldGateway()  # never released
    rig = rigs(gw, deadline_secs=0.2)

    rig.submit("slow", lookup(1))
    (reply,) = rig.pump(1)

    assert reply.failure.kind is FailureKind.UNKNOWN_OUTCOME
    assert "no reply within 0.2 s" in reply.failure.message
    assert [type(m) for _, m in rig.sent] == [WorkerDone, ExchangeReply]
    gw.release.set()


def test_an_unexpected_exception_is_answered_unknown_outcome_and_logged(rigs, caplog):
    gw = HeldGateway()
    gw.release.set()
    rig = rigs(gw)

    with caplog.at_level(logging.ERROR, "posguard.exchange"):
        rig.submit("b", LookupOrder("BTCUSDT", "pg-1-BTCUSDT-sl-boom", algo=False))
        (reply,) = rig.pump(1)

    assert reply.failure.kind is FailureKind.UNKNOWN_OUTCOME
    assert "ValueError: unparseable reply" in reply.failure.message
    assert "failed unexpectedly" in caplog.text


def test_the_venues_429_reaches_the_pool_and_the_requester_through_the_real_gateway(rigs):
    client = FakeAsyncClient().on("fetch_order", ccxt.DDoSProtection(
        'binanceusdm 429 Too Many Requests {"code":-1003,"msg":"Too much request weight."}'),
        {"Retry-After": "6", "X-MBX-USED-WEIGHT-1M": "2400"})
    rig = rigs(AsyncGateway(client))

    rig.submit("r1", lookup(1))
    (reply,) = rig.pump(1)

    done = next(m for _, m in rig.sent if isinstance(m, WorkerDone))
    assert reply.failure.kind is FailureKind.TEMPORARY and reply.failure.retry_after_ms == 6000
    assert done.done == (("r1", RateUsage(2400, None, None, 429, -1003, 6000)),)


def test_on_exit_calls_in_flight_are_answered_and_the_loop_thread_ends(rigs):
    gw = HeldGateway()
    rig = rigs(gw, deadline_secs=5.0)
    rig.submit("r1", lookup(1))
    rig.submit("r2", lookup(2))
    wait_for(lambda: gw.entered == 2, 5, "both calls in flight")
    threading.Timer(0.1, gw.release.set).start()  # they finish while the worker exits
    thread = rig.w.io._thread

    rig.w.receiveMessage(ActorExitRequest(), None)

    assert sorted(r.request_id for r in rig.replies()) == ["r1", "r2"]
    assert all(r.failure is None for r in rig.replies())
    assert gw.closed and not thread.is_alive()
    late = rig.submit("r3", lookup(3))  # after the exit: refused, never started
    assert late is None and rig.replies()[-1].failure.kind is FailureKind.TEMPORARY


def test_on_exit_a_call_that_does_not_finish_within_its_deadline_is_answered_unknown(rigs):
    gw = HeldGateway()  # never released
    rig = rigs(gw, deadline_secs=0.3)
    rig.submit("stuck", lookup(1))
    wait_for(lambda: gw.entered == 1, 5, "the call in flight")
    thread = rig.w.io._thread

    rig.w.receiveMessage(ActorExitRequest(), None)

    (reply,) = rig.replies()
    assert reply.failure.kind is FailureKind.UNKNOWN_OUTCOME
    assert not thread.is_alive()


def test_after_a_failed_start_the_next_requests_open_one_client_between_them():
    import dataclasses as dc

    from actors.messages import ExchangeSettings, WorkerIdle, WorkerInit
    from venues.binance import BinanceUsdm

    opened: list[int] = []

    @dc.dataclass(frozen=True, slots=True)
    class Flaky(BinanceUsdm):
        async def open_async_gateway(self, environment: str, base_url: str | None,
                                     credentials: Any, timeout_ms: int) -> Any:
            opened.append(1)
            if len(opened) == 1:
                raise OSError("the venue is not up yet")
            gw = HeldGateway()
            gw.release.set()
            return gw

    sent: list[tuple[Any, Any]] = []
    w = ExchangeWorker()
    w.send = lambda to, msg: sent.append((to, msg))  # type: ignore[method-assign]
    w.watch_parent = lambda parent: None  # type: ignore[method-assign]
    try:
        w.receiveMessage(WorkerInit(ExchangeSettings(None, "simulator", "k", "s", "K", "S",
                                                     5000, venue=Flaky())), "pool")
        assert ("pool", WorkerIdle("warm-up", markets=None)) in sent
        for n in range(5):
            w.receiveMessage(ExchangeRequest(f"r{n}", lookup(n), "symbol"), "pool")
        fd = w.io.fileno()

        def replies() -> int:
            if select.select([fd], [], [], 0.05)[0]:
                w.receiveMessage(WatchMessage([fd]), None)
            return sum(isinstance(m, ExchangeReply) for _, m in sent)
        wait_for(lambda n: n == 5, 10, "5 replies", 0.0, sample=replies)

        assert len(opened) == 2  # the failed start, then one client for all five
        assert all(m.failure is None for _, m in sent if isinstance(m, ExchangeReply))
    finally:
        w.stop_io()
