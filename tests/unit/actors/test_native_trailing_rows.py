"""Native trailing: its reply in every state of the table, and its orders in the snapshot.
"""

from __future__ import annotations


import pytest

from actors.messages import CancelStop, PlaceStop
from actors.machine import timers
from actors.symbol_machine import TABLE, Trigger, handle
from actors.symbol_state import PendingOrder, State, StopOrder, SymbolState, from_dict, to_dict
from tests.fakes.native import (
    D,
    QTY,
    TRAILING,
    STOP_ID,
    TR_ID,
    nctx,
    trailing_order,
    native_protected,
)
from tests.fakes.machine import SYMBOL, accept


# --------------------------------------------------------------------------- table rows


STATE_WITH_TRAILING_IN_FLIGHT = {
    State.FLAT: lambda: SymbolState(SYMBOL),
    State.OPENING: lambda: SymbolState(SYMBOL, State.OPENING, order_counter=1, open_order=
                                       PendingOrder("pg-7-BTCUSDT-op-1", "c", "BUY", QTY)),
    State.OPEN_UNPROTECTED: lambda: native_protected(
        state=State.OPEN_UNPROTECTED, stop=None, trailing=None,
        pending_stop=StopOrder(STOP_ID, None, D("58800"), QTY, "STOP_MARKET"),
        pending_trailing=trailing_order(algo_id=None)),
    State.PROTECTED: lambda: native_protected(trailing=None,
                                              pending_trailing=trailing_order(algo_id=None)),
    State.MOVING_STOP: lambda: native_protected(
        state=State.MOVING_STOP, trailing=None, pending_trailing=trailing_order(algo_id=None),
        pending_stop=StopOrder("pg-7-BTCUSDT-sl-4", None, D("58800"), QTY, "STOP_MARKET")),
    State.CLOSING: lambda: native_protected(
        state=State.CLOSING, trailing=None, pending_trailing=trailing_order(algo_id=None),
        close_order=PendingOrder("pg-7-BTCUSDT-cl-4", "c", "SELL", QTY)),
    State.RECONCILING: lambda: native_protected(state=State.RECONCILING, trailing=None,
                                                pending_trailing=trailing_order(algo_id=None)),
    State.QUARANTINED: lambda: native_protected(state=State.QUARANTINED, trailing=None,
                                                pending_trailing=trailing_order(algo_id=None)),
}
EXPECTED_KIND = {
    State.FLAT: "stale_stop_cancelled", State.OPENING: "stale_stop_cancelled",
    State.OPEN_UNPROTECTED: "trailing_placed", State.PROTECTED: "trailing_placed",
    State.MOVING_STOP: "trailing_placed", State.CLOSING: "stale_stop_cancelled",
    State.RECONCILING: "event_during_reconcile",
    State.QUARANTINED: "trailing_placed_while_quarantined",
}


def test_trailing_reply_is_legal_in_every_state():
    assert {st for st, t in TABLE if t is Trigger.TRAILING_REPLY} == set(State)


@pytest.mark.parametrize("state", list(State), ids=lambda v: v.name)
def test_every_trailing_reply_row(state):
    # Arrange: a trailing placement in flight (or, FLAT / OPENING, one we no longer track)
    s = STATE_WITH_TRAILING_IN_FLIGHT[state]()
    op = PlaceStop(SYMBOL, "SELL", QTY, TR_ID, TRAILING, None, "MARK_PRICE", D("0.5"),
                   D("60600"))
    # Act
    step = handle(s, Trigger.TRAILING_REPLY, accept(op, algo_id="4000000009"), nctx())
    # Assert
    assert step.kind == EXPECTED_KIND[state]
    assert step.state.state is state
    cancels = [r for r in step.requests if isinstance(r, CancelStop)]
    if EXPECTED_KIND[state] == "stale_stop_cancelled":
        assert [(c.client_id, c.algo_id) for c in cancels] == [(TR_ID, "4000000009")]
    else:
        assert cancels == [] and not any(isinstance(r, PlaceStop) for r in step.requests)
    if EXPECTED_KIND[state].startswith("trailing_placed"):
        assert step.state.trailing.algo_id == "4000000009"
    assert from_dict(to_dict(step.state)) == step.state


def test_retry_row_while_quarantined_sends_nothing():
    s = native_protected(state=State.QUARANTINED, cancelling=(trailing_order("pg-7-X-tr-1"),))
    op = CancelStop(SYMBOL, "4000000002", "pg-7-X-tr-1")
    assert TABLE[(State.QUARANTINED, Trigger.RETRY)].handler is timers.retry_while_quarantined
    assert handle(s, Trigger.RETRY, op, nctx()) is None
    assert handle(s.replace(state=State.PROTECTED), Trigger.RETRY, op, nctx()).requests == (op,)


# --------------------------------------------------------------------------- snapshot


def test_snapshot_round_trip_keeps_the_trailing_orders_and_failure_counts():
    s = native_protected(pending_trailing=trailing_order("pg-7-BTCUSDT-tr-5", None),
                         op_failures={"cancel:pg-7-BTCUSDT-sl-1": 2},
                         cancelling=(trailing_order("pg-7-BTCUSDT-tr-1"),))
    back = from_dict(to_dict(s))
    assert back == s
    assert back.trailing.callback_rate_pct == D("0.5") and back.trailing.activate_price == \
        D("60600")


def test_snapshot_written_before_native_trailing_loads_with_defaults():
    # Arrange: a schema-1 snapshot as it was stored before these fields existed
    d = to_dict(native_protected(trailing=None))
    for key in ("trailing", "pending_trailing", "op_failures"):
        del d[key]
    for key in ("callback_rate_pct", "activate_price"):
        del d["stop"][key]
    # Act
    s = from_dict(d)
    # Assert
    assert s.trailing is None and s.pending_trailing is None and s.op_failures == {}
    assert s.stop == StopOrder(STOP_ID, "4000000001", D("58800"), QTY, "STOP_MARKET")
    assert s == native_protected(trailing=None)


def test_a_trailing_placement_in_flight_keeps_a_flat_symbol_live():
    s = SymbolState(SYMBOL, pending_trailing=trailing_order(algo_id=None))
    assert s.live and not SymbolState(SYMBOL).live
