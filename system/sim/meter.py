"""The unprotected-window meter: how long each open position lacks full stop cover."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Gap:
    """One closed interval during which a position was not fully covered by stops."""

    symbol: str
    start: float
    """Monotonic seconds."""
    end: float
    kind: str
    """opened_uncovered (open->protect window) or coverage_lost (must never happen)."""

    @property
    def duration_ms(self) -> float:
        """Length of the gap in milliseconds."""
        return (self.end - self.start) * 1000.0

    def as_dict(self) -> dict:
        """JSON shape used by /_sim/state."""
        return {"symbol": self.symbol, "start": self.start, "end": self.end,
                "duration_ms": round(self.duration_ms, 3), "kind": self.kind}


@dataclass(slots=True)
class _SymbolMeter:
    size: Decimal = Decimal(0)
    covered: bool = False
    gap_start: float | None = None
    gap_kind: str = ""
    total_ms: dict = field(default_factory=lambda: {"opened_uncovered": 0.0,
                                                    "coverage_lost": 0.0})
    count: dict = field(default_factory=lambda: {"opened_uncovered": 0, "coverage_lost": 0})
    max_ms: float = 0.0


class UnprotectedMeter:
    """Fed after every state change with (size, cover); keeps per-symbol gap figures."""

    def __init__(self, max_gaps: int) -> None:
        self._syms: dict[str, _SymbolMeter] = {}
        self._gaps: deque[Gap] = deque(maxlen=max_gaps)

    def update(self, symbol: str, now: float, size: Decimal, cover: Decimal | None) -> None:
        """Record the symbol's |position| and stop cover (None = closePosition, covers all)."""
        s = self._syms.setdefault(symbol, _SymbolMeter())
        covered = size == 0 or cover is None or cover >= size
        if size > 0 and not covered and s.gap_start is None:
            lost = s.covered and s.size > 0 and size <= s.size
            s.gap_start = now
            s.gap_kind = "coverage_lost" if lost else "opened_uncovered"
        elif covered and s.gap_start is not None:
            self._close(symbol, s, now)
        s.size = size
        s.covered = covered and size > 0

    def _close(self, symbol: str, s: _SymbolMeter, now: float) -> None:
        start = now if s.gap_start is None else s.gap_start
        gap = Gap(symbol, start, now, s.gap_kind)
        s.gap_start = None
        s.total_ms[gap.kind] += gap.duration_ms
        s.count[gap.kind] += 1
        s.max_ms = max(s.max_ms, gap.duration_ms)
        self._gaps.append(gap)

    def report(self, now: float) -> dict:
        """Per-symbol totals (open gaps counted up to `now`), maxima and the gap list."""
        per_symbol = {}
        for sym, s in self._syms.items():
            totals = dict(s.total_ms)
            max_ms = s.max_ms
            open_gap = None
            if s.gap_start is not None:
                running = (now - s.gap_start) * 1000.0
                totals[s.gap_kind] += running
                max_ms = max(max_ms, running)
                open_gap = {"start": s.gap_start, "duration_ms": round(running, 3),
                            "kind": s.gap_kind}
            per_symbol[sym] = {
                "total_ms": round(sum(totals.values()), 3),
                "total_ms_by_kind": {k: round(v, 3) for k, v in totals.items()},
                "count_by_kind": dict(s.count), "max_gap_ms": round(max_ms, 3),
                "open_gap": open_gap,
            }
        return {
            "per_symbol": per_symbol,
            "max_gap_ms": max((p["max_gap_ms"] for p in per_symbol.values()), default=0.0),
            "coverage_lost_total_ms": round(sum(
                p["total_ms_by_kind"]["coverage_lost"] for p in per_symbol.values()), 3),
            "gaps": [g.as_dict() for g in self._gaps],
        }
