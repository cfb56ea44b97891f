"""The order budget as a scheduler (actors/dispatch.py): protection first, cancels and reads
never behind held placements, moves coalesced per symbol and granted by urgency, and a share
of each order window moves may not use."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.dispatch import GRANT_SECS, Dispatcher, Lane, lane_of
from actors.messages import (
    CancelStop,
    ExchangeRequest,
    FetchSymbol,
    LookupOrder,
    MoveDeferred,
    MoveGrant,
    MoveWanted,
    PlaceMarket,
    PlaceStop,
    StopPurpose,
)
from actors.pacing import MOVE_RESERVE, Pacer
from venues.binance.adapter import LIMITS

D = Decimal
PER_10S = 10
MOVE_CAP = PER_10S - int(PER_10S * MOVE_RESERVE)
"""Orders of a 10 s window moves may use (8 of 10)."""


def stop(sym: str, n: int, purpose: StopPurpose = StopPurpose.FIRST,
         trigger: str = "58800") -> PlaceStop:
    return PlaceStop(sym, "SELL", D("0.010"), f"pg-1-{sym}-sl-{n}", "STOP_MARKET", D(trigger),
                     "MARK_PRICE", purpose=purpose)


def move(sym: str, n: int, trigger: str = "60000") -> PlaceStop:
    return stop(sym, n, StopPurpose.MOVE, trigger)


def req(op, rid: str, addr: str | None = None) -> ExchangeRequest:
    return ExchangeRequest(rid, op, addr or f"actor-{getattr(op, 'symbol', 'x')}")


def drain(d: Dispatcher, now: float) -> list[str]:
    out = []
    while (r := d.take(now)) is not None:
        out.append(r.request_id)
    return out


def spend(d: Dispatcher, n: int, now: float = 0.0) -> None:
    """Use `n` orders of the window with first stops of other symbols."""
    for i in range(n):
        d.submit(req(stop(f"F{i}USDT", i), f"spent-{i}"))
    assert len(drain(d, now)) == n


def dispatcher() -> Dispatcher:
    return Dispatcher(Pacer(PER_10S, 1000, limits=LIMITS))


def grants(out) -> list[str]:
    return [m.symbol for _, m in out if isinstance(m, MoveGrant)]


def deferred(out) -> list[str]:
    return [m.request_id for _, m in out if isinstance(m, MoveDeferred)]


def test_each_operation_has_its_lane():
    assert lane_of(stop("A", 1)) is Lane.PROTECT
    for purpose in (StopPurpose.RESTORE, StopPurpose.RESIZE, StopPurpose.AGAIN):
        assert lane_of(stop("A", 1, purpose)) is Lane.PROTECT
    assert lane_of(PlaceMarket("A", "SELL", D(1), "pg-1-A-cl-1", True)) is Lane.PROTECT
    assert lane_of(CancelStop("A", "1", "c")) is Lane.SUPPORT
    assert lane_of(LookupOrder("A", "c", True)) is Lane.SUPPORT
    assert lane_of(move("A", 1)) is Lane.MOVE
    assert lane_of(PlaceMarket("A", "BUY", D(1), "pg-1-A-op-1", False)) is Lane.OTHER
    assert lane_of(FetchSymbol("A")) is Lane.OTHER


def test_a_first_stop_goes_before_moves_queued_earlier():
    d = dispatcher()
    d.submit(req(move("AUSDT", 1), "move-A"))
    d.submit(req(move("BUSDT", 1), "move-B"))
    d.submit(req(stop("CUSDT", 1), "first-C"))
    assert drain(d, 0.0) == ["first-C", "move-A", "move-B"]


def test_under_a_binding_budget_moves_are_deferred_and_a_first_stop_still_goes():
    # Arrange: the share moves may use is spent
    d = dispatcher()
    spend(d, MOVE_CAP)
    # Act
    d.submit(req(move("AUSDT", 1), "move-A"))
    d.submit(req(stop("BUSDT", 1), "first-B"))
    sent = drain(d, 1.0)
    out = d.outgoing(1.0)
    # Assert: the first stop found budget (the reserve); the move was not sent, not queued
    assert sent == ["first-B"]
    assert deferred(out) == ["move-A"] and len(d) == 0
    assert "AUSDT" in d.wanting


def test_moves_never_use_the_reserved_share_of_the_window():
    d = dispatcher()
    for i in range(PER_10S):
        d.submit(req(move(f"M{i}USDT", i), f"move-{i}"))
    sent = drain(d, 0.0)
    assert len(sent) == MOVE_CAP  # the reserve is left
    d.outgoing(0.0)
    assert len(d.wanting) == PER_10S - MOVE_CAP and grants(d.outgoing(5.0)) == []
    # the last PER_10S - MOVE_CAP orders of the window still go to protection
    for i in range(PER_10S - MOVE_CAP):
        d.submit(req(stop(f"P{i}USDT", i), f"first-{i}"))
    assert drain(d, 5.0) == [f"first-{i}" for i in range(PER_10S - MOVE_CAP)]


def test_cancels_and_lookups_never_wait_behind_placements_the_budget_holds():
    # Arrange: the whole window is spent; a first stop waits for it
    d = dispatcher()
    spend(d, PER_10S)
    d.submit(req(stop("AUSDT", 2), "first-A"))
    d.submit(req(CancelStop("AUSDT", "1", "pg-1-AUSDT-sl-1"), "cancel"))
    d.submit(req(LookupOrder("BUSDT", "pg-1-BUSDT-sl-1", True), "lookup"))
    d.submit(req(FetchSymbol("CUSDT"), "read"))
    # Act / Assert
    assert drain(d, 1.0) == ["cancel", "lookup", "read"]
    assert [r.request_id for r in d] == ["first-A"]  # held, never dropped
    assert drain(d, 10.0) == ["first-A"]


def test_a_symbols_wish_is_one_entry_and_the_latest_urgency_wins():
    d = dispatcher()
    spend(d, MOVE_CAP)
    d.submit(req(move("AUSDT", 1), "move-A", "actor-A"))
    d.outgoing(1.0)
    d.want(MoveWanted("AUSDT", 3.0), "actor-A")
    d.want(MoveWanted("AUSDT", 7.5), "actor-A")
    assert list(d.wanting) == ["AUSDT"] and d.wanting["AUSDT"].urgency_bps == 7.5


def test_when_budget_frees_the_most_urgent_wish_is_granted_first():
    # Arrange: three symbols wish, with different urgencies
    d = dispatcher()
    spend(d, MOVE_CAP, now=0.0)
    for sym, u in (("AUSDT", 2.0), ("BUSDT", 9.0), ("CUSDT", 5.0)):
        d.want(MoveWanted(sym, u), f"actor-{sym}")
    assert grants(d.outgoing(5.0)) == []  # nothing free inside the window
    # Act: the window rolls over: budget for all, granted in order of urgency
    out = d.outgoing(10.0)
    # Assert
    assert grants(out) == ["BUSDT", "CUSDT", "AUSDT"]
    assert [a for a, m in out] == ["actor-BUSDT", "actor-CUSDT", "actor-AUSDT"]


def test_with_room_for_one_move_only_the_most_urgent_is_granted():
    d = dispatcher()
    spend(d, MOVE_CAP - 1, now=0.0)
    for sym, u in (("AUSDT", 2.0), ("BUSDT", 9.0)):
        d.want(MoveWanted(sym, u), f"actor-{sym}")
    assert grants(d.outgoing(1.0)) == ["BUSDT"]
    assert grants(d.outgoing(1.0)) == []  # the room is promised to B's grant
    assert list(d.wanting) == ["AUSDT"]


def test_a_granted_move_carries_the_latest_target_and_the_deferred_one_is_never_sent():
    # Arrange: a move at 60000 is deferred; the trail goes on, the symbol wishes
    d = dispatcher()
    spend(d, MOVE_CAP, now=0.0)
    d.submit(req(move("AUSDT", 3, "60000"), "stale", "actor-A"))
    assert deferred(d.outgoing(1.0)) == ["stale"]
    d.want(MoveWanted("AUSDT", 12.0), "actor-A")
    # Act: budget frees; the grant is answered with the move at the latest target
    assert grants(d.outgoing(10.0)) == ["AUSDT"]
    d.want(MoveWanted("BUSDT", 50.0), "actor-B")  # someone else now waits, more urgent
    d.submit(req(move("AUSDT", 4, "60420"), "latest", "actor-A"))
    sent = [d.take(10.0)]
    # Assert: the granted placement goes (not deferred again); the stale one never did
    assert [r.op.trigger_price for r in sent if r] == [D("60420")]
    assert deferred(d.outgoing(10.0)) == [] and drain(d, 10.0) == []


def test_a_fresh_move_waits_its_turn_behind_wishes_even_with_budget():
    d = dispatcher()
    d.want(MoveWanted("AUSDT", 4.0), "actor-A")  # a wish the next pass grants
    d.submit(req(move("BUSDT", 1), "fresh-B", "actor-B"))
    assert drain(d, 0.0) == []
    out = d.outgoing(0.0)
    assert deferred(out) == ["fresh-B"] and "AUSDT" in grants(out)


def test_an_unused_grant_lapses_and_its_budget_goes_to_the_next_wish():
    d = dispatcher()
    spend(d, MOVE_CAP - 1, now=0.0)
    d.want(MoveWanted("AUSDT", 9.0), "actor-A")
    d.want(MoveWanted("BUSDT", 1.0), "actor-B")
    assert grants(d.outgoing(1.0)) == ["AUSDT"]
    assert d.next_wake_secs(1.0) == pytest.approx(GRANT_SECS)
    assert grants(d.outgoing(1.0 + GRANT_SECS)) == ["BUSDT"]


def test_a_withdrawn_wish_returns_its_grant():
    d = dispatcher()
    spend(d, MOVE_CAP - 1, now=0.0)
    d.want(MoveWanted("AUSDT", 9.0), "actor-A")
    d.want(MoveWanted("BUSDT", 1.0), "actor-B")
    assert grants(d.outgoing(1.0)) == ["AUSDT"]
    d.want(MoveWanted("AUSDT", None), "actor-A")  # A declined: nothing left to move
    assert grants(d.outgoing(1.0)) == ["BUSDT"]


def test_a_wish_from_a_granted_symbol_does_not_queue_it_twice():
    d = dispatcher()
    d.want(MoveWanted("AUSDT", 9.0), "actor-A")
    assert grants(d.outgoing(0.0)) == ["AUSDT"]
    d.want(MoveWanted("AUSDT", 11.0), "actor-A")  # a tick crossed the grant on its way
    assert d.wanting == {} and grants(d.outgoing(0.0)) == []


def test_the_pool_wakes_when_a_wish_can_be_granted():
    d = dispatcher()
    spend(d, MOVE_CAP, now=0.0)
    d.want(MoveWanted("AUSDT", 1.0), "actor-A")
    d.outgoing(4.0)
    assert d.next_wake_secs(4.0) == pytest.approx(6.0)  # the window's oldest order leaves


def test_draining_forgets_wishes_and_grants():
    d = dispatcher()
    d.want(MoveWanted("AUSDT", 1.0), "actor-A")
    d.want(MoveWanted("BUSDT", 1.0), "actor-B")
    d.outgoing(0.0)
    d.submit(req(stop("CUSDT", 1), "first-C"))
    assert [r.request_id for r in d.drain()] == ["first-C"]
    assert d.wanting == {} and d.granted == {} and d.next_wake_secs(0.0) is None
