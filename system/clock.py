"""Injectable time: every component takes a Clock so tests control time."""

from __future__ import annotations

import time

from actors.clock import Clock

__all__ = ["Clock", "ManualClock", "SystemClock"]


class SystemClock:
    """The real clock."""

    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch."""
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        """Seconds on the monotonic clock."""
        return time.monotonic()


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start_ms: int = 1_795_263_300_000) -> None:
        self._ms = start_ms
        self._mono = 0.0

    def now_ms(self) -> int:
        """The current (manual) wall time in ms."""
        return self._ms

    def monotonic(self) -> float:
        """The current (manual) monotonic time in seconds."""
        return self._mono

    def advance(self, ms: int) -> None:
        """Move both clocks forward by `ms` milliseconds."""
        self._ms += ms
        self._mono += ms / 1000.0
