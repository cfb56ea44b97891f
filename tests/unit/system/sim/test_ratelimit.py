"""The rate limiter: fixed windows, 429 with Retry-After, 418 bans that escalate, -1015."""

from __future__ import annotations

import pytest

from system.sim.errors import RateLimitError
from system.sim.ratelimit import RateLimiter
from system.sim.settings import SimSettings

T0 = 1_795_263_300_000  # a whole minute (and a whole 10 s)
IP = "127.0.0.1"


def _limiter(**kw) -> RateLimiter:
    return RateLimiter(SimSettings(**kw))


def _refused(fn) -> RateLimitError:
    with pytest.raises(RateLimitError) as ei:
        fn()
    return ei.value


def test_defaults_are_binances_limits():
    lim = _limiter()

    assert (lim.weight_limit, lim.orders_10s_limit, lim.orders_1m_limit) == (2400, 300, 1200)


def test_used_weight_adds_up_within_the_minute_and_restarts_at_the_next():
    lim = _limiter()

    lim.admit(IP, 5, T0)
    used = lim.admit(IP, 40, T0 + 59_999)

    assert used == 45 and lim.used_weight(IP, T0 + 59_999) == 45
    assert lim.used_weight(IP, T0 + 60_000) == 0


def test_weight_past_the_limit_is_429_minus_1003_with_retry_after_to_the_minute_end():
    lim = _limiter(request_weight_per_min=10)
    lim.admit(IP, 10, T0)

    e = _refused(lambda: lim.admit(IP, 1, T0 + 15_500))

    assert (e.status, e.code, e.retry_after_secs) == (429, -1003, 45)
    assert "current limit of IP(127.0.0.1) is 10 requests per minute" in e.msg


def test_a_client_that_waits_out_retry_after_is_served_again():
    lim = _limiter(request_weight_per_min=10)
    lim.admit(IP, 10, T0)
    _refused(lambda: lim.admit(IP, 1, T0 + 1000))

    assert lim.admit(IP, 1, T0 + 60_000) == 1


def test_requests_inside_retry_after_earn_a_418_ban_that_refuses_everything():
    lim = _limiter(request_weight_per_min=10, backoff_violations_before_ban=2)
    lim.admit(IP, 10, T0)
    _refused(lambda: lim.admit(IP, 1, T0 + 1000))  # the 429

    again = _refused(lambda: lim.admit(IP, 1, T0 + 2000))  # first violation: 429 again
    ban = _refused(lambda: lim.admit(IP, 1, T0 + 3000))  # second: banned for 2 minutes

    assert again.status == 429 and again.retry_after_secs == 58
    assert (ban.status, ban.code, ban.retry_after_secs) == (418, -1003, 120)
    assert f"banned until {T0 + 3000 + 120_000}" in ban.msg
    still = _refused(lambda: lim.admit(IP, 0, T0 + 100_000))  # a new minute, still banned
    assert still.status == 418 and still.retry_after_secs == 23
    assert lim.admit(IP, 1, T0 + 123_000) == 1  # the ban is over


def test_each_repeat_ban_lasts_twice_as_long_up_to_three_days():
    lim = _limiter(request_weight_per_min=1, backoff_violations_before_ban=1)
    now, bans = T0, []
    for _ in range(14):
        now = (now // 60_000 + 1) * 60_000  # a fresh minute
        lim.admit(IP, 1, now)
        _refused(lambda t=now: lim.admit(IP, 1, t))  # 429
        bans.append(_refused(lambda t=now: lim.admit(IP, 1, t + 1)).retry_after_secs)
        now += bans[-1] * 1000

    assert bans[:4] == [120, 240, 480, 960]
    assert bans[-1] == 3 * 86_400 and max(bans) == 3 * 86_400


def test_weight_is_counted_per_ip():
    lim = _limiter(request_weight_per_min=10)
    lim.admit(IP, 10, T0)

    assert lim.admit("127.0.0.2", 10, T0) == 10


def test_orders_past_300_per_10s_are_429_minus_1015_and_counted_per_window():
    lim = _limiter()
    for i in range(300):
        lim.admit_order(T0 + i)

    e = _refused(lambda: lim.admit_order(T0 + 4000))

    assert (e.status, e.code, e.retry_after_secs) == (429, -1015, 6)
    assert e.msg == "Too many new orders; current limit is 300 orders per 10 SECOND."
    assert lim.order_counts(T0 + 4000) == (300, 300)  # the refused order is not counted
    lim.admit_order(T0 + 10_000)
    assert lim.order_counts(T0 + 10_000) == (1, 301)


def test_orders_past_the_minute_limit_are_refused_even_in_a_fresh_10s_window():
    lim = _limiter(orders_per_10s=1000, orders_per_min=5)
    for i in range(5):
        lim.admit_order(T0 + i * 10_000)

    e = _refused(lambda: lim.admit_order(T0 + 50_000))

    assert e.code == -1015 and "5 orders per 1 MINUTE" in e.msg and e.retry_after_secs == 10


def test_reset_forgets_counters_backoffs_and_bans():
    lim = _limiter(request_weight_per_min=1, backoff_violations_before_ban=1)
    lim.admit(IP, 1, T0)
    _refused(lambda: lim.admit(IP, 1, T0))
    _refused(lambda: lim.admit(IP, 1, T0 + 1))
    lim.admit_order(T0)

    lim.reset()

    assert lim.admit(IP, 1, T0 + 2) == 1 and lim.order_counts(T0 + 2) == (0, 0)


def test_describe_reports_limits_counts_and_bans():
    lim = _limiter(request_weight_per_min=1, backoff_violations_before_ban=1)
    lim.admit(IP, 1, T0)
    _refused(lambda: lim.admit(IP, 1, T0))
    _refused(lambda: lim.admit(IP, 1, T0 + 1))
    lim.admit_order(T0)

    d = lim.describe(T0 + 2)

    assert d["limits"]["request_weight_per_min"] == 1
    assert d["orders"] == {"count_10s": 1, "count_1m": 1}
    assert d["ips"][IP]["banned_until_ms"] == T0 + 1 + 120_000 and d["ips"][IP]["bans"] == 1
