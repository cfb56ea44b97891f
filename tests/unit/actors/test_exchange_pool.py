"""The exchange pool (actors/exchange_worker.py), driven without Thespian: its handlers are
called directly, sends and timers recorded, the clock faked. The worker's own tests are in
test_async_worker.py."""

from __future__ import annotations

import dataclasses
import itertools
import logging
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from thespian.actors import WakeupMessage

from actors.exchange_worker import ExchangePool
from actors.messages import (
    AccountLimits,
    CancelStop,
    ExchangeFailure,
    ExchangeReply,
    ExchangeRequest,
    ExchangeSettings,
    FailureKind,
    FetchLimits,
    FetchSymbol,
    LimitsRetry,
    PlaceStop,
    PoolInit,
    RateUsage,
    Started,
    WorkerIdle,
)
from venues.binance import BinanceUsdm

D = Decimal
SETTINGS = ExchangeSettings(None, "simulator", "key", "secret", "K", "S", 5000,
                            venue=BinanceUsdm())


def stop(n: int) -> PlaceStop:
    return PlaceStop("BTCUSDT", "SELL", D("0.010"), f"pg-1-BTCUSDT-sl-{n}", "STOP_MARKET",
                     D("58800"), "CONTRACT_PRICE")


class PoolHarness:
    """An ExchangePool with recorded sends/timers, fake workers w0.. and a settable clock."""

    def __init__(self, workers: int = 1, per_10s: int = 250, per_min: int = 1000,
                 deadline_secs: float = 30.0, in_flight: int = 1) -> None:
        self.now = 0.0
        self.sent: list[tuple[Any, Any]] = []
        self.timers: list[tuple[float, Any]] = []
        self.dead: set[int] = set()
        """Worker pids whose process is gone (what the pool's liveness check sees)."""
        self.ended: list[int] = []
        """Pids the pool SIGKILLed."""
        self.created: list[str] = []
        pool = ExchangePool()
        pool._myRef = SimpleNamespace(address="pool")  # what Thespian sets on a live actor
        names = itertools.count()
        pool.createActor = self._create  # type: ignore[method-assign]
        self._names = names
        pool.send = lambda to, msg: self.sent.append((to, msg))  # type: ignore[method-assign]
        pool.wakeupAfter = self._timer  # type: ignore[method-assign]
        pool.clock = lambda: self.now
        pool.alive = lambda pid: pid not in self.dead
        pool.end = self.ended.append
        self.pool = pool
        # One request per worker unless asked (the budget and dispatch tests are about order,
        # not capacity); test_exchange_pool_inflight.py gives workers room for many.
        settings = dataclasses.replace(SETTINGS, max_in_flight=in_flight)
        pool.receiveMsg_PoolInit(PoolInit(settings, workers, per_10s, per_min,
                                          deadline_secs=deadline_secs), "supervisor")
        for name in list(self.created):
            self.ready(name)
        # At start the pool asks for the exchange's limits: answer it, leaving ours in force.
        (worker, limits_req), = self.requests()
        self.idle(worker, None)
        pool.receiveMsg_ExchangeReply(ExchangeReply(limits_req.request_id, FetchLimits(),
                                                    AccountLimits(None, None, None), None),
                                      worker)
        self.sent.clear()

    def _timer(self, delay: timedelta, payload: Any = None) -> None:
        self.timers.append((delay.total_seconds(), payload))

    def _create(self, cls: Any) -> str:
        name = f"w{next(self._names)}"
        self.created.append(name)
        return name

    def pid(self, worker: str) -> int:
        """The pid the harness gives worker `wN`: 1000 + N."""
        return 1000 + int(worker[1:])

    def ready(self, worker: str) -> None:
        """The worker reports its pid, then that it warmed up."""
        self.pool.receiveMsg_Started(Started("exchange_worker", self.pid(worker)), worker)
        self.pool.receiveMsg_WorkerIdle(WorkerIdle("warm-up"), worker)

    def requests(self) -> list[tuple[Any, ExchangeRequest]]:
        """(worker, request) handed out since the last clear."""
        return [(to, m) for to, m in self.sent if isinstance(m, ExchangeRequest)]

    def submit(self, op: Any, rid: str) -> None:
        self.pool.receiveMsg_ExchangeRequest(ExchangeRequest(rid, op, "symbol"), "symbol")

    def idle(self, worker: str, usage: RateUsage | None, rid: str | None = None) -> None:
        """`worker` finished request `rid` (default: the oldest it holds)."""
        if rid is None:
            w = self.pool.workers.get(worker)
            rid = w.jobs[0][0].request_id if w is not None and w.jobs else "x"
        self.pool.receiveMsg_WorkerIdle(WorkerIdle(rid, usage), worker)

    def wake(self, at: float) -> None:
        self.now = at
        self.pool.receiveMsg_WakeupMessage(WakeupMessage(timedelta(0)), None)

    def sent_ids(self) -> list[str]:
        return [m.request_id for _, m in self.requests()]


def test_the_exchanges_published_limits_lower_the_configured_budget_at_start():
    h = PoolHarness(workers=1, per_10s=250, per_min=1000)
    pool = h.pool
    # (the harness answered with no limits; answer a second FetchLimits with real ones)
    pool.receiveMsg_ExchangeReply(ExchangeReply("l2", FetchLimits("retry"),
                                                AccountLimits(120, 600, 1200), None), "w0")

    assert pool.pacer.budget.limits == (120, 600) and pool.pacer.gauge.limit == 1200


def test_limits_that_could_not_be_read_keep_the_budget_and_are_asked_again_later(caplog):
    h = PoolHarness()
    failure = ExchangeFailure(FailureKind.TEMPORARY, None, "503")
    with caplog.at_level(logging.WARNING, "posguard.exchange"):
        h.pool.receiveMsg_ExchangeReply(ExchangeReply("l2", FetchLimits(), None, failure), "w0")

    assert h.pool.pacer.budget.limits == (250, 1000)
    assert (60, LimitsRetry()) in h.timers and "exchange limits not read" in caplog.text


def test_the_servers_order_count_reported_by_a_worker_holds_the_next_placement():
    # Arrange: another client of the account placed orders; our stop's reply says 250 / 10 s
    h = PoolHarness(workers=1)
    h.submit(stop(1), "stop-1")
    h.idle("w0", RateUsage(3, 250, 250))
    # Act
    h.submit(stop(2), "stop-2")
    # Assert: held (no request sent) with a timer for when the window has room
    assert h.sent_ids() == ["stop-1"]
    assert h.timers[-1][0] == pytest.approx(10.0)
    h.wake(10.0)
    assert h.sent_ids() == ["stop-1", "stop-2"]


def test_a_429_on_orders_holds_placements_for_retry_after_while_a_cancel_goes(caplog):
    h = PoolHarness(workers=1)
    h.submit(stop(1), "stop-1")
    with caplog.at_level(logging.WARNING, "posguard.exchange"):
        h.idle("w0", RateUsage(3, 300, 300, 429, -1015, 2500))
    h.submit(stop(2), "stop-2")
    h.submit(CancelStop("BTCUSDT", "1", "pg-1-BTCUSDT-sl-0"), "cancel")

    assert h.sent_ids() == ["stop-1", "cancel"]
    assert "HTTP 429, code -1015" in caplog.text and "2.5 s" in caplog.text
    h.idle("w0", RateUsage(4, None, None))
    h.wake(2.4)
    assert h.sent_ids() == ["stop-1", "cancel"]
    h.wake(2.5)
    assert h.sent_ids() == ["stop-1", "cancel", "stop-2"]


def test_a_418_holds_every_request_until_the_ban_ends_and_logs_an_alert(caplog):
    h = PoolHarness(workers=1)
    h.submit(FetchSymbol("BTCUSDT"), "fetch")
    with caplog.at_level(logging.WARNING, "posguard.exchange"):
        h.idle("w0", RateUsage(None, None, None, 418, None, 120_000))
    h.submit(CancelStop("BTCUSDT", "1", "pg-1-BTCUSDT-sl-0"), "cancel")
    h.submit(stop(2), "stop-2")

    assert h.sent_ids() == ["fetch"]
    alert = [r for r in caplog.records if r.message.startswith("ALERT")]
    assert alert and "418" in alert[0].message and alert[0].levelno == logging.CRITICAL
    h.wake(119.0)
    assert h.sent_ids() == ["fetch"]
    h.wake(120.0)
    assert h.sent_ids() == ["fetch", "stop-2"]  # one worker: the stop first (PROTECT lane)


def test_a_cancel_queued_behind_reads_goes_to_the_next_free_worker():
    h = PoolHarness(workers=1)
    h.submit(FetchSymbol("AUSDT"), "busy")
    for s in ("B", "C", "D"):
        h.submit(FetchSymbol(f"{s}USDT"), f"fetch-{s}")
    h.submit(CancelStop("BTCUSDT", "1", "pg-1-BTCUSDT-sl-0"), "cancel")

    h.idle("w0", RateUsage(50, None, None))

    assert h.sent_ids() == ["busy", "cancel"]


def test_a_timer_is_armed_again_only_when_something_may_go_earlier_than_the_pending_one():
    h = PoolHarness(workers=2)
    h.submit(stop(1), "stop-1")
    (worker, _), = h.requests()
    h.idle(worker, RateUsage(2100, 250, 250))  # placements wait 10 s, reads 60 s (weight)
    h.submit(stop(2), "stop-2")
    assert h.timers[-1][0] == pytest.approx(10.0)
    armed = len(h.timers)
    h.submit(FetchSymbol("ETHUSDT"), "fetch")  # waits longer: the pending timer will do
    assert len(h.timers) == armed
    # A fresher weight figure: reads are only spaced now, due within the pending 10 s
    h.pool.pacer.gauge.observe(h.now, 1500)
    h.submit(FetchSymbol("SOLUSDT"), "fetch-2")
    assert len(h.timers) == armed + 1 and 0 < h.timers[-1][0] < 10.0
