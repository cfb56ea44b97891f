"""Invariants of stop moves in place over random histories (hypothesis), on a venue that
amends (AMEND_CAPS, as Bybit): never a gap, never two stops, one re-pricing in flight, the
snapshot codec round-trips. The exchange is tests/fakes/world.py, which also answers an
AmendStop (amended, refused, "not_found", timed out, deferred) and a lookup that finds the
amended trigger."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from actors.messages import OpenPosition, PlaceStop
from actors.protection import Side
from actors.symbol_machine import Trigger
from actors.symbol_state import State, from_dict, to_dict
from tests.fakes.machine import AMEND_CAPS, SYMBOL, AmendStop, CancelStop, Driver, policy
from tests.fakes.world import World, feed, reply_for
from venue.vocab import OrderKind

D = Decimal
QTY = D("0.010")
AMEND_STATES = (State.MOVING_STOP, State.CLOSING, State.QUARANTINED, State.RECONCILING)
"""Where an amend may still be in flight (it is sent only from PROTECTED -> MOVING_STOP)."""
SETTLING = (Trigger.AMEND_REPLY, Trigger.LOOKUP_REPLY, Trigger.MOVE_DEFERRED, Trigger.RETRY,
            Trigger.MARK, Trigger.MOVE_GRANT)


def _events():
    marks = st.integers(58_000, 66_000).map(lambda p: ("mark", D(p)))
    positions = st.sampled_from(["0", "0.010", "0.010", "0.020", "0.005", "-0.010"]).map(
        lambda a: ("pos", D(a)))
    kinds = st.sampled_from(["ok", "ok", "ok", "timeout", "2021", "temporary", "rejected",
                             "not_found", "lookup_new", "lookup_none", "lookup_amended",
                             "lookup_amended", "deferred", "halt"])
    replies = st.tuples(st.just("reply"), st.integers(0, 10), kinds)
    others = st.sampled_from([("algo_new", None), ("algo_amended", None), ("stop_lost", None),
                              ("stop_fill", None), ("retry", None), ("snap", None),
                              ("reconcile", None), ("grant", None), ("trailing_new", None),
                              ("trailing_fill", None), ("trailing_lost", None)])
    return st.one_of(marks, marks, positions, replies, replies, replies, others)


def _not_looser(side: Side, new: Decimal, old: Decimal) -> bool:
    return new >= old if side is Side.LONG else new <= old


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Found by CI (2026-12-04): a resize amend in flight, the native trailing order refused for
# good (QUARANTINED, the old stop resting), then the venue cancels that stop: a new stop was
# placed while the amend of the cancelled one still counted as in flight.
@example(side="long", interval=0, mode="native",
         events=[("pos", D("0.020")), ("reply", 1, "halt"), ("stop_lost", None)])
@given(side=st.sampled_from(["long", "short"]), interval=st.sampled_from([0, 1000]),
       mode=st.sampled_from(["managed", "managed", "native"]),
       events=st.lists(_events(), min_size=1, max_size=50))
def test_amends_never_leave_a_gap_or_two_stops(side, interval, mode, events):
    # Arrange: a protected position on an amend venue (native: the exchange's trailing order
    # beside the fixed stop, which is still re-sized in place)
    d = Driver(pol=policy(min_update_interval_ms=interval, mode=mode), venue=AMEND_CAPS)
    w = World(amount=QTY if side == "long" else -QTY)
    w.inflight.extend(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, side, QTY, "cmd-1")).requests)
    while w.inflight:
        feed(d, w, ("reply", 0, "ok"))
    assert d.s.state is State.PROTECTED
    # Act / Assert after every step
    for ev in events:
        before, n = d.s, len(d.steps)
        feed(d, w, ev)
        if len(d.steps) == n or d.steps[-1] is None:
            continue
        step, trigger = d.steps[-1], w.applied[-1][0]
        s = step.state
        assert from_dict(to_dict(s)) == s
        # one re-pricing in flight: an amend, a placement or a wish, never two of them
        if s.amending is not None:
            assert s.pending_stop is None and s.move_wish is None
            assert s.state in AMEND_STATES, s.state
        # an amend's outcome never removes the resting stop (the stream or a fill may)
        if trigger in SETTLING and before.amending is not None and before.stop is not None:
            assert s.stop is not None or s.state is State.FLAT
        if (before.trail is not None and s.trail is not None and before.side is s.side
                and s.side is not None):
            assert _not_looser(s.side, s.trail.stop_price, before.trail.stop_price)
        for r in step.requests:
            if isinstance(r, PlaceStop) and r.order_type == OrderKind.STOP:
                # never two stops: a new one only where none rests
                assert s.stop is None, (trigger, step.kind)
                assert r.qty == s.qty
            if isinstance(r, AmendStop):
                # the resting stop, for the position's size, the one amend in flight
                assert s.stop is not None and r.client_id == s.stop.client_id
                assert s.amending is not None and s.amending.trigger_price == r.trigger_price
                assert (r.qty if r.qty is not None else s.stop.qty) == s.qty
                assert s.has_position
            if isinstance(r, CancelStop) and s.stop is not None:
                # the resting stop is never cancelled to move it
                assert r.client_id != s.stop.client_id


def test_a_cancelled_stop_whose_amend_is_in_flight_is_replaced_and_the_late_amend_settles_nothing():
    # QUARANTINED with the old stop resting and its resize amend in flight; the venue cancels
    # that stop: the position needs a stop now, and the amend can only answer for an order
    # that is gone.
    d = Driver(pol=policy(min_update_interval_ms=0, mode="native"), venue=AMEND_CAPS)
    w = World(amount=QTY)
    w.inflight.extend(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", QTY, "cmd-1")).requests)
    while w.inflight:
        feed(d, w, ("reply", 0, "ok"))
    for ev in [("pos", D("0.020")), ("reply", 1, "halt")]:
        feed(d, w, ev)
    assert d.s.state is State.QUARANTINED and d.s.amending is not None
    lost = d.s.stop.client_id

    feed(d, w, ("stop_lost", None))

    s = d.s
    assert s.amending is None and s.stop is None
    assert s.pending_stop is not None and s.pending_stop.qty == D("0.020")
    placed = s.pending_stop
    amend = next(op for op in w.inflight if isinstance(op, AmendStop))
    assert amend.client_id == lost
    w.inflight.remove(amend)
    for how in ("ok", "not_found"):  # whatever the late answer says, it answers nothing
        n = len(d.steps)
        d.apply(*reply_for(amend, how, w), advance_ms=600)
        assert d.s.pending_stop == placed and d.s.stop is None and d.s.amending is None, how
        assert all(not isinstance(r, PlaceStop | AmendStop) for st in d.steps[n:] if st
                   for r in st.requests), how
