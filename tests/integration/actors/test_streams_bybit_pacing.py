"""The exchange pool paces Bybit by Bybit's own windows, for real: a bare actor system
(multiprocTCPBase, loopback), the real pool and worker with the real Bybit adapter
(ccxt.async_support.bybit) against the simulator's Bybit front, whose per-endpoint limit of
10 requests per second per account answers retCode 10006 past it. ccxt's own throttle lets
about 20 cancels a second through (rateLimit 20 ms x cost 2.5: bybit-linear.md "Rate
limits"), so a burst of cancels reaches the venue's limit unless the pool holds them to it.
(Named test_streams_* for the STREAMS assignment's test set; it tests the pool.)"""

from __future__ import annotations

import dataclasses
import time
from decimal import Decimal as D
from typing import Any

import hypothesis  # noqa: F401 - see below
import pytest

from actors.exchange_worker import ExchangePool
from actors.messages import (
    CancelStop,
    ExchangeSettings,
    PlaceMarket,
    PlaceStop,
    PoolInit,
    StopPurpose,
)
from tests.fixtures.sim import BYBIT_TEST_SETTINGS
from tests.integration.actors.test_request_deadlines import Submit, start_pool, wait_seen
from tests.integration.actors.test_streams_bybit import bybit_system  # noqa: F401 - fixture
from venue.requests import AmendStop

# hypothesis is imported up front: run alone, this module otherwise ends in pytest's terminal
# summary with "SystemError: AST constructor recursion depth mismatch" (CPython 3.11.7, the
# hypothesis plugin importing it lazily under assertion rewriting after output capture; not
# with -s, not in a session that imported it at collection; the tests themselves pass).
N = 30
LIMIT_PER_SEC = 10


@pytest.fixture
def bybit_settings():
    """The simulator's Bybit front with Bybit's order-endpoint limit (10/s) in force."""
    return dataclasses.replace(BYBIT_TEST_SETTINGS, bybit_order_limit_per_sec=LIMIT_PER_SEC)


def bybit_exchange(sim: Any, venue: Any = None) -> ExchangeSettings:
    import venues
    s = sim.settings
    return ExchangeSettings(sim.url, "simulator", s.api_key, s.api_secret, "UNUSED_KEY",
                            "UNUSED_SECRET", 5_000,
                            venue=venues.adapter("bybit") if venue is None else venue)


def burst(asys: Any, sim: Any, workers: int, venue: Any = None) -> tuple[Any, float]:
    """30 cancels of stops that do not rest, at once, through a new pool; (seen, secs)."""
    parent, _ = start_pool(asys, ExchangePool, PoolInit(bybit_exchange(sim, venue), workers,
                                                        250, 1000))
    wait_seen(asys, parent, lambda s: "MarketsLoaded" in s.other or s.started,
              "the pool started", 30)
    began = time.monotonic()
    for n in range(N):
        asys.tell(parent, Submit(f"c{n}", CancelStop("BTCUSDT", None, f"pg-9-BTCUSDT-sl-{n}")))
    done = wait_seen(asys, parent, lambda s: len(s.replies) >= N and s, "every cancel answered",
                     30)
    return done, time.monotonic() - began


def refused_for_rate(seen: Any) -> list[Any]:
    return [r.failure for r in seen.replies if r.failure is not None and r.failure.code == 10006]


@pytest.mark.parametrize("workers", [0, 1], ids=["in the pool", "one worker"])
def test_a_burst_of_cancels_is_held_to_bybits_ten_a_second_and_none_is_refused_for_rate(
        bybit_system, bybit_sim, workers):
    # Arrange / Act: the budget as configured for Binance (250 / 1000): the venue's ceiling
    # and its cancel window must hold the pool to Bybit's limits anyway
    done, took = burst(bybit_system, bybit_sim, workers)

    # Assert: every one reached the venue and was answered for what it was (not resting:
    # already gone, None), none refused for rate; 30 at 10 a second take over two seconds
    assert refused_for_rate(done) == [], refused_for_rate(done)[:3]
    assert len(done.replies) == N
    assert [r.failure for r in done.replies if r.failure is not None] == []
    assert all(r.result is None for r in done.replies)
    assert took >= (N / LIMIT_PER_SEC) - 1 - 0.2, took


def test_without_the_cancel_window_the_same_burst_is_refused_for_rate(bybit_system, bybit_sim):
    # The control: the simulator's limit is real, and ccxt's own throttle does not keep a
    # burst under it.
    from tests.integration.actors.stream_harness import UnpacedCancelsBybit
    done, _ = burst(bybit_system, bybit_sim, 0, UnpacedCancelsBybit())
    assert refused_for_rate(done), "some cancels should have met 10006"


def test_creates_and_amends_share_one_budget_of_ten_a_second_and_none_is_refused(
        bybit_system, bybit_sim):
    # Arrange: a long position and its resting conditional stop
    asys = bybit_system
    parent, _ = start_pool(asys, ExchangePool, PoolInit(bybit_exchange(bybit_sim), 0,
                                                        250, 1000))
    asys.tell(parent, Submit("open", PlaceMarket("BTCUSDT", "BUY", D("0.100"),
                                                 "pg-9-BTCUSDT-op-0", reduce_only=False)))
    wait_seen(asys, parent, lambda s: len(s.replies) >= 1 and s, "the open answered", 30)
    asys.tell(parent, Submit("stop", PlaceStop("BTCUSDT", "SELL", D("0.100"),
                                               "pg-9-BTCUSDT-sl-1", "STOP_MARKET", D("50000"),
                                               "MARK_PRICE")))
    seen = wait_seen(asys, parent, lambda s: len(s.replies) >= 2 and s, "the stop placed", 30)
    stop = next(r for r in seen.replies if r.request_id == "stop")
    assert stop.failure is None, stop.failure
    algo_id = stop.result.order_id

    # Act: 12 more opens and 12 amends of the stop (a resize each: qty and trigger), at once.
    # The venue would take 10 creates AND 10 amends a second; the one shared budget, 10.
    began = time.monotonic()
    for n in range(12):
        asys.tell(parent, Submit(f"o{n}", PlaceMarket("BTCUSDT", "BUY", D("0.001"),
                                                      f"pg-9-BTCUSDT-op-{n + 1}",
                                                      reduce_only=False)))
        asys.tell(parent, Submit(f"a{n}", AmendStop("BTCUSDT", algo_id, "pg-9-BTCUSDT-sl-1",
                                                    D(50000 + n), D("0.100") + D("0.001") * n,
                                                    purpose=StopPurpose.RESIZE)))
    done = wait_seen(asys, parent, lambda s: len(s.replies) >= 26 and s, "every order answered",
                     30)
    took = time.monotonic() - began

    # Assert: none refused for rate, every amend moved the one resting stop, and 24 orders
    # at 10 a second (less the opens' reserve) took more than two seconds
    assert refused_for_rate(done) == [], refused_for_rate(done)[:3]
    amends = [r for r in done.replies if r.request_id.startswith("a")]
    assert [r.failure for r in amends if r.failure is not None] == []
    assert {r.result.order_id for r in amends} == {algo_id}
    assert took >= 24 / LIMIT_PER_SEC - 1 - 0.2, took
