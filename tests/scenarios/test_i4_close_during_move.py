"""I-4 (BASUSDT): the old stop fills and closes the position while a trailing move is in flight.

Every interleaving the simulator can force between the move (new stop placed first, the old
one cancelled after) and the close. The plain one, the new stop's REST reply withheld while
both stops cross, is tests/integration/actors/test_recovery.py
(test_position_closed_by_its_stop_while_a_move_is_in_flight_...). Here the move's reply is
withheld too, so the move is still in flight when the close arrives, and the stream adds:
the new stop's ALGO_UPDATE dropped or late, the close's ACCOUNT_UPDATE ahead of its order
events, the close hidden until a stale mark has started a move, and a move due while the
order budget binds (deferred by the pool, so its stop never reaches the exchange late).

Each case ends FLAT with nothing resting on the exchange, no order created after the close,
and the unprotected meter showing 0 ms of coverage lost. Truth is the simulator's state and
its order book, then the journal; posguard's own view last.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from actors.messages import MarkPrice
from tests.waiting import wait_for

SYM = "BTCUSDT"
ENTRY, PEAK = "60000", "60700"   # stop at 58800 (2 %), the move to 60396.5 (0.5 % below peak)
BELOW_BOTH = "58700"             # the old stop fires first (it was placed first)
MOVE_HOLD_MS = 4000
# The reply is withheld longer than the gateway waits for it: the move's outcome is unknown
# until the close has been handled, whatever the machine's load.
SLOW_REPLY = ("exchange.request_timeout_ms=3000",)
CLOSE_KINDS = ("stop_filled", "position_closed", "closed_while_away")
# Journal kinds that send a new order (market or stop) to the exchange.
PLACING_KINDS = ("open_requested", "close_requested", "stop_move_requested",
                 "stop_resize_requested", "stop_placed_again", "stop_would_trigger_close",
                 "open_filled", "position_adopted", "stop_missing_replaced", "open_recovered")


def _orders(sim: Any) -> dict[str, list[tuple[str, str, str]]]:
    """Every order the simulator ever accepted for SYM: (client id, type, status)."""
    def read(s: Any) -> dict[str, list[tuple[str, str, str]]]:
        return {"orders": [(o.client_id, o.orig_type, o.status)
                           for o in s.engine.orders.values() if o.symbol == SYM],
                "algos": [(a.client_algo_id, a.order_type, a.status)
                          for a in s.engine.algos.values() if a.symbol == SYM]}
    return sim.call(read)


# --------------------------------------------------------------------------- interleavings
# Each does what happens between PROTECTED and the close, and says what settles the move:
# "reply" (its late REST reply, or the reply's time-out, is handled: a stale_stop_cancelled
# row from the reply path, which has no "source"), "reconcile" (the truth fetched after a
# refused order) or "deferred" (the pool never sent it).


def _move_then_close(engine: Any, sim: Any) -> None:
    """The move's stop rests on the exchange (its reply withheld), then the price falls
    through both stops: the old one fires first, the new one expires with nothing to reduce."""
    engine.tick(SYM, PEAK)
    engine.wait_state(SYM, "MOVING_STOP")
    wait_for(lambda: len(_orders(sim)["algos"]) == 2, 20, "the move's stop to rest")
    engine.control.set_price(SYM, BELOW_BOTH, mark=BELOW_BOTH)


def _update_dropped(engine: Any, sim: Any) -> str:
    engine.control.timeout_next("POST", "/fapi/v1/algoOrder", hold_ms=MOVE_HOLD_MS)
    engine.control.drop_events(1)  # the new stop's ALGO_UPDATE NEW
    _move_then_close(engine, sim)
    return "reply"


def _update_after_the_close(engine: Any, sim: Any) -> str:
    engine.control.timeout_next("POST", "/fapi/v1/algoOrder", hold_ms=MOVE_HOLD_MS)
    engine.control.delay_events(1, 1000)  # the new stop's NEW arrives after the close
    _move_then_close(engine, sim)
    return "reply"


def _account_update_first_reordered(engine: Any, sim: Any) -> str:
    engine.control.timeout_next("POST", "/fapi/v1/algoOrder", hold_ms=MOVE_HOLD_MS)
    engine.control.drop_events(1)
    # The close: TRIGGERING, TRIGGERED, ORDER NEW, TRADE_LITE, ORDER TRADE, ACCOUNT_UPDATE ->
    # reversed.
    engine.control.reorder_events(6)
    _move_then_close(engine, sim)
    return "reply"


def _account_update_first_delayed(engine: Any, sim: Any) -> str:
    engine.control.timeout_next("POST", "/fapi/v1/algoOrder", hold_ms=MOVE_HOLD_MS)
    engine.control.drop_events(1)
    engine.control.delay_events(5, 500)  # the five events before the ACCOUNT_UPDATE
    _move_then_close(engine, sim)
    return "reply"


def _stale_mark_after_the_exchange_closed(engine: Any, sim: Any) -> str:
    # The incident itself: the exchange has closed the position, the actor never hears of it
    # (the close's seven events are lost) and a mark from before the fall starts a move. The
    # new stop would trigger at once (-2021), so the close-at-market policy applies; the
    # exchange refuses the reduce-only order (-2022) and the reconcile after it finds FLAT.
    engine.control.drop_events(7)
    engine.control.set_price(SYM, BELOW_BOTH, mark=BELOW_BOTH)
    engine.kernel.asys.tell(engine.kernel.symbol(SYM), MarkPrice(
        SYM, Decimal(PEAK), int(time.time() * 1000)))
    return "reconcile"


def _move_deferred_by_the_budget_then_closed(engine: Any, sim: Any) -> str:
    # orders_per_10s=2 (the open and the first stop): the move is due while the budget binds.
    # A queue would hold its stop for up to 10 s and send it after the close, to rest for a
    # position that no longer exists; the pool's scheduler defers it instead (nothing is
    # sent, the old stop protects). The position closes; once the window frees, the grant
    # finds the symbol FLAT and is declined: the move's stop never reaches the exchange.
    engine.tick(SYM, PEAK)
    deferred = wait_for(lambda: next((r for r in engine.journal(SYM)
                                      if r.kind == "stop_move_deferred"), None), 20,
                        "the move deferred by the order budget")
    engine.control.set_price(SYM, BELOW_BOTH, mark=BELOW_BOTH)
    engine.wait_state(SYM, "FLAT")
    engine.control.set_price(SYM, PEAK, mark=PEAK)
    wait_for(lambda: engine.control.state()["clock"]["now_ms"] > deferred.created_at_ms
             + 11_000, 20, "the order window to free (a grant, declined)")
    assert len(_orders(sim)["algos"]) == 1, "the deferred move's stop was sent"
    return "deferred"


CASES = [
    pytest.param(_update_dropped, marks=pytest.mark.engine_config(*SLOW_REPLY),
                 id="new-stop-update-dropped"),
    pytest.param(_update_after_the_close, marks=pytest.mark.engine_config(*SLOW_REPLY),
                 id="new-stop-update-after-the-close"),
    pytest.param(_account_update_first_reordered, marks=pytest.mark.engine_config(*SLOW_REPLY),
                 id="account-update-first-reordered"),
    pytest.param(_account_update_first_delayed, marks=pytest.mark.engine_config(*SLOW_REPLY),
                 id="account-update-first-delayed"),
    pytest.param(_stale_mark_after_the_exchange_closed, id="stale-mark-after-exchange-closed"),
    pytest.param(_move_deferred_by_the_budget_then_closed,
                 marks=pytest.mark.engine_config("exchange.orders_per_10s=2"),
                 id="move-deferred-by-the-budget-then-closed"),
]


@pytest.mark.parametrize("interleaving", CASES)
def test_close_during_a_stop_move_ends_flat_with_nothing_resting_and_no_order_after_it(
        engine, sim, interleaving):
    engine.control.set_price(SYM, ENTRY, mark=ENTRY)
    engine.open(SYM, "long", "0.010", "cmd-i4")
    first = engine.wait_state(SYM, "PROTECTED")

    settled_by = interleaving(engine, sim)

    engine.wait_state(SYM, "FLAT", timeout_secs=30)
    rows = _settled_journal(engine, settled_by)
    wait_for(lambda: not [o for o in engine.control.state()["open_algo_orders"]
                          if o["symbol"] == SYM], 20, "no stop left resting on the exchange")
    truth = engine.control.state()
    book = _orders(sim)
    assert [o for o in truth["open_orders"] if o["symbol"] == SYM] == []
    assert sum(Decimal(p["positionAmt"]) for p in truth["positions"]
               if p["symbol"] == SYM) == 0
    fills = [f for f in truth["fills"] if f["symbol"] == SYM]
    assert len(fills) == 2, f"the open and the old stop's fill, nothing else: {fills}"
    # Orders: the open and the old stop's market child; stops: the old one and the move's.
    assert [(t, s) for _, t, s in book["orders"]] == [("MARKET", "FILLED"),
                                                      ("STOP_MARKET", "FILLED")], book
    assert book["algos"][0] == (first.stop_client_id, "STOP_MARKET", "FINISHED"), book
    assert len(book["algos"]) <= 2, f"a stop was placed for the closed position: {book}"
    per = truth["unprotected"]["per_symbol"][SYM]
    assert per["total_ms_by_kind"]["coverage_lost"] == 0, truth["unprotected"]["gaps"]
    assert per["count_by_kind"] == {"opened_uncovered": 1, "coverage_lost": 0}
    kinds = [r.kind for r in rows]
    closed_at = next(i for i, k in enumerate(kinds) if k in CLOSE_KINDS)
    assert "stop_move_requested" in kinds[:closed_at], kinds
    assert "stop_moved" not in kinds[:closed_at], f"the move was not in flight: {kinds}"
    assert [k for k in kinds[closed_at:] if k in PLACING_KINDS] == [], kinds
    assert engine.view(SYM).qty == "0"


def _settled_journal(engine: Any, settled_by: str) -> list[Any]:
    """The journal once the move's outcome has been handled.

    The late reply decides what happens to the move's stop; asserting before it would miss
    exactly the leftovers this incident is about.
    """
    def settled() -> list[Any] | None:
        rows = engine.journal(SYM)
        if settled_by == "reconcile":
            return rows if any(r.kind in ("closed_while_away", "reconciled_flat")
                               for r in rows) else None
        if settled_by == "deferred":  # never sent: nothing to settle (actors/dispatch.py)
            return rows if any(r.kind == "stop_move_deferred" for r in rows) else None
        move = next((r.payload["client_id"] for r in rows
                     if r.kind == "stop_move_requested"), None)
        replied = any(r.kind == "stale_stop_cancelled" and "source" not in r.payload
                      and r.payload.get("client_id") == move for r in rows)
        return rows if replied else None
    return wait_for(settled, 30, f"the move's outcome to be settled by its {settled_by}")
