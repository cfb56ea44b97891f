"""The exchange pool's budget status for the metrics (PoolStatus): what it counts against the
venue's own counters, pushed to the supervisor when it changes (actors/pacing.py,
actors/exchange_worker.py). Clock and sends faked (PoolHarness)."""

from __future__ import annotations

import os
from datetime import timedelta

from thespian.actors import WakeupMessage

from actors.messages import PoolStatus, PoolSweep, RateUsage
from actors.pacing import Pacer
from venues.binance.adapter import LIMITS
from tests.unit.actors.test_exchange_pool import PoolHarness, stop


def test_the_status_sets_our_orders_and_the_servers_readings_against_the_budget():
    p = Pacer(250, 1000, weight_limit=2400, limits=LIMITS)
    for t in (0.0, 1.0, 2.0):
        p.sent(stop(int(t)), t)
    # the server saw 5 orders in its 10 s window and 12 in the minute: others placed some too
    p.observe(stop(9), RateUsage(40, 5, 12), 2.5)

    st = p.status(3.0, queued=4, pid=321)

    assert (st.orders_limit_10s, st.orders_limit_1m) == (250, 1000)
    assert (st.orders_sent_10s, st.orders_sent_1m) == (3, 3)
    assert (st.server_orders_10s, st.server_orders_1m) == (5, 12)
    assert (st.orders_used_10s, st.orders_used_1m) == (5, 12)
    assert (st.server_weight_1m, st.weight_used_1m, st.weight_limit_1m) == (40, 40, 2400)
    assert (st.queued, st.paused_secs, st.pid) == (4, 0.0, 321)


def test_readings_older_than_their_window_are_no_longer_reported_and_a_429_shows_its_pause():
    p = Pacer(250, 1000, limits=LIMITS)
    p.sent(stop(1), 0.0)
    p.observe(stop(1), RateUsage(10, 1, 1), 0.5)
    p.observe(stop(2), RateUsage(None, None, None, http_status=429, code=-1015,
                                 retry_after_ms=30_000), 20.0)

    st = p.status(21.0, queued=0, pid=1)

    assert st.server_orders_10s is None and st.orders_sent_10s == 0, "a 10 s window old"
    assert (st.server_orders_1m, st.orders_sent_1m, st.orders_used_1m) == (1, 1, 1)
    assert st.paused_secs == 29.0

    late = p.status(61.0, queued=0, pid=1)
    assert (late.server_orders_1m, late.server_weight_1m, late.weight_used_1m) == (None,) * 3
    assert (late.orders_sent_1m, late.orders_used_1m) == (0, 0)


def _statuses(h: PoolHarness) -> list[PoolStatus]:
    return [m for to, m in h.sent if isinstance(m, PoolStatus) and to == "supervisor"]


def _sweep(h: PoolHarness, at: float) -> None:
    h.now = at
    h.pool.receiveMsg_WakeupMessage(WakeupMessage(timedelta(0), payload=PoolSweep()), None)


def test_the_pool_tells_the_supervisor_its_status_on_a_sweep_only_when_it_changed():
    h = PoolHarness(workers=1)
    _sweep(h, 1.0)
    (first,) = _statuses(h)
    assert first.orders_sent_10s == 0 and first.pid == os.getpid()

    _sweep(h, 2.0)
    assert len(_statuses(h)) == 1, "nothing changed: nothing sent"

    h.submit(stop(1), "stop-1")
    h.idle("w0", RateUsage(3, 7, 9), rid="stop-1")
    _sweep(h, 3.0)

    last = _statuses(h)[-1]
    assert len(_statuses(h)) == 2
    assert (last.orders_sent_10s, last.server_orders_10s, last.server_orders_1m) == (1, 7, 9)
