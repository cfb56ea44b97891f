"""The clock protocol: what an actor is handed in its init message and every component takes
(the launcher's real and manual clocks: system/clock.py)."""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    """Wall time for timestamps and monotonic time for intervals."""

    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch (event timestamps)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a monotonic clock (durations, timers)."""
        ...
