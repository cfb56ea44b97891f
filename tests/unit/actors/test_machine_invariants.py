"""Invariants over random event sequences (hypothesis): the snapshot codec round-trips, the trail
never loosens, every stop and close matches the position. The exchange is tests/fakes/world.py.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.messages import OpenPosition, PlaceMarket, PlaceStop, StopPurpose
from actors.protection import Side
from actors.symbol_machine import Trigger
from actors.symbol_state import State, from_dict, to_dict
from tests.fakes.machine import SYMBOL, Driver, policy
from tests.fakes.world import World, feed
from venue.requests import AmendStop

D = Decimal
QTY = D("0.010")
ENTRY = D("60000")
OPEN_ID = "pg-7-BTCUSDT-op-1"
STOP_ID = "pg-7-BTCUSDT-sl-2"
MOVE_ID = "pg-7-BTCUSDT-sl-3"


def _event_strategy():
    """Marks, position updates, replies to what is in flight, stream echoes, timers."""
    marks = st.integers(55_000, 66_000).map(lambda p: ("mark", D(p)))
    positions = st.sampled_from(["0", "0.010", "0.010", "0.020", "0.005", "-0.010"]).map(
        lambda a: ("pos", D(a)))
    kinds = st.sampled_from(["ok", "ok", "ok", "timeout", "2021", "temporary", "rejected",
                             "lookup_new", "lookup_none", "deferred"])
    replies = st.tuples(st.just("reply"), st.integers(0, 10), kinds)
    others = st.sampled_from([("algo_new", None), ("stop_fill", None), ("retry", None),
                              ("snap", None), ("reconcile", None), ("trailing_new", None),
                              ("trailing_fill", None), ("trailing_lost", None),
                              ("grant", None)])
    return st.one_of(marks, marks, positions, replies, replies, replies, others)


def _not_looser(side: Side, new: Decimal, old: Decimal) -> bool:
    return new >= old if side is Side.LONG else new <= old


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(side=st.sampled_from(["long", "short"]), mode=st.sampled_from(["managed", "native"]),
       events=st.lists(_event_strategy(), min_size=1, max_size=40))
def test_any_event_sequence_keeps_snapshot_codec_trail_and_stop_invariants(side, mode, events):
    # Arrange: a protected position with its stop (and in native mode its trailing) resting
    d = Driver(pol=policy(mode=mode))
    w = World(amount=QTY if side == "long" else -QTY)
    w.inflight.extend(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, side, QTY, "cmd-1")).requests)
    while w.inflight:
        feed(d, w, ("reply", 0, "ok"))
    assert d.s.state is State.PROTECTED and (d.s.trailing is not None) == (mode == "native")
    # Act / Assert after every step
    for ev in events:
        before = d.s
        n = len(d.steps)
        feed(d, w, ev)
        if len(d.steps) == n or d.steps[-1] is None:
            continue
        step = d.steps[-1]
        s = step.state
        assert from_dict(to_dict(s)) == s
        # one move per symbol: wished for (deferred by the pool) or in flight, never both
        assert s.move_wish is None or s.pending_stop is None
        if (before.trail is not None and s.trail is not None and before.side is s.side
                and s.side is not None):
            assert _not_looser(s.side, s.trail.stop_price, before.trail.stop_price)
        for r in step.requests:
            assert not isinstance(r, AmendStop)  # Binance moves new-first, never in place
            if isinstance(r, PlaceStop):
                assert s.side is not None
                # a move only ever tightens a stop that rests (no gap while it waits)
                assert r.purpose is not StopPurpose.MOVE or s.stop is not None
                assert r.side == ("SELL" if s.side is Side.LONG else "BUY")
                assert r.qty == s.qty
            if isinstance(r, PlaceMarket) and r.reduce_only:
                assert r.qty == s.qty

