"""Which mark tick caused which replacement stop: reaction samples from the simulator's probe.

Both times are the simulator's clock (time.monotonic in the simulator's process). A stop
placed for a symbol is attributed to the latest tick of that symbol emitted before the
placement was accepted; the bench makes every tick carry a new high (a steady trend), so every
tick demands exactly one move and a tick without a move before its symbol's next tick is
counted as missed (moved late, coalesced with the next tick, or not at all).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tick:
    """A mark tick the simulator pushed."""

    symbol: str
    price: float
    t: float
    """Simulator monotonic seconds, taken right before the frame was sent."""


@dataclass(frozen=True, slots=True)
class Placed:
    """A stop order the simulator accepted."""

    symbol: str
    t: float
    """Simulator monotonic seconds, when the engine accepted it."""
    order_type: str


@dataclass(frozen=True, slots=True)
class Reaction:
    """The reaction figures of one window."""

    samples_ms: list[float]
    """tick emitted -> replacement stop accepted, one per attributed placement."""
    ticks: int
    """Ticks that carried a new high (each demanded a move)."""
    moves: int
    """STOP_MARKET placements in the window."""
    unattributed: int
    """Placements with no earlier tick of their symbol in the window."""
    missed: int
    """Demanding ticks with no placement before the symbol's next tick."""


def attribute(ticks: list[Tick], placed: list[Placed]) -> Reaction:
    """Match every STOP_MARKET placement to the tick that caused it."""
    by_symbol: dict[str, list[Tick]] = defaultdict(list)
    for tk in sorted(ticks, key=lambda x: x.t):
        by_symbol[tk.symbol].append(tk)
    demanding: dict[str, list[Tick]] = {}
    for sym, seq in by_symbol.items():
        # Only a tick above the symbol's previous tick demands a move (a new high).
        demanding[sym] = [b for a, b in zip([None, *seq], seq, strict=False)
                          if a is None or b.price > a.price]
    times = {sym: [tk.t for tk in seq] for sym, seq in demanding.items()}
    samples: list[float] = []
    unattributed = 0
    answered: set[tuple[str, int]] = set()
    moves = [p for p in placed if p.order_type == "STOP_MARKET"]
    for p in moves:
        ts = times.get(p.symbol, [])
        i = bisect.bisect_right(ts, p.t) - 1
        if i < 0:
            unattributed += 1
            continue
        samples.append((p.t - ts[i]) * 1000.0)
        answered.add((p.symbol, i))
    n_ticks = sum(len(ts) for ts in times.values())
    # The last tick of each symbol is not judged: its move may be in flight at the window's end.
    missed = sum(1 for sym, ts in times.items() for i in range(len(ts) - 1)
                 if (sym, i) not in answered)
    return Reaction(samples, n_ticks, len(moves), unattributed, missed)
