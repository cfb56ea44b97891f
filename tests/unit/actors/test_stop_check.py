"""The periodic sweep checks stops as well as sizes (issue 13).

The supervisor reads every open algo order of the account in one call and hands each running
symbol actor what the exchange shows for it (actors/sweep.py plan_stop_checks); the actor
compares that with its own state and reconciles when a stop of ours is missing, extra or the
wrong size (actors/machine/coverage.py). Pure: the plan and the state machine, no actor system.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from actors.child_status import ChildStatus
from actors.messages import (
    AccountSnapshot,
    FetchAccount,
    FetchSymbol,
    PositionInfo,
    StopCheck,
    SymbolView,
)
from venues.binance.adapter import LIMITS
from actors.protection import Side, initial_trail_state
from actors.routing import Child
from actors.sweep import plan_stop_checks
from actors.symbol_machine import Trigger, handle
from actors.symbol_state import State, StopOrder, SymbolState
from tests.fakes.machine import RULES, SYMBOL, T0, ctx, policy, reply, snapshot, stop_info

D = Decimal
QTY = D("0.010")
STOP_ID, OTHER_ID = "pg-7-BTCUSDT-sl-2", "pg-7-BTCUSDT-sl-1"
READ_MS = T0 + 60_000  # the sweep read the exchange a minute after our last change


def protected(**kw) -> SymbolState:
    s = SymbolState(SYMBOL, State.PROTECTED, Side.LONG, QTY, D("60000"), order_counter=2,
                    trail=initial_trail_state(Side.LONG, D("60000"), policy(), RULES),
                    stop=StopOrder(STOP_ID, "4000000001", D("58800"), QTY, "STOP_MARKET"),
                    orders_changed_ms=T0)
    return s.replace(**kw)


def check(*stops, amount: str = "0.010", fetched_ms: int = READ_MS) -> StopCheck:
    return StopCheck(SYMBOL, D(amount), tuple(stops), fetched_ms)


def run(s: SymbolState, chk: StopCheck):
    return handle(s, Trigger.STOP_CHECK, chk, ctx(READ_MS + 50))


# --------------------------------------------------------------------------- the actor judges


def test_a_stop_cancelled_on_the_exchange_with_its_event_lost_is_re_placed():
    # The field bug: status said PROTECTED with the cancelled id; nothing rests.
    s = protected()

    step = run(s, check())

    assert step.state.state is State.RECONCILING and step.refetch
    assert step.kind == "reconcile_started" and step.payload["reason"] == "sweep: stops differ"
    assert any("4000000001" in d and "not on the exchange" in d
               for d in step.payload["differs"])
    # ... and the reconcile that follows re-places it (actors/machine/reconcile.py):
    healed = handle(step.state, Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL),
                                                        snapshot("0.010", "60000")), ctx())
    assert healed.kind == "stop_missing_replaced" and healed.state.pending_stop is not None


def test_our_stop_resting_at_the_right_size_is_no_difference():
    assert run(protected(), check(stop_info(STOP_ID, "58800", algo_id="4000000001"))) is None


def test_a_stop_of_the_wrong_size_or_an_extra_stop_of_ours_reconciles():
    small = run(protected(), check(stop_info(STOP_ID, "58800", algo_id="4000000001",
                                             qty="0.004")))
    extra = run(protected(), check(stop_info(STOP_ID, "58800", algo_id="4000000001"),
                                   stop_info(OTHER_ID, "58000", algo_id="4000000000")))

    assert small.state.state is State.RECONCILING and "covers 0.004 of 0.010" in \
        small.payload["differs"][0]
    assert extra.state.state is State.RECONCILING and OTHER_ID in extra.payload["differs"][0]


def test_a_read_older_than_our_last_change_is_not_judged():
    s = protected(orders_changed_ms=READ_MS + 1)  # e.g. a move accepted after the read
    assert run(s, check()) is None


def test_a_symbol_with_a_request_in_flight_is_not_judged():
    s = protected(state=State.MOVING_STOP,
                  pending_stop=StopOrder("pg-7-BTCUSDT-sl-3", None, D("59000"), QTY,
                                         "STOP_MARKET"))
    assert run(s, check()) is None


def test_a_stop_of_ours_resting_while_we_are_flat_is_an_orphan_to_cancel():
    s = SymbolState(SYMBOL, orders_changed_ms=T0)
    step = run(s, check(stop_info(STOP_ID, "58800", algo_id="4000000001"), amount="0"))
    assert step.state.state is State.RECONCILING and step.refetch


def test_quarantined_a_missing_stop_is_repaired_but_extra_stops_wait_for_the_operator():
    s = protected(state=State.QUARANTINED, quarantine_reason="cancel failed 5 times")
    ok = stop_info(STOP_ID, "58800", algo_id="4000000001")

    missing = run(s, check())
    extra = run(s, check(ok, stop_info(OTHER_ID, "58000", algo_id="4000000000")))

    assert missing.state.state is State.RECONCILING and missing.state.quarantine_reason is None
    assert extra is None


# --------------------------------------------------------------------------- the supervisor plans


def _child(symbol: str, status: str = ChildStatus.RUNNING) -> Child:
    view = SymbolView(symbol, "PROTECTED", "long", "0.010", None, None, None, None, None,
                      False, None, 1, None, 0, 1)
    return Child(symbol, address=object(), status=status, view=view)


def test_each_running_actor_gets_only_our_stops_of_its_symbol_as_read():
    snap = AccountSnapshot(
        (PositionInfo("BTCUSDT", D("0.010"), D("60000")),
         PositionInfo("ETHUSDT", D("-1"), D("3000"))),
        (stop_info(STOP_ID, "58800"), stop_info("x-foreign-1", "50000"),  # not ours
         replace(stop_info("pg-7-ETHUSDT-sl-4", "3060", side="BUY", qty="1"),
                 symbol="ETHUSDT")), READ_MS)
    children = {"BTCUSDT": _child("BTCUSDT"), "ETHUSDT": _child("ETHUSDT")}

    plan = plan_stop_checks(snap, children)

    by = {c.symbol: c for c in plan.checks}
    assert [o.client_id for o in by["BTCUSDT"].stops] == [STOP_ID]
    assert [o.client_id for o in by["ETHUSDT"].stops] == ["pg-7-ETHUSDT-sl-4"]
    assert (by["ETHUSDT"].amount, by["BTCUSDT"].fetched_ms) == (D("-1"), READ_MS)
    assert plan.create == [] and plan.naked_quarantined == []


def test_orphan_stops_without_an_actor_get_one_and_a_naked_quarantined_symbol_is_named():
    orphan = replace(stop_info("pg-7-SOLUSDT-sl-2", "90"), symbol="SOLUSDT")
    snap = AccountSnapshot((PositionInfo("BTCUSDT", D("0.010"), D("60000")),), (orphan,),
                           READ_MS)
    children = {"BTCUSDT": _child("BTCUSDT", status=ChildStatus.QUARANTINED),
                "SOLUSDT": _child("SOLUSDT", status=ChildStatus.PASSIVATED)}

    plan = plan_stop_checks(snap, children)

    assert plan.create == ["SOLUSDT"] and plan.naked_quarantined == ["BTCUSDT"]
    assert plan.checks == []


def test_symbols_the_size_check_already_reconciles_get_no_stop_check():
    snap = AccountSnapshot((PositionInfo("BTCUSDT", D("0.010"), D("60000")),), (), READ_MS)
    assert plan_stop_checks(snap, {"BTCUSDT": _child("BTCUSDT")}, {"BTCUSDT"}).checks == []


def test_the_stop_check_costs_one_account_wide_read_whatever_the_symbol_count():
    # positionRisk (5) + openAlgoOrders without a symbol (40), Binance USD-M weights
    assert LIMITS.weight_of(FetchAccount()) == 45
