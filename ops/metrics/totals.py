"""Monotonic totals of counters that live in actor processes, which start again from zero.

A symbol actor counts its moves from its own start, a stream actor its frames: a Prometheus
counter must only grow. Each source (an actor, by kind and symbol) reports its values with
the pid of the process that counted them. When that pid changes, or a value goes down (a pid
reused, a count lost with a re-created supervisor), the last values the old process reported
are retired into a base that is added from then on. What an old process counted after the
last status the launcher read is lost: a total is never more than what was counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

Source = tuple[str, ...]
"""Who counted: ("symbol", symbol), ("stream", kind), ..."""


class Totals:
    """Per source: the base retired from earlier processes plus the current one's values."""

    def __init__(self) -> None:
        self._last: dict[Source, tuple[int | None, dict[str, float]]] = {}
        self._base: dict[Source, dict[str, float]] = {}

    def update(self, source: Source, pid: int | None, values: Mapping[str, float]
               ) -> dict[str, float]:
        """Take `source`'s latest `values` (counted by process `pid`); its totals."""
        last = self._last.get(source)
        if last is not None and (last[0] != pid or _went_down(last[1], values)):
            base = self._base.setdefault(source, {})
            for name, value in last[1].items():
                base[name] = base.get(name, 0.0) + value
        self._last[source] = (pid, dict(values))
        return self.get(source)

    def get(self, source: Source) -> dict[str, float]:
        """`source`'s totals as of its last update ({} if it never reported)."""
        base = self._base.get(source, {})
        last = self._last.get(source, (None, {}))[1]
        return {name: base.get(name, 0.0) + last.get(name, 0.0)
                for name in (*base, *(n for n in last if n not in base))}

    def sources(self) -> Iterable[Source]:
        """Every source that ever reported (a symbol gone from the status keeps its totals)."""
        return list(self._last)


def _went_down(before: Mapping[str, float], now: Mapping[str, float]) -> bool:
    return any(now.get(name, 0.0) < value for name, value in before.items())
