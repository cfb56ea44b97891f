"""Stop lag: how far the resting stop trails the stop the policy wants, sampled over time.

The ideal stop is the position's own stop policy (actors/protection.py: the initial stop, then
managed trailing) applied to the TRUE price path (the mark ticks the simulator sent, on its
clock) with zero latency and no order budget: at every instant it is the stop a perfect
engine would have resting. The resting stop is what the simulator actually held: built from
its probe's accepted algo placements and cancels (with a place-then-cancel move two rest
briefly; the tighter one protects). Lag = ideal minus resting, signed so that a positive lag
is profit the resting stop gives back, in basis points of the mark at that instant.

Pure: plain records in, numbers out, so every rule here is unit-tested without a system
(tests/unit/system/test_bench_stoplag.py). The bench feeds it (system/bench/budget.py).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from actors.protection import (
    MarketRules,
    ProtectionPolicy,
    Side,
    accept_move,
    initial_trail_state,
    on_mark,
)
from system.bench.stats import percentile

SAMPLE_EVERY_SECS = 0.1
"""The lag is sampled every 100 ms of the window (the brief's resolution; ticks are 1 Hz)."""


@dataclass(frozen=True, slots=True)
class Mark:
    """One mark price the venue published (a probe tick)."""

    t: float
    """Simulator monotonic seconds, when the tick left the venue."""
    price: Decimal


@dataclass(frozen=True, slots=True)
class StopPlaced:
    """A stop the venue accepted (from then on it rests)."""

    t: float
    stop_id: str
    """clientAlgoId: pairs the placement with its cancel."""
    trigger: Decimal


@dataclass(frozen=True, slots=True)
class StopCancelled:
    """A resting stop the venue cancelled (from then on it no longer rests)."""

    t: float
    stop_id: str


Steps = list[tuple[float, Decimal | None]]
"""A step function of time: (t, value from t on), sorted by t; None = no stop."""


def ideal_stops(side: Side, entry: Decimal, opened_t: float, marks: Iterable[Mark],
                policy: ProtectionPolicy, rules: MarketRules) -> Steps:
    """The policy's stop over time: the initial stop from the open, then every move the
    policy makes on each mark at once (zero latency, no budget: a move is accepted the
    instant its mark is published). Marks before `opened_t` are not the position's."""
    state = initial_trail_state(side, entry, policy, rules)
    out: Steps = [(opened_t, state.stop_price)]
    for m in sorted(marks, key=lambda x: x.t):
        if m.t < opened_t:
            continue
        now_ms = max(1, int(m.t * 1000))
        d = on_mark(side, entry, m.price, state, policy, rules, now_ms)
        state = d.state
        if d.move_to is not None:
            state = accept_move(state, d.move_to, now_ms)
            out.append((m.t, state.stop_price))
    return out


def resting_stops(side: Side, placed: Iterable[StopPlaced],
                  cancelled: Iterable[StopCancelled]) -> Steps:
    """The protecting resting stop over time (the tightest of those resting; None: none).

    At equal times a placement counts before a cancel: a move placed and its predecessor
    cancelled in the same instant leaves the position covered, as the venue saw it. An
    amend in place (Bybit) is recorded as a cancel and a placement of the SAME stop at the
    same instant (the old trigger gone, the new one resting: system/sim/engine_attached.py);
    that cancel counts first, so the amended stop rests on at its new trigger.
    """
    amended = {(p.t, p.stop_id) for p in placed} & {(c.t, c.stop_id) for c in cancelled}
    events: list[tuple[float, int, str, Decimal | None]] = (
        [(p.t, 0, p.stop_id, p.trigger) for p in placed]
        + [(c.t, -1 if (c.t, c.stop_id) in amended else 1, c.stop_id, None)
           for c in cancelled])
    events.sort(key=lambda e: (e[0], e[1]))
    resting: dict[str, Decimal] = {}
    out: Steps = []
    for t, kind, stop_id, trigger in events:
        if kind == 0 and trigger is not None:
            resting[stop_id] = trigger
        else:
            resting.pop(stop_id, None)
        best = _tightest(side, resting.values())
        if out and out[-1][0] == t:
            out[-1] = (t, best)
        else:
            out.append((t, best))
    return out


def _tightest(side: Side, stops: Iterable[Decimal]) -> Decimal | None:
    values = list(stops)
    if not values:
        return None
    return max(values) if side is Side.LONG else min(values)


def value_at(steps: Steps, t: float) -> Decimal | None:
    """The step function's value at `t` (None before its first step)."""
    i = bisect.bisect_right([s[0] for s in steps], t) - 1
    return None if i < 0 else steps[i][1]


@dataclass(frozen=True, slots=True)
class Lag:
    """One symbol's samples over one window."""

    samples_bps: list[float]
    """ideal - resting (signed: > 0 = the resting stop gives back profit), bps of the mark."""
    uncovered: int
    """Samples at which no stop rested at all (must be 0; not in samples_bps)."""


def sample(side: Side, ideal: Steps, resting: Steps, marks: Sequence[Mark], t0: float,
           t1: float, every_secs: float = SAMPLE_EVERY_SECS) -> Lag:
    """Sample the lag every `every_secs` over [t0, t1), against the mark published last."""
    if every_secs <= 0:
        raise ValueError(f"every_secs must be > 0, got {every_secs}")
    ordered = sorted(marks, key=lambda m: m.t)
    mark_steps: Steps = [(m.t, m.price) for m in ordered]
    ideal_t = [s[0] for s in ideal]
    rest_t = [s[0] for s in resting]
    mark_t = [s[0] for s in mark_steps]
    sign = 1 if side is Side.LONG else -1
    out: list[float] = []
    uncovered = 0
    n = 0
    while True:
        t = t0 + n * every_secs
        if t >= t1:
            break
        n += 1
        want = _at(ideal, ideal_t, t)
        mark = _at(mark_steps, mark_t, t)
        if want is None or mark is None:
            continue  # before the open or before the first mark: nothing to compare
        have = _at(resting, rest_t, t)
        if have is None:
            uncovered += 1
            continue
        out.append(float(sign * (want - have) / mark * 10_000))
    return Lag(out, uncovered)


def _at(steps: Steps, times: list[float], t: float) -> Decimal | None:
    i = bisect.bisect_right(times, t) - 1
    return None if i < 0 else steps[i][1]


def shifted(steps: Steps, delay_secs: float) -> Steps:
    """`steps` with every step after the first `delay_secs` later: the stop a perfect engine
    behind a `delay_secs` floor rests (the first, initial stop is where it was)."""
    if not steps:
        return []
    return [steps[0], *((t + delay_secs, v) for t, v in steps[1:])]


def summary_bps(samples: Iterable[float]) -> dict:
    """n, p50, p99 and max of lag samples in bps (None for no samples), rounded to 0.01."""
    s = sorted(samples)
    if not s:
        return {"n": 0, "p50_bps": None, "p99_bps": None, "max_bps": None}
    return {"n": len(s), "p50_bps": round(percentile(s, 50), 2),
            "p99_bps": round(percentile(s, 99), 2), "max_bps": round(s[-1], 2)}
