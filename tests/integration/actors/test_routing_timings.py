"""Routing latency in real processes: stream frame read -> state applied in the symbol actor.

The user and market stream actors stamp each frame with time.monotonic() when they read it;
the symbol actor (another process) records the latency when it has applied the event. Both
ends use the one system-wide monotonic clock, so this test's own time.monotonic() brackets
every sample.
"""

from __future__ import annotations

import time

from actors.messages import Located, StateQuery, SymbolTimings, TimingsQuery

LATENCY_BOUND_MS = 5000.0


def _timings(engine, symbol: str) -> SymbolTimings:
    t = engine.kernel.timings(symbol)
    assert t is not None, f"{symbol}: no SymbolTimings"
    return t


def _assert_samples(samples: tuple[tuple[float, float], ...], start: float, end: float) -> None:
    for received, latency_ms in samples:
        assert start <= received <= end, "frame read outside this test's window"
        assert 0 <= latency_ms < LATENCY_BOUND_MS
        assert received + latency_ms / 1000 <= end, "applied after the answer was read"
    reads = [received for received, _ in samples]
    assert reads == sorted(reads), "applied in the order the frames were read"


def test_user_stream_and_mark_events_are_timed_from_frame_read_to_applied(engine):
    sym = "BTCUSDT"
    engine.control.set_price(sym, "60000")
    start = time.monotonic()
    assert engine.open(sym, "long", "0.010", "cmd-timed").outcome == "accepted"
    engine.wait_state(sym, "PROTECTED")
    opened = engine.wait_for(lambda: (t := _timings(engine, sym)).route and t,
                             "the open's user-stream events to be timed")

    engine.control.set_price(sym, "61000")  # past activation: the market stream brings it
    moved = engine.wait(sym, lambda v: v.trailing_active and v.state == "PROTECTED",
                        "the stop to move")
    after = engine.wait_for(
        lambda: (t := _timings(engine, sym)).mark and len(t.route) > len(opened.route) and t,
        "the move's user-stream events and mark ticks to be timed")
    end = time.monotonic()

    assert after.symbol == sym and after.pid == moved.pid
    assert after.route[:len(opened.route)] == opened.route, "samples are kept, not replaced"
    _assert_samples(after.route, start, end)
    _assert_samples(after.mark, start, end)


def test_timings_for_a_symbol_without_an_actor_are_answered_like_its_state(engine):
    sym = "XRPUSDT"

    timings_answer = engine.kernel.ask(TimingsQuery(sym), 5)
    state_answer = engine.kernel.ask(StateQuery(sym), 5)

    assert timings_answer == state_answer == Located(sym, None, "no actor for this symbol")
    assert engine.kernel.timings(sym) is None
    assert engine.address(sym) is None, "a query must not create an actor"
