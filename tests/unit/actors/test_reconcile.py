"""Unit tests for reconciliation (actors/machine/reconcile.py) through Trigger.SNAPSHOT in RECONCILING."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.messages import (
    CancelStop,
    FailureKind,
    FetchSymbol,
    PlaceMarket,
    PlaceStop,
    ReconcileRequest,
    StopPurpose,
)
from actors.protection import Side, TrailState, initial_trail_state
from actors.symbol_machine import Trigger, handle
from actors.symbol_state import State, StopOrder, SymbolState, from_dict, to_dict
from venue.requests import AmendStop
from tests.fakes.machine import (
    AMEND_CAPS,
    CAPABILITIES,
    RULES,
    SYMBOL,
    ctx,
    failure,
    policy,
    reply,
    snapshot,
    stop_info,
    trailing_info,
)

D = Decimal
QTY = D("0.010")
OLD_ID = "pg-7-BTCUSDT-sl-2"
NEW_ID = "pg-7-BTCUSDT-sl-3"
FOREIGN_ID = "x-cvBPrNm97b8f79aee1fdb87b5e8e2f"


def trailed() -> TrailState:
    """Trailing state persisted before a restart: active, peak 61000, stop moved twice."""
    return TrailState(active=True, peak=D("61000"), stop_price=D("60695.0"),
                      last_move_ms=1_795_263_299_000, moves=2)


def had_position(**kw) -> SymbolState:
    """What a snapshot loaded after a restart looks like, already RECONCILING."""
    base = SymbolState(SYMBOL, State.RECONCILING, Side.LONG, QTY, D("60000"),
                       trail=trailed(), order_counter=3,
                       stop=StopOrder(NEW_ID, "4000000003", D("60695.0"), QTY, "STOP_MARKET"))
    return base.replace(**kw)


def run(s: SymbolState, snap) -> object:
    return handle(s, Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL), snap), ctx())


def requests_of(step, kind):
    return [r for r in step.requests if isinstance(r, kind)]


def test_reconcile_request_enters_reconciling_and_asks_for_a_fetch():
    s = had_position(state=State.PROTECTED)
    step = handle(s, Trigger.RECONCILE, ReconcileRequest(SYMBOL, "reconnect"), ctx())
    assert step.state.state is State.RECONCILING and step.refetch and step.requests == ()


def test_exchange_flat_while_we_had_a_position_records_the_close_and_cancels_our_stops():
    # Arrange: the stop fired while we were away; an extra stop of ours still rests,
    # and a stop that is not ours rests too
    s = had_position()
    snap = snapshot("0", "0", (stop_info(OLD_ID, "58800", algo_id="11"),
                               stop_info(FOREIGN_ID, "50000", algo_id="99")))
    # Act
    step = run(s, snap)
    # Assert
    assert step.state.state is State.FLAT and step.kind == "closed_while_away"
    assert step.state.side is None and step.state.qty == 0 and step.state.stop is None
    cancels = requests_of(step, CancelStop)
    assert [(c.client_id, c.algo_id) for c in cancels] == [(OLD_ID, "11")]
    assert not requests_of(step, PlaceStop) and not requests_of(step, PlaceMarket)


def test_exchange_flat_and_we_were_flat_is_reconciled_flat():
    step = run(SymbolState(SYMBOL, State.RECONCILING), snapshot("0", "0"))
    assert step.state.state is State.FLAT and step.kind == "reconciled_flat"
    assert step.requests == ()


def test_position_without_a_stop_replaces_it_at_the_persisted_trail_price():
    # Arrange: restart after a crash; the stop is gone from the exchange
    s = had_position()
    # Act
    step = run(s, snapshot("0.010", "60000", (stop_info(FOREIGN_ID, "50000", algo_id="99"),)))
    # Assert: re-placed at the trailed stop, trailing state intact (I-3)
    assert step.kind == "stop_missing_replaced" and step.state.state is State.OPEN_UNPROTECTED
    (stop,) = requests_of(step, PlaceStop)
    assert (stop.trigger_price, stop.qty, stop.side) == (D("60695.0"), QTY, "SELL")
    assert step.state.trail == trailed()
    assert not requests_of(step, CancelStop)


def test_two_of_our_stops_keep_the_pending_one_and_cancel_the_other():
    # Arrange: a move was in flight: both the old and the new stop rest on the exchange
    s = had_position(stop=StopOrder(OLD_ID, "11", D("60000"), QTY, "STOP_MARKET"),
                     pending_stop=StopOrder(NEW_ID, None, D("60695.0"), QTY, "STOP_MARKET"))
    snap = snapshot("0.010", "60000", (stop_info(OLD_ID, "60000", algo_id="11"),
                                       stop_info(NEW_ID, "60695.0", algo_id="12"),
                                       stop_info(FOREIGN_ID, "50000", algo_id="99")))
    # Act
    step = run(s, snap)
    # Assert
    assert step.state.state is State.PROTECTED and step.kind == "duplicate_stops_cancelled"
    assert (step.state.stop.client_id, step.state.stop.algo_id) == (NEW_ID, "12")
    assert [c.client_id for c in requests_of(step, CancelStop)] == [OLD_ID]
    assert step.state.pending_stop is None and not requests_of(step, PlaceStop)


def test_two_of_our_stops_keep_the_known_stop_when_nothing_was_pending():
    s = had_position(stop=StopOrder(OLD_ID, "11", D("60000"), QTY, "STOP_MARKET"))
    snap = snapshot("0.010", "60000", (stop_info(NEW_ID, "60695.0", algo_id="12"),
                                       stop_info(OLD_ID, "60000", algo_id="11")))
    step = run(s, snap)
    assert step.state.stop.client_id == OLD_ID
    assert [c.client_id for c in requests_of(step, CancelStop)] == [NEW_ID]
    # the resting order is the truth about where the stop is
    assert step.state.trail.stop_price == D("60000")


def test_our_stop_in_place_reconciles_protected_with_nothing_to_send():
    step = run(had_position(), snapshot("0.010", "60000", (
        stop_info(NEW_ID, "60695.0", algo_id="4000000003"),)))
    assert step.kind == "reconciled_protected" and step.state.state is State.PROTECTED
    assert step.requests == () and step.state.trail == trailed()


def test_foreign_stops_are_never_cancelled_or_adopted_as_ours():
    step = run(had_position(), snapshot("0.010", "60000", (
        stop_info(NEW_ID, "60695.0", algo_id="4000000003"),
        stop_info(FOREIGN_ID, "50000", algo_id="99"),
        stop_info("pg-7-ETHUSDT-sl-5", "3000", algo_id="98"))))
    assert requests_of(step, CancelStop) == []
    assert step.state.stop.client_id == NEW_ID and step.payload["foreign_stops"] == 2


def test_unknown_position_is_adopted_and_protected_with_the_default_policy():
    # Arrange: we know nothing of this symbol
    s = SymbolState(SYMBOL, State.RECONCILING)
    # Act: the exchange holds a short we never opened
    step = run(s, snapshot("-0.020", "60000"))
    # Assert
    assert step.kind == "position_adopted" and step.state.adopted
    assert step.state.state is State.OPEN_UNPROTECTED
    (stop,) = requests_of(step, PlaceStop)
    assert (stop.side, stop.qty, stop.trigger_price) == ("BUY", D("0.020"), D("61200"))
    assert step.state.trail == initial_trail_state(Side.SHORT, D("60000"), policy(), RULES)


def test_kept_stop_of_the_wrong_size_is_resized_new_first():
    s = had_position(qty=D("0.020"))
    step = run(s, snapshot("0.020", "60000", (
        stop_info(NEW_ID, "60695.0", algo_id="4000000003"),)))
    assert step.state.state is State.MOVING_STOP and step.kind == "stop_resize_requested"
    (stop,) = requests_of(step, PlaceStop)
    assert stop.qty == D("0.020") and stop.trigger_price == D("60695.0")
    assert not requests_of(step, CancelStop)


def test_event_during_reconcile_makes_the_next_snapshot_refetch():
    from tests.fakes.machine import position
    s = handle(had_position(), Trigger.POSITION, position("0"), ctx()).state
    step = run(s, snapshot("0.010", "60000"))
    assert step.kind == "reconcile_refetch" and step.refetch and step.state.state is \
        State.RECONCILING


def test_failed_fetch_retries_and_halt_quarantines():
    op = FetchSymbol(SYMBOL)
    step = handle(had_position(), Trigger.SNAPSHOT,
                  reply(op, fail=failure(FailureKind.TEMPORARY)), ctx())
    assert step.retry_after_ms and step.state.state is State.RECONCILING
    step = handle(had_position(), Trigger.SNAPSHOT,
                  reply(op, fail=failure(FailureKind.HALT, -1022)), ctx())
    assert step.state.state is State.QUARANTINED


def before_the_trail_activated() -> SymbolState:
    """Recovered after a restart: PROTECTED at the initial stop, the trail not yet active
    (the move the price asked for died with the store write, I-3)."""
    trail = initial_trail_state(Side.LONG, D("60000"), policy(), RULES)
    return SymbolState(SYMBOL, State.RECONCILING, Side.LONG, QTY, D("60000"), trail=trail,
                       order_counter=3, stop=StopOrder(NEW_ID, "4000000003", trail.stop_price,
                                                       QTY, "STOP_MARKET"))


@pytest.mark.parametrize("venue", [CAPABILITIES, AMEND_CAPS], ids=["new-first", "amend"])
def test_reconciled_protected_follows_the_mark_the_fetch_showed_without_waiting_for_a_tick(
        venue):
    """A quiet market sends no tick (Bybit's tickers push on change): the mark the fetch
    returned past the activation moves the stop in the same step, as a tick would."""
    s = before_the_trail_activated()
    snap = snapshot("0.010", "60000", (stop_info(NEW_ID, str(s.stop.trigger_price)),),
                    mark_price="61000")
    step = handle(s, Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL), snap), ctx(venue=venue))
    assert step.state.state is State.MOVING_STOP and step.state.trail.active
    [op] = [r for r in step.requests if isinstance(r, (PlaceStop, AmendStop))]
    assert isinstance(op, AmendStop if venue.amend_in_place else PlaceStop)
    assert op.trigger_price > s.stop.trigger_price and op.purpose is StopPurpose.MOVE


def test_reconciled_protected_below_the_activation_moves_nothing():
    s = before_the_trail_activated()
    snap = snapshot("0.010", "60000", (stop_info(NEW_ID, str(s.stop.trigger_price)),),
                    mark_price="60100")
    step = run(s, snap)
    assert step.state.state is State.PROTECTED and step.kind == "reconciled_protected"
    assert not step.requests and not step.state.trail.active


UNLISTED = "unknown symbol BTCUSDT"


def test_a_fetch_the_venue_refuses_for_a_symbol_we_know_nothing_of_ends_flat_not_retried():
    """REJECTED is "do not retry as is" (venue/errors.py): a fresh symbol's fetch refused (the
    venue does not list it) is not retried for ever; the actor settles FLAT and says why."""
    fresh = SymbolState(SYMBOL, State.RECONCILING)
    step = handle(fresh, Trigger.SNAPSHOT,
                  reply(FetchSymbol(SYMBOL), fail=failure(FailureKind.REJECTED, -1121,
                                                          UNLISTED)), ctx(rules=None))
    assert step.state.state is State.FLAT and step.kind == "reconcile_refused"
    assert step.retry_after_ms is None and not step.refetch and not step.requests
    assert UNLISTED in step.state.last_error


def test_a_refused_fetch_with_a_position_known_quarantines_naming_the_refusal():
    step = handle(had_position(), Trigger.SNAPSHOT,
                  reply(FetchSymbol(SYMBOL), fail=failure(FailureKind.REJECTED, -1121,
                                                          UNLISTED)), ctx())
    assert step.state.state is State.QUARANTINED and step.retry_after_ms is None
    assert UNLISTED in step.state.quarantine_reason


def test_an_open_after_the_venue_refused_the_fetch_is_refused_with_that_reason():
    from actors.messages import OpenPosition
    fresh = SymbolState(SYMBOL, State.RECONCILING)
    flat = handle(fresh, Trigger.SNAPSHOT,
                  reply(FetchSymbol(SYMBOL), fail=failure(FailureKind.REJECTED, -1121,
                                                          UNLISTED)), ctx(rules=None)).state
    step = handle(flat, Trigger.OPEN, OpenPosition(SYMBOL, "long", "1", "c1"), ctx(rules=None))
    assert step.outcome is not None and step.outcome[0] == "rejected"
    assert UNLISTED in step.outcome[1] and not step.requests


def test_reconciled_state_survives_the_snapshot_codec():
    step = run(had_position(), snapshot("0.010", "60000"))
    assert from_dict(to_dict(step.state)) == step.state


# --------------------------------------------------------------------------- native trailing

NATIVE_TR_ID = "pg-7-BTCUSDT-tr-4"


def native_ctx():
    return ctx(pol=policy(mode="native"))


def native_had_position(**kw) -> SymbolState:
    """A native-mode snapshot loaded after a restart: fixed stop and trailing order known."""
    base = SymbolState(SYMBOL, State.RECONCILING, Side.LONG, QTY, D("60000"),
                       trail=initial_trail_state(Side.LONG, D("60000"), policy(), RULES),
                       order_counter=4,
                       stop=StopOrder(OLD_ID, "11", D("58800"), QTY, "STOP_MARKET"),
                       trailing=StopOrder(NATIVE_TR_ID, "21", None, QTY, "TRAILING_STOP_MARKET",
                                          D("0.5"), D("60600")))
    return base.replace(**kw)


def native_run(s: SymbolState, snap):
    return handle(s, Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL), snap), native_ctx())


def test_native_matching_trailing_order_is_kept_with_its_exchange_id():
    step = native_run(native_had_position(), snapshot("0.010", "60000", (
        stop_info(OLD_ID, "58800", algo_id="11"), trailing_info(NATIVE_TR_ID, algo_id="21"))))
    assert step.kind == "reconciled_protected" and step.requests == ()
    assert step.state.trailing == native_had_position().trailing
    assert step.payload["trailing"] == "kept"


def test_native_missing_trailing_order_is_restored_and_the_fixed_stop_kept():
    step = native_run(native_had_position(), snapshot("0.010", "60000", (
        stop_info(OLD_ID, "58800", algo_id="11"),)))
    assert step.kind == "trailing_restored_on_reconcile"
    (place,) = requests_of(step, PlaceStop)
    assert (place.order_type, place.qty, place.side) == ("TRAILING_STOP_MARKET", QTY, "SELL")
    assert (place.callback_rate_pct, place.activate_price) == (D("0.5"), D("60600"))
    assert place.client_id == "pg-7-BTCUSDT-tr-5"
    assert step.state.stop.client_id == OLD_ID and step.state.trailing is None
    assert step.state.pending_trailing.client_id == place.client_id


def test_native_duplicate_trailing_orders_keep_the_known_one_and_cancel_the_rest():
    step = native_run(native_had_position(), snapshot("0.010", "60000", (
        stop_info(OLD_ID, "58800", algo_id="11"),
        trailing_info("pg-7-BTCUSDT-tr-9", algo_id="29"),
        trailing_info(NATIVE_TR_ID, algo_id="21"),
        trailing_info(FOREIGN_ID, algo_id="99"))))
    assert step.kind == "duplicate_trailing_cancelled"
    assert [(c.client_id, c.algo_id) for c in requests_of(step, CancelStop)] == [
        ("pg-7-BTCUSDT-tr-9", "29")]
    assert step.state.trailing.client_id == NATIVE_TR_ID and not requests_of(step, PlaceStop)


def test_native_trailing_order_of_the_wrong_size_is_resized_new_first():
    step = native_run(native_had_position(qty=D("0.020")), snapshot("0.020", "60000", (
        stop_info(OLD_ID, "58800", algo_id="11", qty="0.020"),
        trailing_info(NATIVE_TR_ID, algo_id="21"))))
    (place,) = requests_of(step, PlaceStop)
    assert place.order_type == "TRAILING_STOP_MARKET" and place.qty == D("0.020")
    assert not requests_of(step, CancelStop) and step.state.trailing.client_id == NATIVE_TR_ID
    assert step.payload["trailing"] == "resized"


def test_native_recovery_of_an_unknown_position_places_both_stops():
    step = native_run(SymbolState(SYMBOL, State.RECONCILING), snapshot("-0.020", "60000"))
    assert step.kind == "position_adopted"
    kinds = sorted(p.order_type for p in requests_of(step, PlaceStop))
    assert kinds == ["STOP_MARKET", "TRAILING_STOP_MARKET"]
    assert all(p.side == "BUY" and p.qty == D("0.020") for p in requests_of(step, PlaceStop))


def test_trailing_orders_of_ours_are_cancelled_when_the_mode_is_not_native():
    s = native_had_position()
    step = run(s, snapshot("0.010", "60000", (stop_info(OLD_ID, "58800", algo_id="11"),
                                              trailing_info(NATIVE_TR_ID, algo_id="21"))))
    assert [c.client_id for c in requests_of(step, CancelStop)] == [NATIVE_TR_ID]
    assert step.state.trailing is None and not requests_of(step, PlaceStop)


def test_closed_while_away_cancels_the_trailing_order_too():
    step = native_run(native_had_position(), snapshot("0", "0", (
        stop_info(OLD_ID, "58800", algo_id="11"), trailing_info(NATIVE_TR_ID, algo_id="21"))))
    assert step.kind == "closed_while_away" and step.state.trailing is None
    assert sorted(c.client_id for c in requests_of(step, CancelStop)) == sorted(
        [OLD_ID, NATIVE_TR_ID])


def test_trailing_order_of_ours_is_never_taken_for_the_fixed_stop():
    # the fixed stop is gone, only the trailing order rests: the fixed stop is re-placed
    step = native_run(native_had_position(), snapshot("0.010", "60000", (
        trailing_info(NATIVE_TR_ID, algo_id="21"),)))
    assert step.kind == "stop_missing_replaced"
    (place,) = requests_of(step, PlaceStop)
    assert place.order_type == "STOP_MARKET" and place.trigger_price == D("58800")
    assert step.state.trailing.client_id == NATIVE_TR_ID


def test_a_move_already_wished_for_is_left_to_the_pools_grant_and_the_wish_is_heard_again():
    """Reconciled PROTECTED with a move the pool deferred (MoveWish): nothing is placed now
    (the grant places it at the latest target); the pool is told the wish again."""
    from actors.messages import MoveWanted
    from actors.symbol_state import MoveWish
    s = before_the_trail_activated().replace(move_wish=MoveWish(1))
    snap = snapshot("0.010", "60000", (stop_info(NEW_ID, str(s.stop.trigger_price)),),
                    mark_price="61000")
    step = run(s, snap)
    assert step.state.state is State.PROTECTED and not step.requests
    assert step.state.trail.active and step.state.move_wish == MoveWish(1)
    assert [type(n) for n in step.notices] == [MoveWanted]
