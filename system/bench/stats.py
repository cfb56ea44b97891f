"""Percentile summaries and ratios to the floor, the only arithmetic the report does."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty list (q in 0..100)."""
    if not ordered:
        raise ValueError("percentile of no samples")
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(samples: Iterable[float]) -> dict:
    """n, p50, p99 and max in ms (None for no samples), rounded to µs."""
    s = sorted(samples)
    if not s:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    return {"n": len(s), "p50_ms": round(percentile(s, 50), 3),
            "p99_ms": round(percentile(s, 99), 3), "max_ms": round(s[-1], 3)}


def with_ratio(summ: dict, floor_ms: float | None) -> dict:
    """`summ` plus p50 and p99 as multiples of `floor_ms` (the floor's p50)."""
    out = dict(summ)
    ok = floor_ms is not None and floor_ms > 0
    for key in ("p50", "p99"):
        value = summ.get(f"{key}_ms")
        out[f"{key}_x_floor"] = round(value / floor_ms, 1) if ok and value is not None else None
    return out
