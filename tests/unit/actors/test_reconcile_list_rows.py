"""Reconcile from Binance's list rows as they are today (Binance's SDK 18.1.0 models, which the
simulator follows): GET /fapi/v1/openAlgoOrders rows carry no callbackRate / activatePrice.

A missing field is "not reported", not "none": the native trailing order we keep after a
restart keeps the parameters we placed it with (the snapshot's), so `status` still shows them.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from actors.messages import FetchSymbol, PlaceStop
from actors.protection import Side, initial_trail_state
from actors.symbol_machine import Trigger, handle
from actors.symbol_state import State, StopOrder, SymbolState
from tests.fakes.machine import (
    RULES,
    SYMBOL,
    ctx,
    policy,
    reply,
    snapshot,
    stop_info,
    trailing_info,
)

D = Decimal
QTY = D("0.010")
NATIVE = policy(mode="native")
STOP_ID, TR_ID = "pg-7-BTCUSDT-sl-2", "pg-7-BTCUSDT-tr-3"


def restarted() -> SymbolState:
    """A native-mode snapshot loaded after a restart: both orders rest, now RECONCILING."""
    return SymbolState(
        SYMBOL, State.RECONCILING, Side.LONG, QTY, D("60000"),
        trail=initial_trail_state(Side.LONG, D("60000"), NATIVE, RULES), order_counter=3,
        stop=StopOrder(STOP_ID, "4000000001", D("58800.0"), QTY, "STOP_MARKET"),
        trailing=StopOrder(TR_ID, "4000000002", None, QTY, "TRAILING_STOP_MARKET", D("0.5"),
                           D("60600.0")))


def test_a_trailing_row_without_its_parameters_keeps_the_ones_it_was_placed_with():
    row = dataclasses.replace(trailing_info(TR_ID, algo_id="4000000002"),
                              callback_rate_pct=None, activate_price=None)
    snap = snapshot("0.010", "60000", (stop_info(STOP_ID, "58800.0", algo_id="4000000001"),
                                       row))

    step = handle(restarted(), Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL), snap),
                  ctx(pol=NATIVE))

    assert step is not None and step.state.state is State.PROTECTED
    kept = step.state.trailing
    assert kept is not None and kept.client_id == TR_ID and kept.algo_id == "4000000002"
    assert (kept.callback_rate_pct, kept.activate_price) == (D("0.5"), D("60600.0"))
    assert not [r for r in step.requests if isinstance(r, PlaceStop)]


def test_parameters_the_exchange_does_report_are_the_truth():
    row = trailing_info(TR_ID, algo_id="4000000002", callback="0.8", activate="60900")
    snap = snapshot("0.010", "60000", (stop_info(STOP_ID, "58800.0", algo_id="4000000001"),
                                       row))

    step = handle(restarted(), Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL), snap),
                  ctx(pol=NATIVE))

    kept = step.state.trailing
    assert (kept.callback_rate_pct, kept.activate_price) == (D("0.8"), D("60900.0"))
