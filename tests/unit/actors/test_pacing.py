"""The exchange pool's pacing (actors/pacing.py): what the venue reports, on a fake clock.

Every test drives the pure Pacer / OrderBudget / WeightGauge with hand-made RateUsage values
(the counters a worker reads from ccxt's last_response_headers) and explicit times in seconds.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.messages import (
    AccountLimits,
    CancelStop,
    FetchLimits,
    FetchPositions,
    FetchSymbol,
    LookupOrder,
    PlaceMarket,
    PlaceStop,
    RateUsage,
)
from actors.pacing import (
    DEFAULT_RETRY_AFTER_SECS,
    OrderBudget,
    Pacer,
    Scope,
    WeightGauge,
    is_protective,
)
from venues.binance.adapter import LIMITS

D = Decimal
STOP = PlaceStop("BTCUSDT", "SELL", D("0.010"), "pg-1-BTCUSDT-sl-2", "STOP_MARKET", D("58800"),
                 "CONTRACT_PRICE")
OPEN = PlaceMarket("BTCUSDT", "BUY", D("0.010"), "pg-1-BTCUSDT-op-1", reduce_only=False)
CLOSE = PlaceMarket("BTCUSDT", "SELL", D("0.010"), "pg-1-BTCUSDT-cl-3", reduce_only=True)
CANCEL = CancelStop("BTCUSDT", "4000000001", "pg-1-BTCUSDT-sl-2")
LOOKUP = LookupOrder("BTCUSDT", "pg-1-BTCUSDT-sl-2", algo=True)
FETCH = FetchSymbol("BTCUSDT")


def usage(weight: int | None = None, o10: int | None = None, o1m: int | None = None,
          status: int | None = None, code: int | None = None,
          retry_after_ms: int | None = None) -> RateUsage:
    return RateUsage(weight, o10, o1m, status, code, retry_after_ms)


# --------------------------------------------------------------------------- order budget


def test_orders_the_server_counted_but_we_did_not_send_use_up_the_budget():
    # Arrange: another client of the account placed 10 orders; our first response says so
    budget = OrderBudget(10, 100, LIMITS.order_windows_secs)
    # Act
    budget.observe(0.0, count_10s=10, count_1m=10)
    # Assert: nothing may go until those orders leave the 10 s window
    assert budget.wait_secs(0.5) == pytest.approx(9.5)
    assert budget.wait_secs(10.0) == 0.0


def test_our_own_orders_are_not_counted_twice_when_the_server_reports_them():
    budget = OrderBudget(3, 100, LIMITS.order_windows_secs)
    budget.record(0.0)
    budget.record(1.0)
    budget.observe(1.0, count_10s=2, count_1m=2)  # exactly ours: nobody else's
    assert budget.wait_secs(1.0) == 0.0
    budget.record(1.5)
    assert budget.wait_secs(2.0) == pytest.approx(8.0)  # our order at 0 s leaves at 10 s


def test_a_newer_lower_count_replaces_an_older_one():
    budget = OrderBudget(10, 100, LIMITS.order_windows_secs)
    budget.observe(0.0, count_10s=10, count_1m=10)
    budget.observe(5.0, count_10s=3, count_1m=10)  # the server's window moved on
    assert budget.wait_secs(5.0) == 0.0


def test_the_servers_minute_count_holds_orders_for_the_minute():
    budget = OrderBudget(100, 20, LIMITS.order_windows_secs)
    budget.observe(0.0, count_10s=0, count_1m=20)
    assert budget.wait_secs(15.0) == pytest.approx(45.0)


def test_a_reserve_keeps_the_last_orders_of_the_window_for_protective_work():
    budget = OrderBudget(10, 100, LIMITS.order_windows_secs)
    for t in range(9):
        budget.record(float(t) / 10)
    assert budget.wait_secs(1.0, reserve=1) > 0  # an open waits: one slot is kept
    assert budget.wait_secs(1.0) == 0.0           # a stop may take it


def test_limits_can_be_lowered_after_start():
    budget = OrderBudget(10, 100, LIMITS.order_windows_secs)
    budget.record(0.0)
    budget.record(0.1)
    budget.set_limits(2, 100)
    assert budget.wait_secs(0.2) == pytest.approx(9.8)


# --------------------------------------------------------------------------- 429 / 418


def test_a_429_on_orders_holds_placements_for_retry_after_but_not_cancels_or_reads():
    pacer = Pacer(250, 1000, limits=LIMITS)
    # Act: a stop placement was refused: -1015, Retry-After 3 s
    throttled = pacer.observe(STOP, usage(o10=300, status=429, code=-1015,
                                          retry_after_ms=3000), 100.0)
    # Assert
    assert throttled is not None and throttled.scope is Scope.ORDERS
    assert pacer.wait_secs(STOP, 100.0) == pytest.approx(3.0)
    assert pacer.wait_secs(OPEN, 101.0) == pytest.approx(2.0)
    assert pacer.wait_secs(CANCEL, 100.0) == 0.0
    assert pacer.wait_secs(FETCH, 100.0) == 0.0
    assert pacer.wait_secs(STOP, 103.0) == 0.0


def test_a_429_on_request_weight_holds_every_request_for_retry_after():
    pacer = Pacer(250, 1000, limits=LIMITS)
    throttled = pacer.observe(FETCH, usage(weight=2400, status=429, code=-1003,
                                           retry_after_ms=7000), 10.0)
    assert throttled is not None and throttled.scope is Scope.ALL
    for op in (STOP, OPEN, CANCEL, LOOKUP, FETCH):
        assert pacer.wait_secs(op, 10.0) == pytest.approx(7.0), op
    assert pacer.wait_secs(CANCEL, 17.0) == 0.0


def test_a_418_holds_every_request_until_the_ban_ends_and_says_it_is_a_ban():
    pacer = Pacer(250, 1000, limits=LIMITS)
    throttled = pacer.observe(LOOKUP, usage(status=418, retry_after_ms=120_000), 0.0)
    assert throttled is not None and throttled.banned and throttled.scope is Scope.ALL
    assert pacer.wait_secs(CANCEL, 119.0) == pytest.approx(1.0)
    assert pacer.wait_secs(STOP, 120.0) == 0.0


def test_refusals_without_retry_after_back_off_doubling_until_a_reply_is_not_refused():
    pacer = Pacer(250, 1000, limits=LIMITS)
    for n, expected in enumerate([1.0, 2.0, 4.0, 8.0], start=1):
        pacer.observe(STOP, usage(status=429, code=-1003), 100.0 * n)
        assert pacer.wait_secs(CANCEL, 100.0 * n) == pytest.approx(
            expected * DEFAULT_RETRY_AFTER_SECS), n
    pacer.observe(CANCEL, usage(weight=10), 500.0)  # served: the venue is answering again
    pacer.observe(STOP, usage(status=429, code=-1003), 600.0)
    assert pacer.wait_secs(CANCEL, 600.0) == pytest.approx(DEFAULT_RETRY_AFTER_SECS)


def test_the_doubling_default_is_capped_at_a_minute():
    pacer = Pacer(250, 1000, limits=LIMITS)
    for n in range(12):
        pacer.observe(FETCH, usage(status=429), 1000.0 * n)
    assert pacer.wait_secs(FETCH, 11_000.0) == pytest.approx(60.0)


def test_a_refusal_without_retry_after_waits_a_default_and_a_ban_at_least_two_minutes():
    pacer = Pacer(250, 1000, limits=LIMITS)
    pacer.observe(STOP, usage(status=429, code=-1015), 0.0)
    assert pacer.wait_secs(STOP, 0.0) == pytest.approx(DEFAULT_RETRY_AFTER_SECS)
    pacer.observe(FETCH, usage(status=418), 0.0)
    assert pacer.wait_secs(FETCH, 0.0) == pytest.approx(LIMITS.default_ban_secs)
    assert LIMITS.default_ban_secs >= 120


def test_a_429_without_a_code_on_a_read_holds_everything():
    pacer = Pacer(250, 1000, limits=LIMITS)
    throttled = pacer.observe(FETCH, usage(status=429, retry_after_ms=2000), 0.0)
    assert throttled is not None and throttled.scope is Scope.ALL


def test_a_shorter_retry_after_never_shortens_a_pause_already_running():
    pacer = Pacer(250, 1000, limits=LIMITS)
    pacer.observe(FETCH, usage(status=418, retry_after_ms=60_000), 0.0)
    pacer.observe(FETCH, usage(status=429, code=-1003, retry_after_ms=1000), 1.0)
    assert pacer.wait_secs(CANCEL, 2.0) == pytest.approx(58.0)


def test_a_placement_that_would_pass_the_servers_count_waits_instead_of_earning_a_429():
    pacer = Pacer(250, 1000, limits=LIMITS)
    pacer.observe(LOOKUP, usage(weight=10), 0.0)
    pacer.observe(STOP, usage(weight=10, o10=250, o1m=250), 0.0)
    assert pacer.wait_secs(STOP, 1.0) == pytest.approx(9.0)
    assert pacer.wait_secs(CANCEL, 1.0) == 0.0  # cancels are not orders


# --------------------------------------------------------------------------- request weight


def test_without_a_weight_header_nothing_is_paced_by_weight():
    gauge = WeightGauge(2400, LIMITS.weight_window_secs)
    for _ in range(1000):
        gauge.spent(0.0, 7, read=True)
    assert gauge.estimate(0.0) is None
    assert gauge.wait_secs(0.0, 7, protective=False) == 0.0


def test_below_half_the_weight_limit_reads_go_at_once():
    gauge = WeightGauge(2400, LIMITS.weight_window_secs)
    gauge.observe(0.0, 1000)
    gauge.spent(0.0, 7, read=True)
    assert gauge.wait_secs(0.0, 7, protective=False) == 0.0


def test_above_half_the_weight_limit_reads_are_spaced_out():
    gauge = WeightGauge(2400, LIMITS.weight_window_secs)
    gauge.observe(0.0, 1500)
    gauge.spent(0.0, 7, read=True)
    # Assert: the rest of the read allowance (80 % = 1920, minus 1507) spread over a minute
    gap = 60.0 * 7 / (1920 - 1507)
    assert gauge.wait_secs(0.0, 7, protective=False) == pytest.approx(gap)
    assert gauge.wait_secs(gap, 7, protective=False) == 0.0


def test_above_the_read_cap_reads_wait_for_the_window_but_protective_work_still_goes():
    gauge = WeightGauge(2400, LIMITS.weight_window_secs)
    gauge.observe(0.0, 1950)
    assert gauge.wait_secs(5.0, 7, protective=False) == pytest.approx(55.0)
    assert gauge.wait_secs(5.0, 1, protective=True) == 0.0


def test_near_the_weight_limit_even_protective_work_waits_rather_than_earn_a_429():
    # 95 %: requests of other workers may be in flight and not yet counted; a 429 on weight
    # holds everything, and requests that still arrive inside its Retry-After earn a 418.
    gauge = WeightGauge(2400, LIMITS.weight_window_secs)
    gauge.observe(0.0, 2279)
    assert gauge.wait_secs(1.0, 1, protective=True) == 0.0
    gauge.spent(1.0, 1, read=False)
    assert gauge.wait_secs(1.0, 1, protective=True) == pytest.approx(59.0)


def test_weight_spent_since_the_last_header_counts_until_the_next_one():
    gauge = WeightGauge(2400, LIMITS.weight_window_secs)
    gauge.observe(0.0, 100)
    gauge.spent(0.1, 7, read=True)
    gauge.spent(0.2, 5, read=True)
    assert gauge.estimate(0.3) == 112
    gauge.observe(0.4, 50)  # the server's minute rolled over
    assert gauge.estimate(0.4) == 50


def test_a_weight_header_older_than_a_minute_says_nothing_any_more():
    gauge = WeightGauge(2400, LIMITS.weight_window_secs)
    gauge.observe(0.0, 2000)
    assert gauge.estimate(60.0) is None
    assert gauge.wait_secs(60.0, 7, protective=False) == 0.0


def test_the_pacer_spaces_reads_by_weight_but_lets_stop_placements_through():
    pacer = Pacer(250, 1000, limits=LIMITS)
    pacer.observe(FETCH, usage(weight=2000), 0.0)
    assert pacer.wait_secs(FETCH, 0.0) > 0
    assert pacer.wait_secs(STOP, 0.0) == 0.0  # placements weigh 0 on the IP limit
    assert pacer.wait_secs(CANCEL, 0.0) == 0.0


# --------------------------------------------------------------------------- limits, classes


def test_exchange_limits_lower_the_configured_budget_and_never_raise_it():
    pacer = Pacer(250, 1000, limits=LIMITS)
    pacer.apply_limits(AccountLimits(orders_per_10s=300, orders_per_min=600,
                                     weight_per_min=1200))
    assert pacer.budget.limits == (250, 600)
    assert pacer.gauge.limit == 1200


def test_missing_exchange_limits_keep_the_configured_ones():
    pacer = Pacer(250, 1000, limits=LIMITS)
    pacer.apply_limits(AccountLimits(None, None, None))
    assert pacer.budget.limits == (250, 1000)
    assert pacer.gauge.limit == 2400


@pytest.mark.parametrize("op,protective", [
    (STOP, True), (CANCEL, True), (CLOSE, True), (LOOKUP, True),
    (OPEN, False), (FETCH, False), (FetchPositions(), False), (FetchLimits(), False)])
def test_protective_work_is_what_keeps_or_restores_a_stop(op, protective):
    assert is_protective(op) is protective


def test_weights_follow_binance_placements_weigh_nothing_on_the_ip_limit():
    assert LIMITS.weight_of(STOP) == 0 and LIMITS.weight_of(OPEN) == 0
    assert LIMITS.weight_of(CANCEL) == 1 and LIMITS.weight_of(LOOKUP) == 1
    assert LIMITS.weight_of(FETCH) == 7  # positionRisk 5 + openOrders 1 + openAlgoOrders 1
    assert LIMITS.weight_of(FetchPositions()) == 5


@given(per_10s=st.integers(1, 6), per_min=st.integers(2, 15),
       others=st.lists(st.floats(-60, 0, allow_nan=False, exclude_max=True), max_size=25),
       ours=st.lists(st.floats(0, 120, allow_nan=False), min_size=1, max_size=40))
def test_after_the_first_reply_no_window_ever_holds_more_than_its_limit_with_others_orders(
        per_10s, per_min, others, ours):
    # Arrange: another client of the account placed `others` before we start; the server
    # counts every order in sliding windows and reports both counts after each of ours.
    budget = OrderBudget(per_10s, per_min, LIMITS.order_windows_secs)
    sent: list[float] = []
    now = 0.0

    def count(t: float, window: float) -> int:
        return sum(1 for u in [*others, *sent] if u <= t and t - u < window)

    # Act: the first order goes blind (nothing observed yet); each reply is observed
    for i, arrival in enumerate(sorted(ours)):
        now = max(now, arrival)
        while (wait := budget.wait_secs(now)) > 0:
            now += max(wait, 1e-6)
        budget.record(now)
        sent.append(now)
        if i > 0:
            assert count(now, 10.0) <= max(per_10s, 1), (now, sent, others)
            assert count(now, 60.0) <= per_min, (now, sent, others)
        budget.observe(now, count(now, 10.0), count(now, 60.0))
    # Assert: nothing was dropped
    assert len(sent) == len(ours)
