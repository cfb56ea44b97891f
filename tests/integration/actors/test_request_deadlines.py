"""No exchange request waits forever (issue 13, part 3), in real actor processes.

A bare actor system (multiprocTCPBase, loopback, private port) runs the real exchange pool,
real workers (ccxt against the simulator) and, for the last test, a real symbol actor on a
real SQLite store. The test's `Parent` actor (pool_harness.py) stands in for the supervisor.
Workers are made busy by the simulator's timeout fault (the request is served and its reply
held), killed by the pids the pool reported, or left hanging past the pool's deadline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from actors.exchange_worker import ExchangePool
from actors.messages import (
    ExchangeSettings,
    FailureKind,
    Forward,
    LookupOrder,
    OpenPosition,
    PoolInit,
    StateQuery,
    SymbolInit,
    SymbolView,
)
from actors.protection import ProtectionPolicy
from persistence.factory import StoreFactory
from system import actor_system
from system.clock import SystemClock
from system.config import StoreTarget
from system.launched import pid_alive
from system.processes import kill, system_pids
from tests.fixtures.engine import free_port
from tests.integration.actors.pool_harness import (
    LosingPool,
    OneNoticePool,
    Parent,
    Query,
    Seen,
    StartPool,
    StartSymbol,
    StopPool,
    Submit,
)
from tests.waiting import wait_for
from venues.binance import BinanceUsdm
from venues.binance.adapter import CAPABILITIES

SYM = "BTCUSDT"
SHUTDOWN_SECS = 2.0
ASK = timedelta(seconds=5)
LOOKUP_PATH = "/fapi/v1/order"  # LookupOrder(algo=False) is GET /fapi/v1/order


@pytest.fixture
def bare_system(tmp_path, sim) -> Iterator[Any]:
    """A fresh actor system on a private loopback port; every process of it ends with the
    test (shutdown, then SIGKILL by pid of whatever is left). It stops before the simulator
    (`sim` is set up first): a worker starting up meanwhile would retry a vanished server."""
    port = free_port()
    actor_system.start("127.0.0.1", port, log_file=str(tmp_path / "actors.log"))
    asys = actor_system.connect("127.0.0.1", port)
    asys.port = port  # for system_pids()
    try:
        yield asys
    finally:
        # Measured: after Thespian missed a worker's death (one exit notice for two kills),
        # its shutdown of the pool waits until the admin gives up (10 s, then "No response to
        # Admin shutdown request"), with or without posguard's changes. Bound it; kill by pid.
        done = threading.Thread(target=_shutdown, args=(port,), daemon=True)
        done.start()
        done.join(SHUTDOWN_SECS)
        for pid in system_pids("127.0.0.1", port):
            kill(pid)
        wait_for(lambda left: not left, SHUTDOWN_SECS, "every process of the system to end",
                 sample=lambda: [p for p in system_pids("127.0.0.1", port) if pid_alive(p)])


def _shutdown(port: int) -> None:
    with contextlib.suppress(actor_system.ActorSystemError):
        actor_system.shutdown("127.0.0.1", port, timeout_secs=SHUTDOWN_SECS)


def settings(sim: Any, timeout_ms: int, in_flight: int = 64) -> ExchangeSettings:
    """`in_flight` 1: the tests whose requests must queue behind busy workers."""
    return ExchangeSettings(sim.url, "simulator", sim.settings.api_key, sim.settings.api_secret,
                            "UNUSED_KEY", "UNUSED_SECRET", timeout_ms, venue=BinanceUsdm(),
                            max_in_flight=in_flight)


def query(asys: Any, parent: Any) -> Seen:
    seen = asys.ask(parent, Query(), ASK)
    assert isinstance(seen, Seen), f"the Parent did not answer ({seen!r})"
    return seen


def wait_seen(asys: Any, parent: Any, pred: Callable[[Seen], Any], what: str,
              timeout_secs: float) -> Seen:
    return wait_for(pred, timeout_secs, what, sample=lambda: query(asys, parent))


def worker_pids(seen: Seen) -> list[int]:
    return [pid for kind, pid in seen.started if kind == "exchange_worker"]


def start_pool(asys: Any, pool_class: type, init: PoolInit) -> tuple[Any, Seen]:
    parent = asys.createActor(Parent)
    asys.ask(parent, StartPool(pool_class, init), ASK)
    seen = wait_seen(asys, parent, lambda s: len(worker_pids(s)) == init.workers,
                     "the workers' pids", 15)
    return parent, seen


def reply(seen: Seen, request_id: str) -> Any:
    return next((r for r in seen.replies if r.request_id == request_id), None)


def lookup(n: int) -> LookupOrder:
    return LookupOrder(SYM, f"pg-9-{SYM}-op-{n}", algo=False)


def hold_next_lookups(sim_control: Any, n: int, hold_ms: int) -> None:
    for _ in range(n):
        sim_control.timeout_next("GET", LOOKUP_PATH, hold_ms=hold_ms)


def wait_held(sim_control: Any, timeout_secs: float = 10) -> None:
    """Until the simulator has taken every queued fault: each request is inside its call."""
    wait_for(lambda queued: not queued, timeout_secs, "the held requests to reach the simulator",
             0.02, sample=lambda: sim_control.state()["faults"]["http"])


def test_two_busy_workers_killed_at_once_have_every_request_answered_and_new_ones_succeed(
        bare_system, sim, sim_control):
    # Arrange: both workers inside a held call, a third request queued behind them; the
    # pool hears of only the first death (as in the field)
    asys = bare_system
    parent, seen = start_pool(asys, OneNoticePool, PoolInit(settings(sim, 5000, 1), 2, 250,
                                                            1000, deadline_secs=30))
    first = worker_pids(seen)
    hold_next_lookups(sim_control, 2, hold_ms=20_000)
    for rid in ("busy-1", "busy-2", "queued"):
        asys.ask(parent, Submit(rid, lookup(len(rid))), ASK)
    wait_held(sim_control)

    # Act
    killed_at = time.monotonic()
    for pid in first:
        os.kill(pid, signal.SIGKILL)
    wait_seen(asys, parent, lambda s: reply(s, "busy-1") and reply(s, "busy-2"),
              "both lost requests answered", 8)
    answered_secs = time.monotonic() - killed_at
    # the queued one waits for a replacement (a ccxt import and a market load)
    wait_seen(asys, parent, lambda s: reply(s, "queued"), "the queued request answered", 15)
    asys.ask(parent, Submit("after", lookup(9)), ASK)
    seen = wait_seen(asys, parent, lambda s: reply(s, "after") and len(worker_pids(s)) >= 4,
                     "a new request answered, both replacements started", 8)

    # Assert: the lost calls have an unknown outcome; the rest ran on the replacements
    for rid in ("busy-1", "busy-2"):
        failure = reply(seen, rid).failure
        assert failure is not None and failure.kind is FailureKind.UNKNOWN_OUTCOME, failure
    assert reply(seen, "queued").failure is None and reply(seen, "after").failure is None
    # the pool's liveness sweep runs every 1 s (slack for a loaded 2-core box); the held
    # calls would have ended only after 20 s
    assert answered_secs < 5, answered_secs
    assert sorted(g.pid for g in seen.gone) == sorted(first), seen.gone
    now = worker_pids(seen)
    assert len(now) == 4 and all(pid_alive(p) for p in now[2:]), "exactly two replacements"
    assert len(seen.replies) == 4, "each request answered exactly once"


def test_a_worker_hanging_past_the_deadline_is_answered_unknown_killed_and_replaced(
        bare_system, sim, sim_control):
    # Arrange: one worker; its call is held far longer than the pool's deadline (ccxt's own
    # timeout is longer still, so only the deadline can end it)
    asys = bare_system
    parent, seen = start_pool(asys, ExchangePool, PoolInit(settings(sim, 20_000), 1, 250, 1000,
                                                           deadline_secs=1.5))
    (hung,) = worker_pids(seen)
    hold_next_lookups(sim_control, 1, hold_ms=15_000)

    # Act
    sent = time.monotonic()
    asys.ask(parent, Submit("hangs", lookup(1)), ASK)
    seen = wait_seen(asys, parent, lambda s: reply(s, "hangs"), "the hung request answered", 9)
    waited = time.monotonic() - sent
    asys.ask(parent, Submit("after", lookup(2)), ASK)
    seen = wait_seen(asys, parent, lambda s: reply(s, "after"), "a new request answered", 10)

    # Assert
    failure = reply(seen, "hangs").failure
    assert failure.kind is FailureKind.UNKNOWN_OUTCOME and "no reply within 1.5 s" in \
        failure.message, failure
    assert 1.5 <= waited < 8.0, waited  # deadline + <= 1 s sweep; the hold is 15 s
    assert not pid_alive(hung), "the hung worker was not ended"
    assert [g.pid for g in seen.gone] == [hung]
    assert reply(seen, "after").failure is None
    assert len(worker_pids(seen)) == 2 and len(seen.replies) == 2


def test_a_pool_asked_to_exit_answers_what_it_queued_and_starts_no_process(
        bare_system, sim, sim_control):
    # Arrange: its one worker inside a held call (ccxt gives up after 2 s, the read's retry
    # then succeeds), one request queued behind it
    asys = bare_system
    parent, seen = start_pool(asys, ExchangePool, PoolInit(settings(sim, 2000, 1), 1, 250,
                                                           1000))
    pool_pid = next(pid for kind, pid in seen.started if kind == "exchange_pool")
    hold_next_lookups(sim_control, 1, hold_ms=20_000)
    asys.ask(parent, Submit("busy", lookup(1)), ASK)
    wait_held(sim_control)
    asys.ask(parent, Submit("queued", lookup(2)), ASK)
    before = set(system_pids("127.0.0.1", asys.port))
    assert {pool_pid, *worker_pids(seen)} <= before

    # Act
    started = time.monotonic()
    asys.ask(parent, StopPool(), ASK)
    seen = wait_seen(asys, parent, lambda s: reply(s, "queued"), "the queued request", 2)
    born: set[int] = set()

    def pool_exited(seen: Seen) -> bool:
        # a worker started now would live >= 0.5 s (its parent check): polling sees it
        born.update(set(system_pids("127.0.0.1", asys.port)) - before)
        return "pool" in seen.exited

    seen = wait_for(pool_exited, 8 - (time.monotonic() - started), "the pool to exit",
                    sample=lambda: query(asys, parent))

    # Assert: never sent, so not unknown: the requester may retry it; the call in flight
    # finished on its worker; nothing was started, nothing outlived the pool
    failure = reply(seen, "queued").failure
    assert failure.kind is FailureKind.TEMPORARY and "stopping" in failure.message, failure
    assert reply(seen, "busy").failure is None
    assert born == set(), "processes were started while the pool was exiting"
    wait_for(lambda alive: not alive, 3, "the pool and its workers to end with the pool",
             sample=lambda: [p for p in [pool_pid, *worker_pids(seen)] if pid_alive(p)])


@pytest.fixture
def store(tmp_path) -> Iterator[tuple[StoreTarget, int]]:
    """A SQLite store with this test holding the instance lock: (target, epoch)."""
    from persistence.factory import open_instance
    target = StoreTarget("sqlite", str(tmp_path / "engine.sqlite3"), None, 5.0, 5000)
    lock, holder = open_instance(target, SystemClock())
    try:
        yield target, holder.epoch
    finally:
        lock.release()


def view(asys: Any, symbol_addr: Any) -> SymbolView:
    v = asys.ask(symbol_addr, StateQuery(SYM), ASK)
    assert isinstance(v, SymbolView), f"the symbol actor did not answer ({v!r})"
    return v


def wait_view(asys: Any, symbol_addr: Any, state: str, timeout_secs: float) -> SymbolView:
    return wait_for(lambda v: v.state == state, timeout_secs, state,
                    sample=lambda: view(asys, symbol_addr))


def test_a_stop_whose_reply_never_comes_is_looked_up_by_client_id_and_ends_protected_once(
        bare_system, sim, sim_control, store):
    # Arrange: a symbol actor on a pool that loses the reply to its first stop placement
    # (the stop does reach the exchange)
    asys = bare_system
    target, epoch = store
    sim_control.set_price(SYM, "60000")
    parent, _ = start_pool(asys, LosingPool, PoolInit(settings(sim, 5000), 2, 250, 1000))
    seen = asys.ask(parent, StartSymbol(SymbolInit(SYM, epoch, StoreFactory(target), None,
                                                   ProtectionPolicy(), request_deadline_secs=1.0,
                                                   clock=SystemClock(), venue=CAPABILITIES)), ASK)
    symbol = seen.symbol
    wait_view(asys, symbol, "FLAT", 10)

    # Act
    opened = time.monotonic()
    asys.tell(symbol, Forward(OpenPosition(SYM, "long", Decimal("0.010"), "cmd-lost"), parent))
    protected = wait_view(asys, symbol, "PROTECTED", 12)
    took = time.monotonic() - opened

    # Assert: declared unknown after 1 s, found by its client id, exactly one stop rests
    truth = sim_control.state()
    stops = [o for o in truth["open_algo_orders"] if o["symbol"] == SYM]
    assert [o["clientAlgoId"] for o in stops] == [protected.stop_client_id], stops
    assert protected.stop_order_id == str(stops[0]["algoId"])
    from persistence.factory import attach
    journal = attach(target, 0, SystemClock())
    try:
        rows = journal.journal(SYM)
    finally:
        journal.close()
    unknown = [r for r in rows if r.kind == "stop_outcome_unknown"]
    assert len(unknown) == 1 and "no reply within 1 s" in unknown[0].payload["error"], unknown
    placed = [r for r in rows if r.kind == "stop_placed"]
    assert len(placed) == 1 and placed[0].payload["source"] == "lookup", placed
    assert 1.0 <= took < 10.0, took
