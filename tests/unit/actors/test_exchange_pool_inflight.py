"""The exchange pool (actors/exchange_worker.ExchangePool) with workers that hold many requests
at once (exchange.max_in_flight): the least-loaded worker with room gets the next request,
each completion frees one slot and brings that request's own rate usage, and a worker that
dies or hangs has every request it held answered UNKNOWN_OUTCOME exactly once. Driven through
the pool's handlers (PoolHarness: fake worker addresses, pids and clock)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from thespian.actors import ChildActorExited, WakeupMessage

from actors.messages import (
    ExchangeReply,
    FailureKind,
    FetchSymbol,
    PoolSweep,
    RateUsage,
    RequestHeld,
    WorkerGone,
)
from actors.workers import HUNG_GRACE_SECS, Worker, WorkerBook, worker_deadline_secs
from tests.unit.actors.test_exchange_pool import PoolHarness, stop


def replies(h: PoolHarness) -> list[ExchangeReply]:
    return [m for _, m in h.sent if isinstance(m, ExchangeReply)]


def sweep(h: PoolHarness, at: float) -> None:
    h.now = at
    h.pool.receiveMsg_WakeupMessage(WakeupMessage(timedelta(0), payload=PoolSweep()), None)


def placed_on(h: PoolHarness) -> list[tuple[Any, str]]:
    return [(w, m.request_id) for w, m in h.requests()]


def test_requests_go_to_the_least_loaded_worker_until_every_worker_is_full():
    h = PoolHarness(workers=2, in_flight=3)

    for n in range(7):
        h.submit(FetchSymbol(f"S{n}USDT"), f"r{n}")

    placed = placed_on(h)
    assert [rid for _, rid in placed] == [f"r{n}" for n in range(6)]
    workers = [w for w, _ in placed]
    assert all(a != b for a, b in zip(workers, workers[1:])), workers  # alternating
    assert sorted(workers) == ["w0"] * 3 + ["w1"] * 3
    assert len(h.pool.queue) == 1  # r6 waits: both workers hold 3


def test_each_completion_frees_one_slot_and_the_waiting_request_takes_it():
    h = PoolHarness(workers=1, in_flight=2)
    for rid in ("a", "b", "c"):
        h.submit(FetchSymbol("BTCUSDT"), rid)
    assert [rid for _, rid in placed_on(h)] == ["a", "b"]

    h.idle("w0", None, "b")  # the second finished first

    assert [rid for _, rid in placed_on(h)] == ["a", "b", "c"]
    assert [r.request_id for r in h.pool.workers.in_flight()] == ["a", "c"]


def test_the_rate_usage_of_each_completion_is_what_paces_the_next_placement():
    # Two placements in flight; the first one back says the 10 s window is full
    h = PoolHarness(workers=1, in_flight=4)
    h.submit(stop(1), "s1")
    h.submit(stop(2), "s2")
    h.idle("w0", RateUsage(3, 250, 250), "s2")

    h.submit(stop(3), "s3")

    assert [rid for _, rid in placed_on(h)] == ["s1", "s2"]  # s3 held by the counters


def test_a_dead_worker_has_every_request_it_held_answered_unknown_once_and_is_replaced():
    h = PoolHarness(workers=2, in_flight=8)
    for n in range(6):
        h.submit(stop(n), f"s{n}")
    on_w0 = [rid for w, rid in placed_on(h) if w == "w0"]
    h.dead.add(h.pid("w0"))

    h.pool.receiveMsg_ChildActorExited(ChildActorExited("w0"), None)
    sweep(h, 1.0)  # the sweep finds it dead too: nothing is answered twice
    h.idle("w0", None, on_w0[0])  # a last completion racing its death: ignored

    answered = replies(h)
    assert sorted(r.request_id for r in answered) == sorted(on_w0) and len(on_w0) == 3
    assert all(r.failure.kind is FailureKind.UNKNOWN_OUTCOME for r in answered)
    assert [m.pid for _, m in h.sent if isinstance(m, WorkerGone)] == [h.pid("w0")]
    assert h.created == ["w0", "w1", "w2"]
    on_w1 = [rid for w, rid in placed_on(h) if w == "w1"]
    assert sorted(r.request_id for r in h.pool.workers.in_flight()) == sorted(on_w1)


def test_a_worker_holding_a_request_past_the_pools_deadline_is_ended_with_all_it_held():
    # The worker's own deadline answers a slow call; this one never answered: its loop hangs
    h = PoolHarness(workers=1, in_flight=8, deadline_secs=20.0)
    h.submit(stop(1), "old")
    h.now = 15.0
    h.submit(stop(2), "young")

    sweep(h, 20.0)

    assert sorted(r.request_id for r in replies(h)) == ["old", "young"]
    assert all(r.failure.kind is FailureKind.UNKNOWN_OUTCOME for r in replies(h))
    assert h.ended == [h.pid("w0")] and h.created == ["w0", "w1"]


def test_every_request_a_worker_holds_is_vouched_for():
    h = PoolHarness(workers=1, in_flight=8)
    from actors.messages import ExchangeRequest
    for rid in ("a", "b", "c"):
        h.pool.receiveMsg_ExchangeRequest(ExchangeRequest(rid, stop(1), "symbol",
                                                          held_notices=True), "symbol")

    sweep(h, 2.5)

    held = [m for _, m in h.sent if isinstance(m, RequestHeld)]
    assert sorted((m.request_id, m.queued) for m in held) == [
        ("a", False), ("b", False), ("c", False)]


def test_the_book_finishes_the_request_named_not_just_any():
    book = WorkerBook()
    w: Worker = book.add("w0", 0.0, capacity=3)
    w.pid, w.ready = 1, True
    from actors.messages import ExchangeRequest
    reqs = [ExchangeRequest(f"r{n}", stop(n), "symbol") for n in range(3)]
    for n, r in enumerate(reqs):
        book.assign(w, r, float(n))

    assert book.finished(w, "r1") is reqs[1]
    assert book.finished(w, "warm-up") is None
    assert w.requests == [reqs[0], reqs[2]] and book.free() == [w]
    assert book.overdue(10.0, 10.0) == [w] and book.overdue(9.9, 10.0) == []


def test_the_pools_default_deadline_leaves_the_worker_time_to_answer_its_own():
    h = PoolHarness(workers=1, deadline_secs=0.0)  # 0: derived from the request timeout

    timeout_ms = h.pool.init.settings.timeout_ms
    assert h.pool.deadline_secs == worker_deadline_secs(timeout_ms) + HUNG_GRACE_SECS


def test_one_worker_done_frees_every_slot_it_names():
    from actors.messages import WorkerDone
    h = PoolHarness(workers=1, in_flight=3)
    for rid in ("a", "b", "c", "d", "e"):
        h.submit(FetchSymbol("BTCUSDT"), rid)
    assert [rid for _, rid in placed_on(h)] == ["a", "b", "c"]

    h.pool.receiveMsg_WorkerDone(WorkerDone((("c", RateUsage(40, None, None)),
                                             ("a", RateUsage(41, None, None)))), "w0")

    assert [rid for _, rid in placed_on(h)] == ["a", "b", "c", "d", "e"]
    assert [r.request_id for r in h.pool.workers.in_flight()] == ["b", "d", "e"]


def test_a_worker_done_from_a_worker_already_replaced_changes_nothing():
    from actors.messages import WorkerDone
    h = PoolHarness(workers=1, in_flight=3)
    h.submit(stop(1), "s1")
    h.dead.add(h.pid("w0"))
    sweep(h, 1.0)

    h.pool.receiveMsg_WorkerDone(WorkerDone((("s1", RateUsage(1, 1, 1)),)), "w0")

    assert [r.request_id for r in replies(h)] == ["s1"]  # the pool's UNKNOWN_OUTCOME, once
