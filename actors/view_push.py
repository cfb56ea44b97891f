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

import dataclasses
import os
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from actors.messages import SymbolCounters, SymbolInit, SymbolView, ViewRefresh
from actors.symbol_state import SymbolState

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
    seq: int
    quarantines: int
    last_quarantine: str | None

    pushed: tuple[Any, ...] | None = None
    """(state, side, qty, unprotected) last pushed to the supervisor."""
    pushed_extra: tuple[Any, ...] | None = None
    """What else the metrics show (_extra_facts) as last pushed."""
    refresh_armed: bool = False
    """A ViewRefresh timer is pending."""

    def view(self) -> SymbolView:
        """The operator's view of this symbol."""
        s = self.s or SymbolState(self.init.symbol if self.init else "?")
        stop, trailing = s.stop, s.trailing
        return SymbolView(
            symbol=s.symbol, state=s.state.value, side=s.side.value.lower() if s.side else None,
            qty=str(s.qty), entry_price=_str(s.entry_price), mark_price=_str(s.mark_price),
            stop_price=_str(stop.trigger_price) if stop else None,
            stop_order_id=stop.algo_id if stop else None,
            stop_client_id=stop.client_id if stop else None,
            trailing_active=bool(s.trail and s.trail.active),
            peak_price=_str(s.trail.peak) if s.trail else None, seq=self.seq,
            last_error=s.last_error or s.quarantine_reason, last_event_ms=s.last_event_ms,
            pid=os.getpid(), trailing_order_id=trailing.algo_id if trailing else None,
            trailing_client_id=trailing.client_id if trailing else None,
            trailing_callback_pct=_str(trailing.callback_rate_pct) if trailing else None,
            trailing_activate_price=_str(trailing.activate_price) if trailing else None,
            unprotected=s.unprotected, quarantines=self.quarantines,
            last_quarantine=self.last_quarantine, counters=dataclasses.replace(
                self.counters, unprotected_since_ms=s.unprotected_since_ms))

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
        self.wakeupAfter(timedelta(seconds=self.init.view_refresh_secs), payload=ViewRefresh())

    def _refresh_due(self) -> None:
        """The ViewRefresh timer: push the view if anything it shows changed meanwhile."""
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


def _str(v: Decimal | None) -> str | None:
    return None if v is None else str(v)
