"""Unit tests for the account-wide order budget (actors/exchange_worker.OrderBudget)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.exchange_worker import OrderBudget
from venues.binance.adapter import LIMITS


def sent_at(budget: OrderBudget, *times: float) -> OrderBudget:
    for t in times:
        budget.record(t)
    return budget


def test_an_empty_budget_lets_an_order_go_now():
    assert OrderBudget(3, 10, LIMITS.order_windows_secs).wait_secs(0.0) == 0.0


def test_below_both_limits_nothing_waits():
    budget = sent_at(OrderBudget(3, 10, LIMITS.order_windows_secs), 0.0, 1.0)
    assert budget.wait_secs(2.0) == 0.0


def test_the_10s_window_full_waits_until_its_oldest_order_leaves_it():
    # Arrange: 3 orders at 0, 1 and 2 s fill a budget of 3 per 10 s
    budget = sent_at(OrderBudget(3, 10, LIMITS.order_windows_secs), 0.0, 1.0, 2.0)
    # Act / Assert: at 4 s the order sent at 0 s leaves the window at 10 s
    assert budget.wait_secs(4.0) == pytest.approx(6.0)
    assert budget.wait_secs(9.5) == pytest.approx(0.5)
    assert budget.wait_secs(10.0) == 0.0


def test_the_60s_window_full_waits_for_its_oldest_order_even_when_the_10s_window_is_free():
    # Arrange: 4 per minute used up by orders spread 15 s apart (never 2 within 10 s)
    budget = sent_at(OrderBudget(2, 4, LIMITS.order_windows_secs), 0.0, 15.0, 30.0, 45.0)
    # Act / Assert: the 10 s window holds one order; the minute is full until 60 s
    assert budget.wait_secs(50.0) == pytest.approx(10.0)
    assert budget.wait_secs(60.0) == 0.0


def test_when_both_windows_are_full_the_longer_wait_wins():
    budget = sent_at(OrderBudget(2, 3, LIMITS.order_windows_secs), 0.0, 30.0, 31.0)
    # 10 s window: 30 and 31 -> free at 40; 60 s window: 0, 30, 31 -> free at 60
    assert budget.wait_secs(35.0) == pytest.approx(25.0)
    budget = sent_at(OrderBudget(2, 3, LIMITS.order_windows_secs), 0.0, 55.0, 56.0)
    # 10 s window: free at 65; 60 s window: the order at 0 leaves at 60
    assert budget.wait_secs(57.0) == pytest.approx(8.0)


def test_asking_does_not_use_the_budget_only_recording_does():
    budget = OrderBudget(1, 10, LIMITS.order_windows_secs)
    for _ in range(5):
        assert budget.wait_secs(0.0) == 0.0
    budget.record(0.0)
    assert budget.wait_secs(0.0) == pytest.approx(10.0)


def test_orders_older_than_a_minute_are_forgotten():
    budget = sent_at(OrderBudget(100, 3, LIMITS.order_windows_secs), 0.0, 1.0, 2.0)
    assert budget.wait_secs(61.5) == 0.0
    assert len(budget._sent) == 1  # only the order at 2.0 s is still within 60 s of 61.5 s


@given(per_10s=st.integers(1, 6), per_min=st.integers(1, 15),
       arrivals=st.lists(st.floats(0, 120, allow_nan=False), min_size=1, max_size=60))
def test_every_order_is_sent_eventually_and_no_window_ever_holds_more_than_its_limit(
        per_10s, per_min, arrivals):
    # Arrange: orders arrive at random times; a sender waits wait_secs before each one,
    # as the exchange pool does (it re-arms a timer, it never drops a request). Its timer has
    # microsecond resolution (timedelta), so a wait of a few float ulps still moves time on.
    budget = OrderBudget(per_10s, per_min, LIMITS.order_windows_secs)
    sent: list[float] = []
    now = 0.0
    # Act
    for arrival in sorted(arrivals):
        now = max(now, arrival)
        while (wait := budget.wait_secs(now)) > 0:
            now += max(wait, 1e-6)
        budget.record(now)
        sent.append(now)
    # Assert: never drops, and both sliding windows hold
    assert len(sent) == len(arrivals)
    for t in sent:
        assert sum(1 for u in sent if t <= u < t + 10.0 - 1e-9) <= per_10s
        assert sum(1 for u in sent if t <= u < t + 60.0 - 1e-9) <= per_min
