"""The pacer's rules for stop moves (actors/pacing.py): moves may not use MOVE_RESERVE of
either order window; room counts what may go now."""

from __future__ import annotations

from decimal import Decimal

from actors.messages import PlaceStop, RateUsage, StopPurpose
from actors.pacing import MOVE_RESERVE, OrderBudget, Pacer, is_move
from venues.binance.adapter import LIMITS

D = Decimal


def stop(purpose: StopPurpose) -> PlaceStop:
    return PlaceStop("BTCUSDT", "SELL", D("0.010"), "pg-1-BTCUSDT-sl-2", "STOP_MARKET",
                     D("58800"), "MARK_PRICE", purpose=purpose)


def test_only_a_move_is_a_move_and_purpose_is_not_part_of_the_order():
    assert is_move(stop(StopPurpose.MOVE))
    assert not any(is_move(stop(p)) for p in StopPurpose if p is not StopPurpose.MOVE)
    assert stop(StopPurpose.MOVE) == stop(StopPurpose.FIRST)  # same order, other schedule


def test_a_move_waits_where_a_first_stop_still_goes():
    pacer = Pacer(10, 1000, limits=LIMITS)
    for _ in range(10 - int(10 * MOVE_RESERVE)):
        pacer.sent(stop(StopPurpose.FIRST), 0.0)
    assert pacer.wait_secs(stop(StopPurpose.MOVE), 1.0) == 9.0
    assert pacer.wait_secs(stop(StopPurpose.FIRST), 1.0) == 0.0


def test_the_reserve_applies_to_the_minute_window_too():
    pacer = Pacer(250, 100, limits=LIMITS)
    for i in range(100 - int(100 * MOVE_RESERVE)):
        pacer.sent(stop(StopPurpose.FIRST), i * 0.5)  # never more than 20 in 10 s
    now = 40.0
    assert pacer.wait_secs(stop(StopPurpose.MOVE), now) > 0
    assert pacer.wait_secs(stop(StopPurpose.FIRST), now) == 0.0


def test_room_is_what_may_go_now_in_both_windows():
    b = OrderBudget(10, 1000, (10.0, 60.0))
    assert b.room(0.0) == 10 and b.room(0.0, b.reserves(MOVE_RESERVE)) == 8
    for _ in range(3):
        b.record(0.0)
    b.observe(0.0, 7, 7)  # the server saw 4 more orders than ours
    assert b.room(1.0) == 3 and b.room(1.0, b.reserves(MOVE_RESERVE)) == 1
    assert b.room(10.0) == 10


def test_no_room_for_moves_during_a_429_on_orders():
    pacer = Pacer(250, 1000, limits=LIMITS)
    probe = stop(StopPurpose.MOVE)
    pacer.observe(probe, RateUsage(5, 300, 300, 429, -1015, 2500), 0.0)
    assert pacer.move_room(1.0, probe) == 0
    assert pacer.move_room(2.5, probe) > 0
