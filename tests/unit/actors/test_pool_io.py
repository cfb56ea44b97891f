"""The exchange pool with its I/O in its own process (exchange.workers: 0, actors/pool_io.py):
no worker actor, the event loop on a thread of the pool. Many requests in flight at once,
each answered once with its own rate usage taken in first, a loop that stops answering
abandoned with every request it held answered UNKNOWN_OUTCOME, and an exit that answers what
is in flight and joins the thread. Handlers called directly; the loop thread is real, the
venue's gateway a fake."""

from __future__ import annotations

import asyncio
import dataclasses
import select
import threading
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from thespian.actors import ActorExitRequest, ThespianWatch, WakeupMessage, WatchMessage

from actors.exchange_worker import ExchangePool
from actors.messages import (
    AccountLimits,
    ExchangeReply,
    ExchangeRequest,
    FailureKind,
    FetchLimits,
    LookupOrder,
    MarketsLoaded,
    PoolInit,
    PoolSweep,
    RateUsage,
    WorkerGone,
)
from actors.pool_io import LOCAL
from tests.unit.actors.test_exchange_pool import SETTINGS
from tests.waiting import wait_for
from venue.interface import Credentials, Outcome
from venues.binance import BinanceUsdm


class Held:
    """Lookups wait for `release` (set from the test thread); FetchLimits answers at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = 0
        self.closed = False

    async def warm_up(self) -> int:
        return 7

    async def run(self, op: Any) -> Outcome:
        if isinstance(op, FetchLimits):
            return Outcome(AccountLimits(None, None, None), None, None)
        self.entered += 1  # one loop thread: no lock needed
        while not self.release.is_set():
            await asyncio.sleep(0.005)
        n = int(op.client_id.rsplit("-", 1)[1])
        return Outcome(None, None, RateUsage(n, None, None))

    async def close(self) -> None:
        self.closed = True


@dataclass(frozen=True, slots=True)
class _Venue(BinanceUsdm):
    gateway: Any = None

    async def open_async_gateway(self, environment: str, base_url: str | None,
                                 credentials: Credentials, timeout_ms: int) -> Any:
        return self.gateway


class Rig:
    def __init__(self, gw: Held, deadline_secs: float = 30.0) -> None:
        self.now = 0.0
        self.sent: list[tuple[Any, Any]] = []
        pool = ExchangePool()
        pool._myRef = SimpleNamespace(address="pool")
        pool.send = lambda to, msg: self.sent.append((to, msg))  # type: ignore[method-assign]
        pool.wakeupAfter = lambda *a, **k: None  # type: ignore[method-assign]
        pool.clock = lambda: self.now
        pool.createActor = lambda cls: (_ for _ in ()).throw(  # type: ignore[method-assign]
            AssertionError("no worker actor in this mode"))
        settings = dataclasses.replace(SETTINGS, venue=_Venue(gw), max_in_flight=64)
        self.watch = pool.receiveMessage(PoolInit(settings, 0, 250, 1000,
                                                  deadline_secs=deadline_secs), "supervisor")
        self.pool = pool

    def pump_until(self, what: str, cond: Any, timeout: float = 10.0) -> None:
        def step() -> bool:
            io = self.pool.local_io
            if io is not None:
                ready, _, _ = select.select([io.fileno()], [], [], 0.05)
                if ready:
                    self.pool.receiveMessage(WatchMessage([io.fileno()]), None)
            return bool(cond())
        wait_for(lambda held: held, timeout, what, 0.0, sample=step)

    def replies(self, to: str = "symbol") -> list[ExchangeReply]:
        return [m for dest, m in self.sent if dest == to and isinstance(m, ExchangeReply)]

    def submit(self, n: int) -> Any:
        return self.pool.receiveMessage(ExchangeRequest(
            f"r{n}", LookupOrder("BTCUSDT", f"pg-1-BTCUSDT-sl-{n}", algo=False), "symbol"),
            "symbol")


def ready(rig: Rig) -> None:
    rig.pump_until("warm-up and the start's FetchLimits", lambda: any(
        isinstance(m, ExchangeReply) and isinstance(m.op, FetchLimits) for _, m in rig.sent))


def test_fifty_requests_in_flight_on_the_pools_own_loop_each_answered_once():
    gw = Held()
    rig = Rig(gw)
    try:
        ready(rig)
        assert isinstance(rig.watch, ThespianWatch)
        assert ("supervisor", MarketsLoaded(7)) in rig.sent

        for n in range(50):
            assert isinstance(rig.submit(n), ThespianWatch)
        rig.pump_until("50 calls inside the gateway at once", lambda: gw.entered == 50)
        assert rig.replies() == []
        gw.release.set()
        rig.pump_until("50 replies", lambda: len(rig.replies()) >= 50)

        assert sorted(r.request_id for r in rig.replies()) == sorted(f"r{n}" for n in range(50))
        assert all(r.failure is None for r in rig.replies())
        assert rig.pool.workers.in_flight() == []
    finally:
        gw.release.set()
        rig.pool.stop_local()


def test_a_loop_that_stops_answering_is_abandoned_its_requests_answered_unknown_once():
    gw = Held()  # never released: the loop "hangs" for the pool
    rig = Rig(gw, deadline_secs=20.0)
    try:
        ready(rig)
        for n in range(3):
            rig.submit(n)
        first = rig.pool.local_io

        rig.now = 20.0
        rig.pool.receiveMessage(WakeupMessage(timedelta(0), payload=PoolSweep()), None)

        answered = rig.replies()
        assert sorted(r.request_id for r in answered) == ["r0", "r1", "r2"]
        assert all(r.failure.kind is FailureKind.UNKNOWN_OUTCOME for r in answered)
        assert not any(isinstance(m, WorkerGone) for _, m in rig.sent)  # the pool lives on
        assert rig.pool.local_io is not None and rig.pool.local_io is not first
        assert [w.address for w in rig.pool.workers] == [LOCAL]
    finally:
        gw.release.set()
        rig.pool.stop_local()


def test_on_exit_the_calls_in_flight_are_answered_and_the_loop_thread_ends():
    gw = Held()
    rig = Rig(gw)
    ready(rig)
    rig.submit(1)
    rig.pump_until("the call in flight", lambda: gw.entered == 1)
    thread = rig.pool.local_io._thread
    threading.Timer(0.1, gw.release.set).start()

    rig.pool.receiveMessage(ActorExitRequest(), None)

    (reply,) = rig.replies()
    assert reply.request_id == "r1" and reply.failure is None
    assert gw.closed and not thread.is_alive() and rig.pool.local_io is None
