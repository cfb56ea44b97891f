"""When a symbol actor tells the supervisor its view (a mixin of actors/symbol.py's SymbolActor).

At once when the supervisor's table needs it: state, side, size or whether a stop covers the
position. The table drives the status line, the sweep (size vs the exchange), passivation and
shutdown (busy states); it needs nothing that changes on a stop move. `posguard status` asks
each running actor for a fresh view. Pushing on every persisted step made the supervisor
handle three views per stop move: `posguard bench` saw it fall behind at 100 symbols moving
once a second.

The metrics (ops/metrics) also show the mark against the stop and the actor's counters
(actors/tally.py), read from the supervisor's table: with `view_refresh_secs` (SymbolInit; set
only while metrics are on) a change of those is pushed that long after it, one timer at a
time, so a symbol costs the supervisor at most one extra view per interval.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from actors.messages import SymbolCounters, SymbolInit, SymbolView
from actors.symbol_state import SymbolState

VIEW_REFRESH = "view-refresh"
"""Wakeup payload: push the view for the metrics (SymbolInit.view_refresh_secs)."""


class ViewPush:
    """The view pushes of SymbolActor (mixed in; it owns the state named below)."""

    # Owned by SymbolActor (annotations only: the mixin reads and changes them).
    s: SymbolState | None
    init: SymbolInit | None
    counters: SymbolCounters
    parent_addr: Any
    dying: str | None
    send: Callable[[Any, Any], None]
    wakeupAfter: Callable[..., None]
    view: Callable[[], SymbolView]

    pushed: tuple[Any, ...] | None = None
    """(state, side, qty, unprotected) last pushed to the supervisor."""
    pushed_extra: tuple[Any, ...] | None = None
    """What else the metrics show (_extra_facts) as last pushed."""
    refresh_armed: bool = False
    """A VIEW_REFRESH timer is pending."""

    def _push_view(self) -> None:
        """After a persisted step: the view at once if the table's facts changed."""
        if self._facts() != self.pushed:
            self._send_view()
        else:
            self._refresh_later()

    def _refresh_later(self) -> None:
        """With view_refresh_secs, push what only the metrics show, at most that often."""
        assert self.init is not None
        if self.refresh_armed or self.init.view_refresh_secs <= 0 \
                or self._extra_facts() == self.pushed_extra:
            return
        self.refresh_armed = True
        self.wakeupAfter(timedelta(seconds=self.init.view_refresh_secs), payload=VIEW_REFRESH)

    def _refresh_due(self) -> None:
        """The VIEW_REFRESH timer: push the view if anything it shows changed meanwhile."""
        self.refresh_armed = False
        if self.dying is None and self.s is not None and self.parent_addr is not None \
                and self._extra_facts() != self.pushed_extra:
            self._send_view()

    def _facts(self) -> tuple[Any, ...]:
        assert self.s is not None
        return (self.s.state, self.s.side, self.s.qty, self.s.unprotected)

    def _extra_facts(self) -> tuple[Any, ...]:
        """What the metrics show beyond _facts: the stop against the mark, the counters."""
        assert self.s is not None
        s = self.s
        return (s.mark_price if s.has_position else None,
                s.stop.trigger_price if s.stop else None,
                s.trailing.algo_id if s.trailing else None, self.counters)

    def _send_view(self) -> None:
        self.pushed, self.pushed_extra = self._facts(), self._extra_facts()
        self.send(self.parent_addr, self.view())
