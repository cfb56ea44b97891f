"""Many exchange requests in flight at once through ONE worker process (issue 15), for real:
a bare actor system (multiprocTCPBase, loopback), the real pool and worker (ccxt.async_support
against the simulator). Concurrency is proved by the simulator's timeout fault, not by a
clock: each held request is served but its reply withheld for HOLD_MS, so a request that
reached the simulator cannot be answered before the hold ends. All 50 faults taken while no
reply has come back means 50 requests were inside the venue at the same moment; a worker
with one call at a time would take one fault per HOLD_MS."""

from __future__ import annotations

from typing import Any

import pytest

from actors.exchange_worker import ExchangePool
from actors.messages import LookupOrder, PoolInit
from tests.integration.actors.test_request_deadlines import (  # noqa: F401 - the fixture
    ASK,
    LOOKUP_PATH,
    SYM,
    Submit,
    bare_system,
    query,
    settings,
    start_pool,
    wait_seen,
    worker_pids,
)
from tests.waiting import wait_for

N = 50
HOLD_MS = 8_000
"""Far longer than it takes to send 50 requests even on a loaded 2-core box."""


def lookup(n: int) -> LookupOrder:
    return LookupOrder(SYM, f"pg-9-{SYM}-op-{n}", algo=False)


@pytest.mark.parametrize("workers", [1, 0], ids=["one worker", "in the pool"])
def test_fifty_requests_are_in_flight_at_once_in_one_process_and_all_complete(
        bare_system, sim, sim_control, workers):
    # Arrange: one worker, or the pool's own loop (workers: 0); ccxt's timeout outlasts the
    # hold (so the hold, not ccxt, ends it)
    asys: Any = bare_system
    parent, seen = start_pool(asys, ExchangePool, PoolInit(settings(sim, 30_000, 64), workers,
                                                           250, 1000))
    if workers == 0:
        seen = wait_seen(asys, parent, lambda s: "MarketsLoaded" in s.other,
                         "the pool's client warmed up", 30)
    started = worker_pids(seen)
    for _ in range(N):
        sim_control.timeout_next("GET", LOOKUP_PATH, hold_ms=HOLD_MS)

    # Act
    for n in range(N):
        asys.tell(parent, Submit(f"r{n}", lookup(n)))
    wait_for(lambda queued: not queued, HOLD_MS / 1000 * 0.75,
             "all 50 held requests to reach the simulator", 0.05,
             sample=lambda: sim_control.state()["faults"]["http"])
    at_once = query(asys, parent)

    # Assert: inside the venue together, none answered yet; then every one answered (its
    # aborted connection is a read's network error: retried once, the order is unknown)
    assert at_once.replies == (), [r.request_id for r in at_once.replies]
    done = wait_seen(asys, parent, lambda s: len(s.replies) >= N, "all 50 answered",
                     HOLD_MS / 1000 + 20)
    assert sorted(r.request_id for r in done.replies) == sorted(f"r{n}" for n in range(N))
    assert all(r.failure is None and r.result is None for r in done.replies), \
        [r.failure for r in done.replies if r.failure is not None][:3]
    assert worker_pids(done) == started and len(started) == workers  # one process did it all
    assert done.gone == ()


def test_a_pool_doing_its_own_io_answers_its_call_in_flight_when_asked_to_exit(
        bare_system, sim, sim_control):
    # Arrange: the pool's loop inside a held call (ccxt gives up after 2 s, the read's retry
    # then succeeds)
    from system.launched import pid_alive
    from tests.integration.actors.test_request_deadlines import StopPool, reply, wait_held
    asys: Any = bare_system
    parent, _ = start_pool(asys, ExchangePool, PoolInit(settings(sim, 2000), 0, 250, 1000))
    seen = wait_seen(asys, parent, lambda s: "MarketsLoaded" in s.other,
                     "the pool's client warmed up", 30)
    pool_pid = next(pid for kind, pid in seen.started if kind == "exchange_pool")
    sim_control.timeout_next("GET", LOOKUP_PATH, hold_ms=20_000)
    asys.ask(parent, Submit("busy", lookup(1)), ASK)
    wait_held(sim_control)

    # Act
    asys.ask(parent, StopPool(), ASK)
    seen = wait_seen(asys, parent, lambda s: "pool" in s.exited, "the pool to exit", 15)

    # Assert: answered by the pool's own loop before it went; nothing left running
    answer = reply(seen, "busy")
    assert answer is not None and answer.failure is None, answer
    wait_for(lambda alive: not alive, 5, "the pool's process to end",
             sample=lambda: pid_alive(pool_pid))
