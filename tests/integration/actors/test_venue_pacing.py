"""The exchange pool paces by what the simulator reports (real actor processes + simulator).

The simulator counts the account's orders in fixed 10 s windows (system/sim/ratelimit.py) and
answers X-MBX-ORDER-COUNT-10S on every order, HTTP 429 -1015 with Retry-After past the limit.
Another client of the same account (a test ccxt client) uses up most of the window: the engine
must see it in the headers and hold its next stop move instead of earning a 429; and when it
does get a 429 (orders it could not know of), it waits at least the Retry-After before the
placement goes again, while the old stop keeps the position protected.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from tests.fixtures.sim import TEST_SETTINGS
from tests.waiting import wait_for

SYM = "BTCUSDT"
LIMIT = 5
"""The account's orders per 10 s, on the simulator and in the engine's config."""


@pytest.fixture
def sim_settings():
    # mark == contract price: the market stream's marks then move nothing the test's own
    # ticks did not (every extra trailing move would be one more order in the window).
    return dataclasses.replace(TEST_SETTINGS, orders_per_10s=LIMIT, mark_basis_pct=0.0)


def _window_with_room(control: Any, left_ms: int = 3_000) -> int:
    """Wait until the current 10 s order window (simulator clock) has `left_ms` to run (a
    phase takes about a second); return the window's end (ms)."""
    now = wait_for(lambda: (n := control.state()["clock"]["now_ms"]) % 10_000 < 10_000 - left_ms
                   and n, 12, "an order window with room", 0.02)
    return now - now % 10_000 + 10_000


def _place_others(ccxt_sync: Any, n: int) -> None:
    """Another client of the account places `n` orders that never open a position (one would
    be adopted and protected, and its stop would be one more order): conditional buys far
    above the market, which count on the order limits like any order."""
    for _ in range(n):
        ccxt_sync.create_order("ETH/USDT:USDT", "market", "buy", 0.05, None,
                               {"triggerPrice": "6000"})


def _stop_rests(engine: Any, client_id: str) -> dict | None:
    return next((o for o in engine.control.state()["open_algo_orders"]
                 if o["clientAlgoId"] == client_id), None)


def _rows(engine: Any, kind: str) -> list[Any]:
    return [r for r in engine.journal(SYM) if r.kind == kind]


@pytest.mark.engine_config(f"exchange.orders_per_10s={LIMIT}")
def test_orders_of_another_client_pace_the_engine_and_a_429_delays_it_by_retry_after(
        engine, ccxt_sync):
    sim_control = engine.control
    sim_control.set_price("ETHUSDT", "3000")
    sim_control.set_price(SYM, "60000")
    engine.register(SYM)
    engine.wait_state(SYM, "FLAT")

    # --- 1. the window's counter, used by someone else, holds the engine's move
    window_end = _window_with_room(sim_control)
    _place_others(ccxt_sync, LIMIT - 2)  # the open and its stop take the last two orders
    engine.open(SYM, "long", "0.010", "cmd-paced")
    first = engine.wait_state(SYM, "PROTECTED")
    engine.tick(SYM, "60700")  # trailing activates: a move is due, the window is full
    moved = engine.wait(SYM, lambda v: v.state == "PROTECTED"
                        and v.stop_client_id != first.stop_client_id, "the held move", 25)

    placed = _stop_rests(engine, moved.stop_client_id)
    (stop_placed,) = _rows(engine, "stop_placed")
    requested = _rows(engine, "stop_move_requested")[0]
    assert stop_placed.created_at_ms < window_end, "the stop had the window's last order"
    assert requested.created_at_ms < window_end, "the move was due inside the full window"
    # Not queued behind the full window: deferred, and placed once granted (dispatch.py).
    assert _rows(engine, "stop_move_deferred"), "the move was held in the queue"
    assert placed is not None and placed["createTime"] >= window_end, (placed, window_end)
    assert _rows(engine, "stop_outcome_unknown") == [], "the engine ran into a 429"

    # --- 2. orders it could not know of: a 429, and no new placement before its Retry-After
    _window_with_room(sim_control)
    used = sim_control.rate_limits()["orders"]["count_10s"]
    _place_others(ccxt_sync, LIMIT - used)
    engine.tick(SYM, "61000")
    refused = wait_for(lambda: _rows(engine, "stop_outcome_unknown"), 25, "the 429", 0.02)[0]
    after = engine.wait(SYM, lambda v: v.state == "PROTECTED"
                        and v.stop_client_id not in (first.stop_client_id,
                                                     moved.stop_client_id),
                        "the refused move placed again", 25)

    retry_after_ms = refused.payload["retry_after_ms"]
    assert refused.payload["http_status"] == 429 and refused.payload["code"] == -1015
    again = _stop_rests(engine, after.stop_client_id)
    assert again is not None
    # 20 ms: the pool and the symbol actor hear of the 429 from the same worker message
    assert again["createTime"] >= refused.created_at_ms + retry_after_ms - 20, (
        again["createTime"] - refused.created_at_ms, retry_after_ms)
    # new-first: the old stop's cancel follows the new stop's acceptance (PROTECTED)
    truth = wait_for(lambda: (t := sim_control.state()) and len(
        [o for o in t["open_algo_orders"] if o["symbol"] == SYM]) == 1 and t, 10,
        "the replaced stop cancelled")
    per = truth["unprotected"]["per_symbol"][SYM]
    assert per["total_ms_by_kind"]["coverage_lost"] == 0, truth["unprotected"]["gaps"]
    assert [o["clientAlgoId"] for o in truth["open_algo_orders"] if o["symbol"] == SYM] == [
        after.stop_client_id]
    assert len([o for o in truth["open_algo_orders"] if o["symbol"] == "ETHUSDT"]) == (
        2 * LIMIT - 2 - used), "the other client's orders are not the engine's to touch"
    assert Decimal(after.stop_price) > Decimal(moved.stop_price)
