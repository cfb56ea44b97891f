"""The symbol state machine's table (actors/symbol_machine.py): every row, every illegal pair,
the target states a row allows, and the finer triggers an event is refined into.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from actors.machine import accepted, stream
from actors.messages import (
    CancelStop,
    ClosePosition,
    FetchSymbol,
    LookupOrder,
    MoveDeferred,
    MoveGrant,
    OpenPosition,
    PlaceMarket,
    PlaceStop,
    ReconcileRequest,
    StopCheck,
)
from actors.symbol_machine import TABLE, IllegalTransition, Row, Step, Trigger, allowed, handle
from actors.symbol_state import State, SymbolState, from_dict, to_dict
from tests.fakes.machine import (
    SYMBOL,
    T0,
    accept,
    algo_update,
    ctx,
    filled,
    mark,
    order_update,
    position,
    reply,
    snapshot,
    stop_info,
)
from tests.fakes.states import (
    BUILD,
    ENTRY,
    MOVE_ID,
    OPEN_ID,
    QTY,
    STOP_ID,
    open_unprotected,
    protected,
)
from venue.requests import AmendStop

D = Decimal
REFINED = {
    Trigger.POSITION: [Trigger.STALE_POSITION],
    Trigger.ORDER: [Trigger.OPEN_ORDER_UPDATE, Trigger.CLOSE_FILL, Trigger.STOP_FILL],
    Trigger.ALGO: [Trigger.STOP_ACCEPTED, Trigger.STOP_UPDATE, Trigger.TRAILING_ACCEPTED,
                   Trigger.TRAILING_UPDATE, Trigger.CANCELLING_UPDATE, Trigger.STRAY_UPDATE,
                   Trigger.AMEND_ACCEPTED, Trigger.PENDING_GONE],
    Trigger.MARKET_REPLY: [Trigger.OPEN_REPLY, Trigger.CLOSE_REPLY],
    Trigger.STOP_REPLY: [Trigger.STOP_ACCEPTED, Trigger.STOP_WOULD_TRIGGER],
    Trigger.TRAILING_REPLY: [Trigger.TRAILING_ACCEPTED],
    Trigger.LOOKUP_REPLY: [Trigger.OPEN_LOOKUP, Trigger.CLOSE_LOOKUP, Trigger.STOP_LOOKUP,
                           Trigger.TRAILING_LOOKUP, Trigger.STOP_ACCEPTED,
                           Trigger.TRAILING_ACCEPTED, Trigger.AMEND_ACCEPTED,
                           Trigger.AMEND_LOOKUP],
    Trigger.AMEND_REPLY: [Trigger.AMEND_ACCEPTED, Trigger.AMEND_NOT_RESTING,
                          Trigger.AMEND_WOULD_TRIGGER, Trigger.AMEND_REFUSED,
                          Trigger.AMEND_UNKNOWN],
}
FINER = {f for finer in REFINED.values() for f in finer}
QTY = D("0.010")
ENTRY = D("60000")
OPEN_ID = "pg-7-BTCUSDT-op-1"
STOP_ID = "pg-7-BTCUSDT-sl-2"
MOVE_ID = "pg-7-BTCUSDT-sl-3"


def _stop_cid(s: SymbolState) -> str:
    o = s.pending_stop or s.stop
    return o.client_id if o else STOP_ID


def _market_op(s: SymbolState) -> PlaceMarket:
    o = s.open_order or s.close_order
    if o is None:
        return PlaceMarket(SYMBOL, "BUY", QTY, OPEN_ID, reduce_only=False)
    return PlaceMarket(SYMBOL, o.side, o.qty, o.client_id, reduce_only=o is s.close_order)


def _stop_op(s: SymbolState) -> PlaceStop:
    p = s.pending_stop
    cid, trig = (p.client_id, p.trigger_price) if p else (STOP_ID, D("58800"))
    return PlaceStop(SYMBOL, "SELL", QTY, cid, "STOP_MARKET", trig, "MARK_PRICE")


def _trailing_op(s: SymbolState) -> PlaceStop:
    p = s.pending_trailing
    cid = p.client_id if p else "pg-7-BTCUSDT-tr-3"
    return PlaceStop(SYMBOL, "SELL", QTY, cid, "TRAILING_STOP_MARKET", None, "MARK_PRICE",
                     D("0.5"), D("60600"))


def event_for(trigger: Trigger, s: SymbolState) -> Any:
    """A plausible event for `trigger` in state `s` (matching the ids `s` waits for)."""
    cid = _stop_cid(s)
    return {
        Trigger.OPEN: lambda: OpenPosition(SYMBOL, "long", QTY, "cmd-9"),
        Trigger.CLOSE: lambda: ClosePosition(SYMBOL, command_id="cmd-10"),
        Trigger.RECONCILE: lambda: ReconcileRequest(SYMBOL, "test"),
        Trigger.MARK: lambda: mark("61000"),
        Trigger.POSITION: lambda: position("0.010"),
        Trigger.ORDER: lambda: order_update(cid, pnl="-12"),
        Trigger.ALGO: lambda: algo_update(cid, "NEW"),
        Trigger.MARKET_REPLY: lambda: filled(_market_op(s)),
        Trigger.STOP_REPLY: lambda: accept(_stop_op(s)),
        Trigger.TRAILING_REPLY: lambda: accept(_trailing_op(s)),
        Trigger.CANCEL_REPLY: lambda: reply(CancelStop(SYMBOL, "4000000001", cid)),
        Trigger.LOOKUP_REPLY: lambda: reply(LookupOrder(SYMBOL, cid, True),
                                            stop_info(cid, "58800")),
        Trigger.SNAPSHOT: lambda: reply(FetchSymbol(SYMBOL), snapshot(
            "0.010", "60000", (stop_info(cid, "58800"),))),
        Trigger.RETRY: lambda: _stop_op(s),
        Trigger.STOP_CHECK: lambda: StopCheck(SYMBOL, D("0.010"), (stop_info(cid, "58800"),),
                                              T0 + 10_000),
        Trigger.MOVE_DEFERRED: lambda: MoveDeferred("req-move", _stop_op(s)),
        Trigger.MOVE_GRANT: lambda: MoveGrant(SYMBOL),
        Trigger.AMEND_REPLY: lambda: reply(AmendStop(SYMBOL, "4000000001", cid, D("60695")),
                                           stop_info(cid, "60695")),
    }[trigger]()


SHELL_TRIGGERS = [t for t in Trigger if t not in FINER]
"""What the shell sends (event_for builds one of each); the rest are refined from them."""
ROWS = [(t, st_) for t in SHELL_TRIGGERS for st_ in State if (st_, t) in TABLE]
NOT_ROWS = [(t, st_) for t in SHELL_TRIGGERS for st_ in State if (st_, t) not in TABLE]


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize(("trigger", "state"), ROWS, ids=lambda v: v.name)
def test_every_table_row_returns_none_or_a_step_with_a_valid_state(trigger, state):
    # Arrange
    s = BUILD[state]()
    # Act
    step = handle(s, trigger, event_for(trigger, s), ctx())
    # Assert
    assert step is None or (isinstance(step, Step) and isinstance(step.state.state, State))
    if step is not None:
        assert from_dict(to_dict(step.state)) == step.state


@pytest.mark.parametrize(("trigger", "state"), NOT_ROWS, ids=lambda v: v.name)
def test_a_pair_missing_from_the_table_raises_naming_state_and_trigger(trigger, state):
    s = BUILD[state]()
    assert not allowed(state, trigger)
    with pytest.raises(IllegalTransition, match=f"^{state.name} -> {trigger.name}$"):
        handle(s, trigger, event_for(trigger, s), ctx())


def test_every_finer_trigger_has_a_row_wherever_its_coarse_trigger_has_one():
    # A refined event must never find its state without a row (the shell asked allowed()
    # of the coarse trigger only).
    assert FINER | set(SHELL_TRIGGERS) == set(Trigger)
    for trigger, finer in REFINED.items():
        for st_ in State:
            assert all(((st_, f) in TABLE) == ((st_, trigger) in TABLE) for f in finer)


def test_every_row_names_a_function_and_only_states_as_targets():
    for (st_, trigger), row in TABLE.items():
        assert callable(row.handler) and row.handler.__doc__, (st_, trigger)
        assert all(isinstance(t, State) for t in row.targets), (st_, trigger)


def test_a_fill_of_our_stop_is_the_stop_fill_row_and_goes_flat():
    # Arrange: protected, and the stream reports our stop filled completely
    s = protected()
    ev = order_update(STOP_ID, pnl="-12")
    # Act
    step = handle(s, Trigger.ORDER, ev, ctx())
    # Assert: one row, one function
    assert TABLE[(State.PROTECTED, Trigger.STOP_FILL)].handler is stream.stop_filled
    assert step.kind == "stop_filled" and step.state.state is State.FLAT


def test_a_handler_moving_to_a_state_outside_its_row_raises_naming_both_and_the_trigger(
        monkeypatch):
    # Arrange: the PROTECTED + RECONCILE row claims its handler never leaves PROTECTED
    key = (State.PROTECTED, Trigger.RECONCILE)
    monkeypatch.setitem(TABLE, key, Row(TABLE[key].handler, frozenset({State.PROTECTED})))
    # Act / Assert: the handler moves to RECONCILING
    with pytest.raises(IllegalTransition,
                       match="^PROTECTED -> RECONCILE: reconcile moved to RECONCILING"):
        handle(protected(), Trigger.RECONCILE, event_for(Trigger.RECONCILE, protected()),
               ctx())


@pytest.mark.parametrize("how", ["rest", "stream", "lookup"])
def test_a_stop_accepted_is_one_row_however_the_news_came(how):
    # Arrange: the stop is in flight for an open position
    s = open_unprotected()
    op = PlaceStop(SYMBOL, "SELL", QTY, STOP_ID, "STOP_MARKET", D("58800"), "MARK_PRICE")
    news = {"rest": (Trigger.STOP_REPLY, accept(op)),
            "stream": (Trigger.ALGO, algo_update(STOP_ID, "NEW")),
            "lookup": (Trigger.LOOKUP_REPLY, reply(LookupOrder(SYMBOL, STOP_ID, True),
                                                   stop_info(STOP_ID, "58800")))}[how]
    # Act
    step = handle(s, *news, ctx())
    # Assert
    assert TABLE[(State.OPEN_UNPROTECTED, Trigger.STOP_ACCEPTED)].handler is \
        accepted.stop_accepted
    assert step.kind == "stop_placed" and step.state.state is State.PROTECTED
    assert step.payload["source"] == how
