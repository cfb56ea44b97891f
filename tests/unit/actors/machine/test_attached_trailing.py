"""Native trailing on a venue whose trailing stop is the position's own (Bybit trading-stop,
Capabilities.native_trailing_follows_position): its system order has no client id, so it is
recognised as ours by the order id our placement read back (actors/machine/trailing.py
`claim`); a size change re-places nothing (the venue resizes it) and nothing ever cancels it
to replace it. The same steps on Binance's capabilities keep the new-first resize."""

from __future__ import annotations

import dataclasses

from actors.machine.trailing import claim, claim_rows, claimed_id
from actors.messages import CancelStop, FetchSymbol, PlaceStop
from actors.symbol_machine import Trigger
from actors.symbol_state import State
from tests.fakes.machine import (
    CAPABILITIES,
    Driver,
    algo_update,
    ctx,
    order_update,
    position,
    reply,
    snapshot,
    stop_info,
    trailing_info,
)
from tests.fakes.native import (
    NATIVE,
    QTY,
    STOP_ID,
    TR_ID,
    TRAILING,
    D,
    native_protected,
    open_native_and_protect,
    trailing_ops,
    trailing_order,
)

ATTACHED = dataclasses.replace(CAPABILITIES, amend_in_place=True,
                               native_trailing_follows_position=True)
SYSTEM_ID = "4000000002"  # the order id of the system TrailingStop order, read back


def attached(**kw) -> Driver:
    return Driver(pol=NATIVE, venue=ATTACHED, **kw)


def test_an_update_without_client_id_naming_our_trailing_order_id_is_ours():
    s = native_protected()
    ev = algo_update("", "TRIGGERED", algo_id=SYSTEM_ID, order_type=TRAILING)
    assert claim(s, ev, ctx(pol=NATIVE, venue=ATTACHED)).client_id == TR_ID
    # another order id, another type, or a venue whose orders carry ids: not claimed
    other = algo_update("", "NEW", algo_id="999", order_type=TRAILING)
    assert claim(s, other, ctx(pol=NATIVE, venue=ATTACHED)).client_id == ""
    stop = algo_update("", "NEW", algo_id=SYSTEM_ID)
    assert claim(s, stop, ctx(pol=NATIVE, venue=ATTACHED)).client_id == ""
    assert claim(s, ev, ctx(pol=NATIVE, venue=CAPABILITIES)).client_id == ""


def test_while_the_order_id_is_unknown_the_one_trailing_stop_of_the_position_is_ours():
    s = native_protected(trailing=trailing_order(algo_id=""))
    assert claimed_id(s, "", "any-id", TRAILING) == TR_ID
    in_flight = native_protected(trailing=None, pending_trailing=trailing_order(algo_id=None))
    assert claimed_id(in_flight, "", "any-id", TRAILING) == TR_ID
    assert claimed_id(native_protected(trailing=None), "", "any-id", TRAILING) is None


def test_the_stream_names_the_order_id_the_placement_could_not_read_back():
    d = attached(s=native_protected(trailing=trailing_order(algo_id="")))
    step = d.apply(Trigger.ALGO, algo_update("", "NEW", algo_id=SYSTEM_ID,
                                             order_type=TRAILING))
    assert step.kind == "trailing_id_learned" and not step.requests
    assert d.s.trailing.algo_id == SYSTEM_ID


def test_a_size_change_re_places_nothing_the_venue_resizes_its_own_stop():
    d = attached()
    open_native_and_protect(d)
    step = d.apply(Trigger.POSITION, position("0.020"))
    assert trailing_ops(step) == [] and not any(isinstance(r, CancelStop)
                                                for r in step.requests)
    assert d.s.trailing.algo_id == SYSTEM_ID and d.s.trailing.qty == D("0.020")
    assert "trailing_resize_requested" not in d.kinds
    # Bybit's update of the same order with the new size changes nothing more
    assert d.apply(Trigger.ALGO, algo_update("", "NEW", algo_id=SYSTEM_ID, qty="0.020",
                                             order_type=TRAILING)) is None


def test_binance_still_resizes_new_first():
    d = Driver(pol=NATIVE)
    open_native_and_protect(d)
    step = d.apply(Trigger.POSITION, position("0.020"))
    (op,) = trailing_ops(step)
    assert op.qty == D("0.020") and op.client_id != TR_ID


def test_a_placement_accepted_for_an_older_size_is_not_placed_again():
    d = attached()
    open_native_and_protect(d)
    d.s = d.s.replace(trailing=None, pending_trailing=trailing_order(algo_id=None))
    d.s = d.s.replace(qty=D("0.020"))
    op = PlaceStop(d.s.symbol, "SELL", QTY, TR_ID, TRAILING, None, "MARK_PRICE",
                   callback_rate_pct=D("0.5"), activate_price=D("60600"))
    step = d.apply(Trigger.TRAILING_REPLY, reply(op, trailing_info(TR_ID, algo_id="77")))
    assert step.kind == "trailing_placed" and step.requests == ()
    assert (d.s.trailing.algo_id, d.s.trailing.qty) == ("77", D("0.020"))


def test_the_trailing_fill_without_client_id_ends_flat_and_cancels_only_the_fixed_stop():
    d = attached()
    open_native_and_protect(d)
    fill = dataclasses.replace(order_update("", order_type=TRAILING, avg="60695"),
                               order_id=SYSTEM_ID)
    step = d.apply(Trigger.ORDER, fill)
    assert step.kind == "trailing_filled" and d.s.state is State.FLAT
    assert [c.client_id for c in step.requests if isinstance(c, CancelStop)] == [STOP_ID]


def test_reconcile_keeps_the_attached_trailing_stop_instead_of_restoring_it():
    d = attached(s=native_protected(state=State.RECONCILING))
    rows = (stop_info(STOP_ID, "58800"), trailing_info("", algo_id=SYSTEM_ID, qty="0.010"))
    step = d.apply(Trigger.SNAPSHOT, reply(_fetch(), snapshot("0.010", "60000", rows)))
    assert step.kind == "reconciled_protected" and step.payload["trailing"] == "kept"
    assert trailing_ops(step) == [] and not any(isinstance(r, CancelStop)
                                                for r in step.requests)
    assert (d.s.trailing.client_id, d.s.trailing.algo_id) == (TR_ID, SYSTEM_ID)


def test_reconcile_of_an_attached_stop_of_another_size_does_not_re_place_it():
    d = attached(s=native_protected(state=State.RECONCILING, qty=D("0.020")))
    rows = (stop_info(STOP_ID, "58800", qty="0.020"),
            trailing_info("", algo_id=SYSTEM_ID, qty="0.010"))
    step = d.apply(Trigger.SNAPSHOT, reply(_fetch(), snapshot("0.020", "60000", rows)))
    assert step.payload["trailing"] == "kept" and trailing_ops(step) == []


def test_a_trailing_stop_that_is_not_ours_is_replaced_by_ours_on_reconcile():
    # Another order id than the one we read back: set by someone else (the app); ours is
    # placed, which replaces it (one per position), and nothing is cancelled.
    d = attached(s=native_protected(state=State.RECONCILING))
    rows = (stop_info(STOP_ID, "58800"), trailing_info("", algo_id="55"))
    step = d.apply(Trigger.SNAPSHOT, reply(_fetch(), snapshot("0.010", "60000", rows)))
    assert step.payload["trailing"] == "restored" and len(trailing_ops(step)) == 1
    assert not any(isinstance(r, CancelStop) for r in step.requests)
    assert step.payload["foreign_stops"] == 1
    assert claim_rows(native_protected(), [rows[1]],
                      ctx(pol=NATIVE, venue=ATTACHED))[0].client_id == ""


def _fetch() -> FetchSymbol:
    return FetchSymbol("BTCUSDT")



def test_the_sweep_check_matches_the_attached_trailing_stop_by_its_order_id():
    from actors.machine.coverage import differences
    from actors.messages import StopCheck
    s = native_protected()
    rows = (stop_info(STOP_ID, "58800"), trailing_info("", algo_id=SYSTEM_ID))
    chk = StopCheck(s.symbol, QTY, rows, 0)
    assert differences(s, chk, ctx(pol=NATIVE, venue=ATTACHED)) == []
    # without the venue's word the row is an order of nobody's (not an extra of ours to
    # cancel), and ours is missing
    assert [k for k, _ in differences(s, chk)] == ["missing"]


def test_the_sweep_hands_the_actor_its_attached_trailing_stop_and_the_actor_finds_no_difference():
    """The account read lists the attached trailing stop without a client id: the sweep's
    plan keeps it for its symbol (actors/sweep.py), the actor claims it by its order id and
    sees nothing missing; without it every sweep would reconcile a stop that rests."""
    from actors.child_status import ChildStatus
    from actors.messages import AccountSnapshot, PositionInfo, SymbolView
    from actors.routing import Child
    from actors.sweep import plan_stop_checks
    from tests.fakes.machine import SYMBOL, T0

    s = native_protected().replace(orders_changed_ms=T0)
    system_order = trailing_info("", algo_id=SYSTEM_ID)
    snap = AccountSnapshot((PositionInfo(SYMBOL, QTY, D("60000")),),
                           (stop_info(STOP_ID, "58800"), system_order), T0 + 60_000)
    view = SymbolView(SYMBOL, "PROTECTED", "long", str(QTY), None, None, None, None, None,
                      False, None, 1, None, 0, 1)
    plan = plan_stop_checks(snap, {SYMBOL: Child(SYMBOL, address=object(),
                                                 status=ChildStatus.RUNNING, view=view)})
    [chk] = plan.checks
    assert system_order in chk.stops
    step = attached(s=s, now_ms=T0 + 60_050).apply(Trigger.STOP_CHECK, chk, advance_ms=0)
    assert step is None, step


def test_an_attached_trailing_stop_that_is_not_ours_is_no_difference():
    """A trailing stop the trader set by hand (no client id, another order id) while ours
    is managed: neither missing, nor an extra to cancel."""
    from actors.messages import StopCheck
    from tests.fakes.machine import SYMBOL, T0

    s = native_protected(trailing=None).replace(orders_changed_ms=T0)
    chk = StopCheck(SYMBOL, QTY, (stop_info(STOP_ID, "58800"),
                                  trailing_info("", algo_id="999")), T0 + 60_000)
    d = Driver(venue=ATTACHED, s=s, now_ms=T0 + 60_050)
    assert d.apply(Trigger.STOP_CHECK, chk, advance_ms=0) is None
