"""How the exchange pool (actors/exchange_worker.ExchangePool) hands requests to its workers:
protective work first, placements paced by the order budget, one request per worker at a
time, none to a worker before it is ready. Driven through the pool's own message handlers
with fake worker addresses and a fake clock (PoolHarness)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.messages import (
    CancelStop,
    ExchangeRequest,
    FetchSymbol,
    MoveGrant,
    MoveWanted,
    PlaceMarket,
    PlaceStop,
    RateUsage,
    Started,
    StopPurpose,
)
from tests.unit.actors.test_exchange_pool import PoolHarness, stop

D = Decimal


def open_order(n: int) -> PlaceMarket:
    return PlaceMarket("BTCUSDT", "BUY", D("0.010"), f"pg-1-BTCUSDT-op-{n}", reduce_only=False)


def close_order(n: int) -> PlaceMarket:
    return PlaceMarket("BTCUSDT", "SELL", D("0.010"), f"pg-1-BTCUSDT-cl-{n}", reduce_only=True)


def test_protective_work_queued_behind_reads_and_opens_goes_first_in_its_own_order():
    # Arrange: the only worker is busy; reads and an open queue up before a stop and a close
    h = PoolHarness(workers=1)
    h.submit(FetchSymbol("AUSDT"), "busy")
    h.submit(FetchSymbol("BUSDT"), "read")
    h.submit(open_order(1), "open")
    h.submit(stop(1), "stop")
    h.submit(close_order(2), "close")
    # Act: the worker becomes free four times
    for _ in range(4):
        h.idle("w0", None)
    # Assert
    assert h.sent_ids() == ["busy", "stop", "close", "read", "open"]


def test_a_busy_worker_is_never_given_a_second_request():
    h = PoolHarness(workers=2)
    for rid in ("r1", "r2", "r3"):
        h.submit(FetchSymbol("BTCUSDT"), rid)

    (first, r1), (second, r2) = h.requests()
    assert first != second and (r1.request_id, r2.request_id) == ("r1", "r2")
    h.sent.clear()
    h.idle(second, None, "r2")
    assert [(w, m.request_id) for w, m in h.requests()] == [(second, "r3")]
    h.sent.clear()
    h.submit(FetchSymbol("ETHUSDT"), "r4")  # both busy again: it waits
    assert h.requests() == []


def test_a_worker_gets_nothing_before_it_says_it_is_ready():
    h = PoolHarness(workers=1)
    h.pool.createActor = lambda cls: "w9"  # type: ignore[method-assign]
    h.pool._spawn()  # a replacement: it reports its pid but has not warmed up yet
    h.pool.receiveMsg_Started(Started("exchange_worker", 1009), "w9")
    h.submit(FetchSymbol("AUSDT"), "first")  # w0 takes it
    h.submit(FetchSymbol("BUSDT"), "second")

    assert [(w, m.request_id) for w, m in h.requests()] == [("w0", "first")]


def test_placements_beyond_the_order_budget_wait_for_the_window_while_reads_go():
    h = PoolHarness(workers=4, per_10s=2, per_min=100)
    h.submit(stop(1), "s1")
    h.submit(stop(2), "s2")
    h.submit(stop(3), "s3")
    h.submit(FetchSymbol("BTCUSDT"), "read")

    assert h.sent_ids() == ["s1", "s2", "read"]
    assert h.timers[-1][0] == pytest.approx(10.0)  # when s1 leaves the 10 s window
    for w, m in h.requests():
        h.idle(w, RateUsage(5, 2, 2), m.request_id)
    h.wake(9.9)
    assert h.sent_ids() == ["s1", "s2", "read"]
    h.wake(10.0)
    assert h.sent_ids() == ["s1", "s2", "read", "s3"]


def test_opens_leave_the_last_orders_of_a_window_to_stops_and_closes():
    # 10 per 10 s: a tenth (1 order) is kept for protection; opens may use 9
    h = PoolHarness(workers=12, per_10s=10, per_min=100)
    for n in range(10):
        h.submit(open_order(n), f"open-{n}")
    h.submit(CancelStop("BTCUSDT", "1", "pg-1-BTCUSDT-sl-0"), "cancel")  # not an order
    h.submit(stop(1), "stop")

    sent = h.sent_ids()
    assert sent[:9] == [f"open-{n}" for n in range(9)]
    assert "open-9" not in sent and {"cancel", "stop"} <= set(sent)


# --------------------------------------------------------------------------- the scheduler


def _move(n: int) -> PlaceStop:
    return PlaceStop("BTCUSDT", "SELL", D("0.010"), f"pg-1-BTCUSDT-sl-{n}", "STOP_MARKET",
                     D("60000"), "MARK_PRICE", purpose=StopPurpose.MOVE)


def test_a_move_over_the_budget_is_answered_deferred_and_granted_when_the_window_frees():
    # Arrange: 5 orders per 10 s, so moves may use 4; they are spent by first stops
    h = PoolHarness(workers=4, per_10s=5, per_min=100)
    for n in range(4):
        h.submit(stop(n), f"s{n}")
    for w, m in h.requests():
        h.idle(w, None, m.request_id)
    h.sent.clear()
    # Act: a move, with its requester asking for held notices
    h.pool.receiveMsg_ExchangeRequest(ExchangeRequest("mv", _move(9), "symbol",
                                                      held_notices=True), "symbol")
    # Assert: not sent to a worker, answered at once, and not vouched for any more
    assert h.requests() == []
    assert [(to, type(m).__name__) for to, m in h.sent] == [("symbol", "MoveDeferred")]
    assert "mv" not in h.pool.held
    # the symbol's latest urgency; the grant comes when the window lets a move go
    h.sent.clear()
    h.pool.receiveMsg_MoveWanted(MoveWanted("BTCUSDT", 12.5), "symbol")
    assert h.sent == []
    assert h.timers[-1][0] == pytest.approx(10.0)
    h.wake(10.0)
    assert h.sent == [("symbol", MoveGrant("BTCUSDT"))]
