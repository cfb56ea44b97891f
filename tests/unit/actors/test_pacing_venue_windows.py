"""The pool paces by the venue's own windows (actors/pacing.py, actors/dispatch.py): a venue
with a 1 s order window, a hard order ceiling, a separate cancel limit, refusals that ride
HTTP 200 and an IP ban on 403 (Bybit's shape, on a made-up RateLimits: no adapter needed),
and AmendStop scheduled as a move that spends one order. Binance's pacing is held to its own
tests (test_pacing.py, test_dispatch_lanes.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.dispatch import Dispatcher, Lane, lane_of
from actors.messages import (
    AccountLimits,
    CancelStop,
    ExchangeRequest,
    FetchSymbol,
    LookupOrder,
    MoveDeferred,
    MoveGrant,
    MoveWanted,
    PlaceMarket,
    PlaceStop,
    RateUsage,
    StopPurpose,
)
from actors.pacing import MOVE_RESERVE, Pacer, Scope, is_move, is_placing, is_protective
from venue.interface import RateLimits
from venue.requests import AmendStop
from venues.binance.adapter import LIMITS as BINANCE

D = Decimal
PER_SEC_LIMIT = 10
"""The made-up venue's hard order limit per 1 s window."""
PER_MIN_LIMIT = 600
CANCELS_PER_SEC = 10
ONE_SEC_VENUE = RateLimits(
    order_windows_secs=(1.0, 60.0), weight_window_secs=5.0, weight_limit=600,
    weight_code=None, orders_code=10006, default_ban_secs=600.0,
    weights=((PlaceMarket, 1), (PlaceStop, 1), (AmendStop, 1), (CancelStop, 1)),
    default_weight=1, weight_per_explained_stop=0,
    order_ceiling=(PER_SEC_LIMIT, PER_MIN_LIMIT),
    cancel_window=(1.0, CANCELS_PER_SEC), ban_http_status=403, hold_until_reply=True,
    weight_reported=False)

STOP = PlaceStop("BTCUSDT", "SELL", D("0.010"), "pg-1-BTCUSDT-sl-2", "STOP_MARKET", D("58800"),
                 "MARK_PRICE")
OPEN = PlaceMarket("BTCUSDT", "BUY", D("0.010"), "pg-1-BTCUSDT-op-1", reduce_only=False)
CANCEL = CancelStop("BTCUSDT", "c0ffee", "pg-1-BTCUSDT-sl-2")
READ = FetchSymbol("BTCUSDT")


def amend(sym: str = "BTCUSDT", trigger: str = "59000",
          purpose: StopPurpose = StopPurpose.MOVE) -> AmendStop:
    return AmendStop(sym, "c0ffee", f"pg-1-{sym}-sl-2", D(trigger), purpose=purpose)


def refused(code: int | None = 10006, status: int | None = 200,
            retry_after_ms: int | None = 400) -> RateUsage:
    return RateUsage(None, None, None, status, code, retry_after_ms)


def pacer(per_window: int = 250, per_min: int = 1000) -> Pacer:
    return Pacer(per_window, per_min, limits=ONE_SEC_VENUE)


def spend_orders(p: Pacer, n: int, now: float, answered: float | None = None) -> None:
    """`n` orders sent at `now`, answered at `answered` (default: at once)."""
    for _ in range(n):
        assert p.wait_secs(STOP, now) == 0
        p.sent(STOP, now)
    for _ in range(n):
        p.observe(STOP, None, now if answered is None else answered)


# ------------------------------------------------------------------ windows and ceiling

def test_the_budget_counts_in_the_venues_one_second_window():
    p = pacer(8, 480)
    spend_orders(p, 8, 0.0)
    assert p.wait_secs(STOP, 0.5) == pytest.approx(0.5), "the 9th order waits for the window"
    assert p.wait_secs(STOP, 1.0) == 0, "a second later the window has room again"


def test_a_configured_budget_above_the_venues_ceiling_is_held_to_it():
    p = pacer(250, 1000)  # Binance's defaults: 250 per window would be 250 orders a second
    assert p.budget.limits == (PER_SEC_LIMIT, PER_MIN_LIMIT)
    p.apply_limits(AccountLimits(orders_per_10s=300, orders_per_min=1200, weight_per_min=None))
    assert p.budget.limits == (PER_SEC_LIMIT, PER_MIN_LIMIT), "published limits never raise it"


def test_binance_has_no_ceiling_and_keeps_its_configured_budget():
    assert BINANCE.order_ceiling is None and BINANCE.cancel_window is None
    assert Pacer(250, 1000, limits=BINANCE).budget.limits == (250, 1000)


# ------------------------------------------------------------------ AmendStop

def test_an_amend_is_an_order_a_move_and_protective_work():
    assert is_placing(amend()) and is_protective(amend()) and is_move(amend())
    assert not is_move(amend(purpose=StopPurpose.RESIZE))


def test_an_amend_has_the_lane_of_its_purpose():
    assert lane_of(amend()) is Lane.MOVE
    assert lane_of(amend(purpose=StopPurpose.RESIZE)) is Lane.PROTECT


def test_creates_and_amends_share_one_order_budget():
    p = pacer(8, 480)
    spend_orders(p, 4, 0.0)
    for _ in range(4):
        assert p.wait_secs(amend(purpose=StopPurpose.RESIZE), 0.0) == 0
        p.sent(amend(purpose=StopPurpose.RESIZE), 0.0)
        p.observe(amend(purpose=StopPurpose.RESIZE), None, 0.0)
    assert p.wait_secs(STOP, 0.0) > 0 and p.wait_secs(amend(purpose=StopPurpose.RESIZE), 0.0) > 0


def test_an_amend_move_never_takes_the_move_reserve():
    p = pacer(10, 600)
    cap = 10 - int(10 * MOVE_RESERVE)
    for _ in range(cap):
        assert p.wait_secs(amend(), 0.0) == 0
        p.sent(amend(), 0.0)
        p.observe(amend(), None, 0.0)
    assert p.wait_secs(amend(), 0.0) > 0, "the reserve is kept for first stops and resizes"
    assert p.wait_secs(STOP, 0.0) == 0


def _req(op, rid: str) -> ExchangeRequest:
    return ExchangeRequest(rid, op, f"actor-{op.symbol}")


def test_an_amend_move_is_deferred_then_granted_like_a_move_placement():
    d = Dispatcher(pacer(10, 600))
    cap = 10 - int(10 * MOVE_RESERVE)
    for i in range(cap):
        d.submit(_req(STOP, f"spent-{i}"))
        assert d.take(0.0) is not None
        d.pacer.observe(STOP, None, 0.0)
    d.submit(_req(amend("ETHUSDT", "3000"), "amend-1"))
    assert d.take(0.0) is None, "no budget for a move: nothing is sent"
    out = d.outgoing(0.0)
    assert [m.request_id for _, m in out if isinstance(m, MoveDeferred)] == ["amend-1"]
    d.want(MoveWanted("ETHUSDT", 12.0), "actor-ETHUSDT")
    assert not [m for _, m in d.outgoing(0.5) if isinstance(m, MoveGrant)]

    granted = [m.symbol for _, m in d.outgoing(1.0) if isinstance(m, MoveGrant)]
    assert granted == ["ETHUSDT"], "the window rolled over: the wish is granted"
    d.submit(_req(amend("ETHUSDT", "3010"), "amend-2"))
    taken = d.take(1.0)
    assert taken is not None and taken.request_id == "amend-2"
    assert taken.op.trigger_price == D("3010"), "the latest target goes, the stale one never"


# ------------------------------------------------------------------ cancels

def test_cancels_are_paced_by_the_venues_cancel_window():
    p = pacer()
    for _ in range(CANCELS_PER_SEC):
        assert p.wait_secs(CANCEL, 0.0) == 0
        p.sent(CANCEL, 0.0)
        p.observe(CANCEL, None, 0.0)
    assert p.wait_secs(CANCEL, 0.25) == pytest.approx(0.75)
    assert p.wait_secs(STOP, 0.25) == 0, "cancels do not spend the order budget"
    assert p.wait_secs(CANCEL, 1.0) == 0


def test_a_cancel_burst_in_the_dispatcher_never_exceeds_the_cancel_limit_in_any_second():
    d = Dispatcher(pacer())
    for i in range(35):
        d.submit(_req(CancelStop(f"S{i}USDT", str(i), f"pg-1-S{i}USDT-sl-1"), f"c{i}"))
    sent_at: list[float] = []
    now = 0.0
    while len(sent_at) < 35:
        while (r := d.take(now)) is not None:
            sent_at.append(now)
            d.pacer.observe(r.op, None, now)  # answered at once
        if len(sent_at) == 35:
            break
        wake = d.next_wake_secs(now)
        assert wake is not None and wake > 0
        now += wake
    for t in sent_at:
        assert sum(1 for s in sent_at if t <= s < t + 1.0) <= CANCELS_PER_SEC
    assert sent_at[-1] == pytest.approx(3.0), "nothing dropped: 35 cancels in 4 windows"


def test_binance_cancels_are_not_counted():
    p = Pacer(250, 1000, limits=BINANCE)
    for _ in range(100):
        p.sent(CANCEL, 0.0)
    assert p.wait_secs(CANCEL, 0.0) == 0


# ------------------------------------------------------------------ slots held until the reply

def test_an_order_holds_its_slot_until_a_window_after_its_reply_not_its_send():
    # The venue counts an order when it arrives, somewhere between our send and its reply:
    # freed a window after the send, the next order could land in the venue's window too.
    p = pacer(8, 480)
    spend_orders(p, 8, 0.0, answered=0.3)
    assert p.wait_secs(STOP, 1.0) == pytest.approx(0.3)
    assert p.wait_secs(STOP, 1.3) == 0


def test_an_order_still_unanswered_holds_its_slot_until_it_is_answered():
    p = pacer(8, 480)
    for _ in range(8):
        p.sent(STOP, 0.0)
    assert p.wait_secs(STOP, 5.0) > 0, "eight in flight: no room, whatever the time"
    p.observe(STOP, None, 5.0)
    assert p.wait_secs(STOP, 5.5) > 0 and p.wait_secs(STOP, 6.0) == 0


def test_an_unanswered_order_lets_its_slot_go_after_the_longest_a_request_can_be_held():
    from actors.pacing import IN_FLIGHT_MAX_SECS
    p = pacer(8, 480)
    for _ in range(8):
        p.sent(STOP, 0.0)  # answered by the pool's own deadline machinery, never seen here
    assert p.wait_secs(STOP, IN_FLIGHT_MAX_SECS + 0.01) == 0


def test_a_cancel_holds_its_slot_until_a_window_after_its_reply():
    p = pacer()
    for _ in range(CANCELS_PER_SEC):
        p.sent(CANCEL, 0.0)
    assert p.wait_secs(CANCEL, 2.0) > 0, "in flight"
    for _ in range(CANCELS_PER_SEC):
        p.observe(CANCEL, None, 0.2)
    assert p.wait_secs(CANCEL, 1.0) == pytest.approx(0.2)


def test_a_cancels_counter_is_not_taken_for_the_order_budgets():
    # Bybit counts each endpoint on its own: the cancel endpoint's count is no order's.
    p = pacer(8, 480)
    p.sent(CANCEL, 0.0)
    p.observe(CANCEL, RateUsage(None, 10, None), 0.0)
    assert p.wait_secs(STOP, 0.0) == 0
    assert p.wait_secs(CANCEL, 0.0) > 0, "the venue counts 10 cancels, ours among them"


def test_binance_frees_a_slot_a_window_after_the_send_as_before():
    p = Pacer(2, 1000, limits=BINANCE)
    p.sent(STOP, 0.0)
    p.sent(STOP, 0.0)
    p.observe(STOP, None, 3.0)
    assert p.wait_secs(STOP, 10.0) == 0


# ------------------------------------------------------------------ weight counted by the pool

def test_a_venue_that_reports_no_weight_is_paced_by_the_weight_the_pool_sent():
    # Bybit's IP limit (600 requests / 5 s, then a 403 and a 10 min ban) has no header:
    # the pool's own count is all there is. Reads as fast as the pacer lets them go:
    p, now, sent_at = pacer(), 0.0, []
    while len(sent_at) < 1000:
        now += p.wait_secs(READ, now)
        p.sent(READ, now)
        sent_at.append(now)
    for t in sent_at:
        assert sum(1 for u in sent_at if t <= u < t + 5.0) <= 480, "80 % of the IP limit"
    assert p.wait_secs(READ, now) > 0
    assert p.wait_secs(CANCEL, now) == 0, "protective work goes on up to 95 %"


def test_the_self_counted_weight_holds_reads_only_until_enough_has_left_the_window():
    p = pacer()
    for _ in range(480):
        p.sent(READ, 0.0)
    p.sent(READ, 2.0)
    assert p.wait_secs(READ, 2.0) == pytest.approx(3.0)


def test_binance_without_a_weight_header_is_not_weight_paced_as_before():
    p = Pacer(250, 1000, limits=BINANCE)
    for _ in range(5000):
        p.sent(READ, 0.0)
    assert p.wait_secs(READ, 0.0) == 0


# ------------------------------------------------------------------ refusals

def test_a_rate_limit_refusal_on_http_200_holds_order_placements_and_amends():
    p = pacer()
    t = p.observe(STOP, refused(), 10.0)
    assert t is not None and t.scope is Scope.ORDERS and not t.banned
    assert t.code == 10006 and t.secs == pytest.approx(0.4)
    assert p.wait_secs(amend(), 10.1) == pytest.approx(0.3)
    assert p.wait_secs(CANCEL, 10.1) == 0 and p.wait_secs(READ, 10.1) == 0


def test_a_cancels_refusal_holds_cancels_only():
    p = pacer()
    t = p.observe(CANCEL, refused(), 10.0)
    assert t is not None and t.scope is Scope.CANCELS
    assert p.wait_secs(CANCEL, 10.1) == pytest.approx(0.3)
    assert p.wait_secs(STOP, 10.1) == 0 and p.wait_secs(READ, 10.1) == 0


def test_a_reads_refusal_holds_everything_briefly():
    t = pacer().observe(READ, refused(), 10.0)
    assert t is not None and t.scope is Scope.ALL and t.secs == pytest.approx(0.4)


def test_the_venues_ban_status_is_an_ip_ban_with_its_default_length():
    p = pacer()
    t = p.observe(LookupOrder("BTCUSDT", "x", algo=True), refused(None, 403, None), 10.0)
    assert t is not None and t.banned and t.scope is Scope.ALL and t.http_status == 403
    assert t.secs == 600.0 and p.wait_secs(STOP, 11.0) == pytest.approx(599.0)


def test_a_success_is_no_refusal():
    assert pacer().observe(STOP, RateUsage(None, 3, None), 0.0) is None


def test_binance_treats_a_403_as_before_not_as_a_ban():
    assert Pacer(250, 1000, limits=BINANCE).observe(STOP, refused(None, 403, None), 0.0) is None
