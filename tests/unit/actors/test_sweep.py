"""The periodic reconciler's plan: adopt positions with no actor, reconcile disagreements."""

from __future__ import annotations

from decimal import Decimal

from actors.child_status import ChildStatus
from actors.messages import PositionInfo, SymbolView
from actors.routing import Child
from actors.sweep import plan_sweep, signed_qty


def _view(symbol: str, state: str, side: str | None, qty: str) -> SymbolView:
    return SymbolView(symbol, state, side, qty, None, None, None, None, None, False, None, 1,
                      None, 0, 1)


def _child(symbol: str, state: str, side: str | None = None, qty: str = "0",
           status: str = ChildStatus.RUNNING) -> Child:
    return Child(symbol, address=object(), status=status, view=_view(symbol, state, side, qty))


def test_a_position_without_an_actor_or_with_a_passivated_one_gets_an_actor():
    children = {"ETHUSDT": _child("ETHUSDT", "FLAT", status=ChildStatus.PASSIVATED)}
    positions = (PositionInfo("BTCUSDT", Decimal("0.1"), Decimal(60000)),
                 PositionInfo("ETHUSDT", Decimal("-1"), Decimal(3000)))

    create, reconcile = plan_sweep(positions, children)

    assert (create, reconcile) == (["BTCUSDT", "ETHUSDT"], [])


def test_an_actor_whose_position_vanished_or_differs_reconciles_and_matching_ones_do_not():
    children = {"A": _child("A", "PROTECTED", "long", "1"),      # gone on the exchange
                "B": _child("B", "PROTECTED", "short", "2"),     # exchange says -1
                "C": _child("C", "PROTECTED", "short", "3"),     # matches
                "D": _child("D", "FLAT")}                        # matches (flat)
    positions = (PositionInfo("B", Decimal("-1"), Decimal(1)),
                 PositionInfo("C", Decimal("-3"), Decimal(1)))

    create, reconcile = plan_sweep(positions, children)

    assert (create, reconcile) == ([], ["A", "B"])


def test_busy_and_quarantined_actors_are_left_alone():
    children = {"A": _child("A", "MOVING_STOP", "long", "1"),
                "B": _child("B", "PROTECTED", "long", "1", status=ChildStatus.QUARANTINED)}

    create, reconcile = plan_sweep((), children)

    assert (create, reconcile) == ([], [])


def test_signed_qty_is_negative_for_shorts_and_zero_when_flat():
    assert [signed_qty("long", "1.5"), signed_qty("short", "2"), signed_qty(None, "0")] == [
        Decimal("1.5"), Decimal(-2), Decimal(0)]
