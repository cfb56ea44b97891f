"""Native trailing states and a position driven to PROTECTED in native mode, for the unit
tests of native trailing (tests/unit/actors/test_native_trailing_*.py)."""

from __future__ import annotations

from decimal import Decimal


from actors.messages import OpenPosition, PlaceMarket, PlaceStop
from actors.protection import Side, initial_trail_state
from actors.symbol_machine import Trigger
from actors.symbol_state import State, StopOrder, SymbolState
from tests.fakes.machine import RULES, SYMBOL, Driver, accept, ctx, filled, only, policy

D = Decimal
QTY = D("0.010")
ENTRY = D("60000")
TRAILING = "TRAILING_STOP_MARKET"
STOP_ID = "pg-7-BTCUSDT-sl-2"
TR_ID = "pg-7-BTCUSDT-tr-3"
NATIVE = policy(mode="native")


def nctx():
    return ctx(pol=NATIVE)


def trailing_order(cid: str = TR_ID, algo_id: str | None = "4000000002",
                   qty: Decimal = QTY) -> StopOrder:
    return StopOrder(cid, algo_id, None, qty, TRAILING, D("0.5"), D("60600"))


def native_protected(**kw) -> SymbolState:
    """PROTECTED in native mode: the fixed stop and the trailing order both rest."""
    s = SymbolState(SYMBOL, State.PROTECTED, Side.LONG, QTY, ENTRY,
                    trail=initial_trail_state(Side.LONG, ENTRY, NATIVE, RULES), order_counter=3,
                    stop=StopOrder(STOP_ID, "4000000001", D("58800"), QTY, "STOP_MARKET"),
                    trailing=trailing_order())
    return s.replace(**kw)


def trailing_ops(step) -> list[PlaceStop]:
    return [r for r in step.requests if isinstance(r, PlaceStop) and r.order_type == TRAILING]


def fixed_ops(step) -> list[PlaceStop]:
    return [r for r in step.requests if isinstance(r, PlaceStop) and r.order_type != TRAILING]


def open_native_and_protect(d: Driver, side: str = "long") -> tuple[PlaceStop, PlaceStop]:
    """FLAT -> PROTECTED in native mode; returns (fixed stop op, trailing op), both accepted."""
    op = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, side, QTY, "cmd-1")), PlaceMarket)
    step = d.apply(Trigger.MARKET_REPLY, filled(op, avg="60000"))
    (stop,), (trail,) = fixed_ops(step), trailing_ops(step)
    d.apply(Trigger.STOP_REPLY, accept(stop, algo_id="4000000001"))
    d.apply(Trigger.TRAILING_REPLY, accept(trail, algo_id="4000000002"))
    return stop, trail


def filled_with_trailing_in_flight(d: Driver) -> PlaceStop:
    op = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", QTY, "cmd-1")), PlaceMarket)
    step = d.apply(Trigger.MARKET_REPLY, filled(op, avg="60000"))
    d.apply(Trigger.STOP_REPLY, accept(fixed_ops(step)[0], algo_id="4000000001"))
    return trailing_ops(step)[0]
