"""The last hour of mark price and stop per symbol, for the page's chart (bounded memory).

Sampled from the statuses the launcher reads (about one a second) and downsampled to one
point per `step_ms` bucket: the latest sample of a bucket replaces the one before it, so the
newest point is always current. Points are kept in `array('d')` columns (24 bytes a point,
~17 KB a symbol for an hour at 5 s) rather than tuples of Python objects (~150 bytes a point),
so 500 symbols cost a few MB of the launcher's memory, not tens. A symbol missing from the
statuses for `window_ms` is dropped with its points.
"""

from __future__ import annotations

import math
import threading
from array import array
from dataclasses import dataclass, field

WINDOW_MS = 3_600_000
"""How far back the chart goes."""
STEP_MS = 5_000
"""One point per this many milliseconds."""


@dataclass(slots=True)
class _Series:
    """One symbol's points, oldest first, in three parallel columns."""

    times: array = field(default_factory=lambda: array("d"))
    marks: array = field(default_factory=lambda: array("d"))
    stops: array = field(default_factory=lambda: array("d"))
    """NaN where no stop rested."""
    seen_ms: int = 0
    """When the symbol was last in a status."""

    def add(self, now_ms: int, mark: float, stop: float, step_ms: int) -> None:
        if self.times and now_ms < self.times[-1]:
            return  # the wall clock stepped back: keep the chart's time axis in order
        if self.times and int(self.times[-1]) // step_ms == now_ms // step_ms:
            self.times[-1], self.marks[-1], self.stops[-1] = now_ms, mark, stop
            return
        self.times.append(now_ms)
        self.marks.append(mark)
        self.stops.append(stop)

    def trim(self, oldest_ms: int) -> None:
        n = 0
        while n < len(self.times) and self.times[n] < oldest_ms:
            n += 1
        if n:
            del self.times[:n], self.marks[:n], self.stops[:n]


class PriceHistory:
    """Mark and stop over the last `window_ms` for every symbol seen (thread-safe)."""

    def __init__(self, window_ms: int = WINDOW_MS, step_ms: int = STEP_MS) -> None:
        if window_ms <= 0 or step_ms <= 0:
            raise ValueError(f"window_ms={window_ms} and step_ms={step_ms} must be > 0")
        self.window_ms = window_ms
        self.step_ms = step_ms
        self._series: dict[str, _Series] = {}
        self._lock = threading.Lock()

    @property
    def max_points(self) -> int:
        """The most points one symbol can hold."""
        return self.window_ms // self.step_ms + 1

    def record(self, now_ms: int, samples: dict[str, tuple[str | None, str | None]]) -> None:
        """One status: symbol -> (mark price, stop price) as decimal strings (or None)."""
        oldest = now_ms - self.window_ms
        with self._lock:
            for symbol, (mark, stop) in samples.items():
                series = self._series.setdefault(symbol, _Series())
                series.seen_ms = now_ms
                m = _number(mark)
                if m is not None:
                    s = _number(stop)
                    series.add(now_ms, m, math.nan if s is None else s, self.step_ms)
            for symbol in list(self._series):
                series = self._series[symbol]
                series.trim(oldest)
                if series.seen_ms < oldest:
                    del self._series[symbol]

    def symbols(self) -> list[str]:
        """Every symbol with a history (present within the window)."""
        with self._lock:
            return sorted(self._series)

    def points(self, symbol: str) -> list[tuple[int, float, float | None]] | None:
        """(time ms, mark, stop or None) oldest first; None for a symbol never seen."""
        with self._lock:
            series = self._series.get(symbol)
            if series is None:
                return None
            return [(int(t), m, None if math.isnan(s) else s)
                    for t, m, s in zip(series.times, series.marks, series.stops, strict=True)]


def _number(text: str | None) -> float | None:
    """A finite float from a decimal string; None for missing or unparsable values."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
