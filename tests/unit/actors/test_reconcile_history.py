"""A position that closed while posguard was away, explained by the exchange's history.

The reconcile's fetch names our stops (FetchSymbol.explain); when the exchange shows the
symbol flat, the worker reads each stop's algo order and its child order's trades
(SymbolSnapshot.stop_history) and reconcile journals the close with what they say: fill
price, quantity, realized PnL, the exchange's fill time and the stop that fired; or, when the
history cannot say, an unexplained close with what is known and no price.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from actors.messages import CancelStop, FetchSymbol, StopOutcome, StopRef
from actors.protection import Side
from actors.symbol_machine import Trigger, fetch_op, handle
from actors.symbol_state import State, StopOrder, SymbolState
from persistence import codec
from tests.fakes.machine import SYMBOL, ctx, reply, snapshot, stop_info

D = Decimal
QTY = D("0.010")
STOP_ID, NEXT_ID, TRAIL_ID = "pg-7-BTCUSDT-sl-3", "pg-7-BTCUSDT-sl-4", "pg-7-BTCUSDT-tr-2"
STOP = StopOrder(STOP_ID, "4000000003", D("58800.0"), QTY, "STOP_MARKET")
TRAIL = StopOrder(TRAIL_ID, "4000000002", None, QTY, "TRAILING_STOP_MARKET", D("0.5"),
                  D("60600"))
FILL_MS = 1_795_263_300_120


def had_position(**kw) -> SymbolState:
    """A protected long loaded from the snapshot after a restart, now RECONCILING."""
    return SymbolState(SYMBOL, State.RECONCILING, Side.LONG, QTY, D("60000"), stop=STOP,
                       order_counter=3, realized_pnl=D("1.5")).replace(**kw)


def fired(ref: StopOrder = STOP, *, price: str = "58790.0", qty: str = "0.010",
          pnl: str | None = "-12.1", child: str = "8389765999") -> StopOutcome:
    return StopOutcome(ref.client_id, ref.algo_id, ref.order_type, True, "FINISHED", child,
                       D(qty), D(price), None if pnl is None else D(pnl), D("0.29"), "USDT",
                       FILL_MS, 1)


def flat_with(*history: StopOutcome, stops=()):
    return replace(snapshot("0", "0", stops), stop_history=history)


def reconcile(s: SymbolState, snap):
    return handle(s, Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL), snap), ctx())


# --------------------------------------------------------------------------- what is asked


def test_a_reconcile_of_a_position_names_its_stop_for_the_history():
    assert fetch_op(had_position()) == FetchSymbol(SYMBOL, explain=(
        StopRef(STOP_ID, "4000000003", "STOP_MARKET"),))


def test_every_stop_that_could_have_fired_is_named_fixed_trailing_in_flight_and_cancelling():
    moving = StopOrder(NEXT_ID, None, D("59100.0"), QTY, "STOP_MARKET")
    old = StopOrder("pg-7-BTCUSDT-sl-1", "4000000001", D("58500.0"), QTY, "STOP_MARKET")
    s = had_position(pending_stop=moving, trailing=TRAIL, cancelling=(old,))

    refs = fetch_op(s).explain

    assert [(r.client_id, r.algo_id) for r in refs] == [
        (STOP_ID, "4000000003"), (NEXT_ID, None), (TRAIL_ID, "4000000002"),
        ("pg-7-BTCUSDT-sl-1", "4000000001")]


def test_without_a_position_nothing_is_asked():
    assert fetch_op(SymbolState(SYMBOL, State.RECONCILING)).explain == ()


# --------------------------------------------------------------------------- the decision


def test_the_stop_that_fired_is_journaled_with_its_fill_price_quantity_pnl_and_time():
    step = reconcile(had_position(), flat_with(fired()))

    assert step.kind == "closed_while_away" and step.state.state is State.FLAT
    p = step.payload
    assert p["explained"] is True and p["cause"] == "stop_filled"
    assert (p["client_id"], p["algo_id"], p["order_id"]) == (STOP_ID, "4000000003",
                                                             "8389765999")
    assert (p["price"], p["qty"], p["pnl"], p["fill_time_ms"]) == (
        "58790.0", "0.010", "-12.1", FILL_MS)
    assert (p["had_side"], p["had_qty"], p["had_entry"]) == ("LONG", "0.010", "60000")
    assert step.state.realized_pnl == D("-10.6")  # 1.5 before, -12.1 from the stop's fill
    codec.decode(codec.encode(p))  # plain data the journal can store


def test_a_native_trailing_stop_that_fired_is_named_as_the_trailing_fill():
    s = had_position(trailing=TRAIL)
    expired = StopOutcome(STOP_ID, "4000000003", "STOP_MARKET", True, "EXPIRED")

    step = reconcile(s, flat_with(expired, fired(TRAIL, price="61200.5", pnl="12.0")))

    p = step.payload
    assert p["cause"] == "trailing_filled" and p["client_id"] == TRAIL_ID
    assert p["price"] == "61200.5" and p["explained"] is True
    assert [x["status"] for x in p["stops"]] == ["EXPIRED", "FINISHED"]


def test_a_stop_the_history_no_longer_knows_makes_an_unexplained_close_without_a_price():
    lost = StopOutcome(STOP_ID, "4000000003", "STOP_MARKET", False)

    step = reconcile(had_position(), flat_with(lost))

    p = step.payload
    assert step.kind == "closed_while_away" and step.state.state is State.FLAT
    assert p["explained"] is False and p["cause"] == "unexplained"
    assert "price" not in p and "pnl" not in p and "fill_time_ms" not in p
    assert "not found" in p["why"] and p["had_qty"] == "0.010"
    assert step.state.realized_pnl == D("1.5")  # nothing invented


def test_a_history_that_could_not_be_read_is_an_unexplained_close_naming_the_error():
    broken = StopOutcome(STOP_ID, "4000000003", "STOP_MARKET", False,
                         error="algo order: binanceusdm 503")

    p = reconcile(had_position(), flat_with(broken)).payload

    assert p["explained"] is False and "503" in p["why"] and "price" not in p


def test_stops_that_did_not_fire_leave_the_close_unexplained_with_their_statuses():
    cancelled = StopOutcome(STOP_ID, "4000000003", "STOP_MARKET", True, "CANCELED")

    p = reconcile(had_position(), flat_with(cancelled)).payload

    assert p["explained"] is False and "CANCELED" in p["why"]
    assert p["stops"] == [{"client_id": STOP_ID, "algo_id": "4000000003",
                           "order_type": "STOP_MARKET", "found": True, "status": "CANCELED"}]


def test_a_fill_smaller_than_the_position_is_reported_but_does_not_explain_the_close():
    step = reconcile(had_position(), flat_with(fired(qty="0.004", pnl="-4.8")))

    p = step.payload
    assert p["explained"] is False and p["qty"] == "0.004" and p["price"] == "58790.0"
    assert "0.004 of 0.010" in p["why"]


def test_a_fill_without_realized_pnl_is_explained_and_says_nothing_about_pnl():
    p = reconcile(had_position(), flat_with(fired(pnl=None))).payload

    assert p["explained"] is True and "pnl" not in p


def test_the_explained_close_still_cancels_our_stops_left_resting():
    leftover = stop_info(TRAIL_ID, "0", algo_id="4000000002")
    step = reconcile(had_position(trailing=TRAIL), flat_with(fired(), stops=(leftover,)))

    assert [c.client_id for c in step.requests if isinstance(c, CancelStop)] == [TRAIL_ID]


def test_a_symbol_that_was_already_flat_journals_no_explanation():
    step = reconcile(SymbolState(SYMBOL, State.RECONCILING), flat_with())

    assert step.kind == "reconciled_flat" and "explained" not in step.payload
