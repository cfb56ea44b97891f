"""The exchange pool's queue (actors/dispatch.py): protective work first, nothing dropped."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.dispatch import Dispatcher
from actors.messages import (
    CancelStop,
    ExchangeRequest,
    FetchSymbol,
    LookupOrder,
    PlaceMarket,
    PlaceStop,
    RateUsage,
)
from actors.pacing import Pacer
from venues.binance.adapter import LIMITS

D = Decimal


def stop(n: int) -> PlaceStop:
    return PlaceStop("BTCUSDT", "SELL", D("0.010"), f"pg-1-BTCUSDT-sl-{n}", "STOP_MARKET",
                     D("58800"), "CONTRACT_PRICE")


def req(op, rid: str | None = None) -> ExchangeRequest:
    return ExchangeRequest(rid or f"r-{id(op)}", op, None)


def fetch(sym: str) -> ExchangeRequest:
    return req(FetchSymbol(sym), f"fetch-{sym}")


def drain(d: Dispatcher, now: float) -> list[str]:
    out = []
    while (r := d.take(now)) is not None:
        out.append(r.request_id)
    return out


def test_a_stop_placement_then_a_cancel_go_before_reads_queued_earlier():
    # A first stop protects a position that has none: it goes even before the cancel that
    # was queued earlier (cancels are the next lane, see test_dispatch_lanes.py).
    d = Dispatcher(Pacer(250, 1000, limits=LIMITS))
    for i in range(5):
        d.submit(fetch(f"S{i}USDT"))
    d.submit(req(CancelStop("BTCUSDT", "1", "pg-1-BTCUSDT-sl-1"), "cancel"))
    d.submit(req(stop(2), "stop"))

    assert drain(d, 0.0)[:2] == ["stop", "cancel"]


def test_an_open_is_not_protective_and_keeps_its_place_among_the_reads():
    d = Dispatcher(Pacer(250, 1000, limits=LIMITS))
    d.submit(fetch("AUSDT"))
    d.submit(req(PlaceMarket("BUSDT", "BUY", D("1"), "pg-1-BUSDT-op-1", False), "open"))
    d.submit(req(PlaceMarket("CUSDT", "SELL", D("1"), "pg-1-CUSDT-cl-2", True), "close"))
    d.submit(fetch("DUSDT"))

    assert drain(d, 0.0) == ["close", "fetch-AUSDT", "open", "fetch-DUSDT"]


def test_requests_of_one_class_keep_their_order():
    d = Dispatcher(Pacer(250, 1000, limits=LIMITS))
    for n in range(4):
        d.submit(req(stop(n), f"stop-{n}"))
    assert drain(d, 0.0) == [f"stop-{n}" for n in range(4)]


def test_a_placement_held_by_the_order_budget_does_not_hold_cancels_or_reads_behind_it():
    # Arrange: a budget of one order per 10 s, already used
    d = Dispatcher(Pacer(1, 100, limits=LIMITS))
    d.submit(req(stop(1), "stop-1"))
    assert drain(d, 0.0) == ["stop-1"]
    d.submit(req(stop(2), "stop-2"))
    d.submit(req(LookupOrder("BTCUSDT", "pg-1-BTCUSDT-sl-1", True), "lookup"))
    d.submit(fetch("ETHUSDT"))
    # Act / Assert: the lookup and the read go; the placement waits its turn, never dropped
    assert drain(d, 1.0) == ["lookup", "fetch-ETHUSDT"]
    assert d.next_wake_secs(1.0) == pytest.approx(9.0)
    assert drain(d, 10.0) == ["stop-2"]
    assert len(d) == 0 and d.next_wake_secs(10.0) is None


def test_during_an_orders_429_placements_wait_for_retry_after_and_cancels_go():
    pacer = Pacer(250, 1000, limits=LIMITS)
    d = Dispatcher(pacer)
    pacer.observe(stop(1), RateUsage(5, 300, 300, 429, -1015, 2500), 0.0)
    d.submit(req(stop(2), "stop-2"))
    d.submit(req(CancelStop("BTCUSDT", "1", "pg-1-BTCUSDT-sl-1"), "cancel"))

    assert drain(d, 0.0) == ["cancel"]
    assert d.next_wake_secs(0.0) == pytest.approx(2.5)
    assert drain(d, 2.4) == []
    assert drain(d, 2.5) == ["stop-2"]


def test_during_a_ban_nothing_goes_and_the_wake_is_the_end_of_the_ban():
    pacer = Pacer(250, 1000, limits=LIMITS)
    d = Dispatcher(pacer)
    pacer.observe(FetchSymbol("BTCUSDT"), RateUsage(None, None, None, 418, None, 30_000), 0.0)
    d.submit(req(CancelStop("BTCUSDT", "1", "pg-1-BTCUSDT-sl-1"), "cancel"))
    d.submit(fetch("ETHUSDT"))

    assert drain(d, 29.9) == []
    assert d.next_wake_secs(0.0) == pytest.approx(30.0)
    assert drain(d, 30.0) == ["cancel", "fetch-ETHUSDT"]


def test_spaced_reads_go_one_at_a_time_while_protective_work_is_not_spaced():
    pacer = Pacer(250, 1000, limits=LIMITS)
    d = Dispatcher(pacer)
    pacer.observe(FetchSymbol("X"), RateUsage(1500, None, None), 0.0)
    for s in ("A", "B", "C"):
        d.submit(fetch(s))
    assert drain(d, 0.0) == ["fetch-A"]
    for n in range(3):
        d.submit(req(stop(n), f"stop-{n}"))
    assert drain(d, 0.0) == ["stop-0", "stop-1", "stop-2"]
    wake = d.next_wake_secs(0.0)
    assert wake is not None and wake > 0
    assert drain(d, wake) == ["fetch-B"]
