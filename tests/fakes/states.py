"""Symbol states in every state of the machine, and a position driven to PROTECTED, for the
state machine's unit tests (tests/unit/actors/test_machine_*.py)."""

from __future__ import annotations

from decimal import Decimal


from actors.messages import OpenPosition, PlaceMarket, PlaceStop
from actors.protection import Side, initial_trail_state
from actors.symbol_machine import Trigger
from actors.symbol_state import PendingOrder, State, StopOrder, SymbolState
from tests.fakes.machine import RULES, SYMBOL, Driver, accept, filled, only, policy

D = Decimal
QTY = D("0.010")
ENTRY = D("60000")
OPEN_ID = "pg-7-BTCUSDT-op-1"
STOP_ID = "pg-7-BTCUSDT-sl-2"
MOVE_ID = "pg-7-BTCUSDT-sl-3"


# --------------------------------------------------------------------------- state builders


def trail_for(side: Side = Side.LONG, entry: Decimal = ENTRY):
    return initial_trail_state(side, entry, policy(), RULES)


def flat() -> SymbolState:
    return SymbolState(SYMBOL)


def opening() -> SymbolState:
    return SymbolState(SYMBOL, State.OPENING, order_counter=1, command_ids=("cmd-1",),
                       open_order=PendingOrder(OPEN_ID, "cmd-1", "BUY", QTY))


def open_unprotected() -> SymbolState:
    return SymbolState(SYMBOL, State.OPEN_UNPROTECTED, Side.LONG, QTY, ENTRY,
                       trail=trail_for(), order_counter=2,
                       pending_stop=StopOrder(STOP_ID, None, D("58800"), QTY, "STOP_MARKET"))


def protected() -> SymbolState:
    return SymbolState(SYMBOL, State.PROTECTED, Side.LONG, QTY, ENTRY, trail=trail_for(),
                       order_counter=2,
                       stop=StopOrder(STOP_ID, "4000000001", D("58800"), QTY, "STOP_MARKET"))


def moving_stop() -> SymbolState:
    s = protected()
    trail = s.trail.__class__(active=True, peak=D("61000"), stop_price=D("58800"),
                              last_move_ms=0, moves=0)
    return s.replace(state=State.MOVING_STOP, trail=trail, order_counter=3,
                     pending_stop=StopOrder(MOVE_ID, None, D("60695"), QTY, "STOP_MARKET"))


def closing() -> SymbolState:
    return protected().replace(state=State.CLOSING, order_counter=3, close_order=PendingOrder(
        "pg-7-BTCUSDT-cl-3", "cmd-2", "SELL", QTY))


def reconciling() -> SymbolState:
    return protected().replace(state=State.RECONCILING)


def quarantined() -> SymbolState:
    return protected().replace(state=State.QUARANTINED, quarantine_reason="stop failed 3x")


BUILD = {State.FLAT: flat, State.OPENING: opening, State.OPEN_UNPROTECTED: open_unprotected,
         State.PROTECTED: protected, State.MOVING_STOP: moving_stop, State.CLOSING: closing,
         State.RECONCILING: reconciling, State.QUARANTINED: quarantined}


SIDES = {
    # side: (order side, closing side, entry, expected initial stop, mark past activation)
    "long": ("BUY", "SELL", "60123.45", D("58920.9"), "61000"),
    "short": ("SELL", "BUY", "60123.45", D("61326.0"), "59000"),
}


def tighter(side: str, new: Decimal, old: Decimal) -> bool:
    return new > old if side == "long" else new < old


def open_and_protect(d: Driver, side: str = "long") -> PlaceStop:
    """FLAT -> OPENING -> OPEN_UNPROTECTED -> PROTECTED; returns the accepted stop."""
    open_side, _, entry, _, _ = SIDES[side]
    step = d.apply(Trigger.OPEN, OpenPosition(SYMBOL, side, QTY, "cmd-1"))
    op = only(step, PlaceMarket)
    step = d.apply(Trigger.MARKET_REPLY, filled(op, avg=entry))
    stop = only(step, PlaceStop)
    d.apply(Trigger.STOP_REPLY, accept(stop, algo_id="4000000001"))
    return stop

