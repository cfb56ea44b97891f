"""Backoff, the per-channel rate limit and when a group of alerts is ready to go."""

from __future__ import annotations

import random

import pytest

from ops.alerts.pacing import RateLimit, backoff_ms, group_ready


class _Row:
    def __init__(self, created_at_ms: int) -> None:
        self.created_at_ms = created_at_ms


@pytest.mark.parametrize("attempts,low,high", [(1, 500, 1_000), (2, 1_000, 2_000),
                                               (3, 2_000, 4_000), (5, 8_000, 16_000)])
def test_backoff_doubles_per_attempt_with_jitter_below_the_plain_delay(attempts, low, high):
    rng = random.Random(7)
    delays = [backoff_ms(attempts, 1.0, 300.0, rng) for _ in range(200)]
    assert all(low <= d <= high for d in delays)
    assert len(set(delays)) > 50, "jittered"


def test_backoff_is_capped_at_the_maximum_however_many_attempts():
    rng = random.Random(1)
    delays = [backoff_ms(n, 1.0, 30.0, rng) for n in range(6, 200)]
    assert max(delays) <= 30_000 and min(delays) >= 15_000


def test_the_rate_limit_allows_max_per_minute_then_waits_for_the_oldest_to_age_out():
    limit = RateLimit(3)
    for t in (0, 10_000, 20_000):
        assert limit.allow(t)
        limit.sent(t)

    assert not limit.allow(30_000)
    assert limit.wait_ms(30_000) == 30_000
    assert limit.allow(60_000)
    limit.sent(60_000)
    assert not limit.allow(65_000) and limit.wait_ms(65_000) == 5_000


def test_a_group_waits_the_window_after_its_oldest_alert():
    rows = [_Row(1_000), _Row(2_500)]
    assert not group_ready(rows, 2_999, 2_000)
    assert group_ready(rows, 3_000, 2_000)
    assert not group_ready([], 10_000, 2_000)
    assert group_ready([_Row(1_000)], 1_000, 0)
