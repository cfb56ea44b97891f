"""How a symbol actor takes its mark ticks (a mixin of actors/symbol.py's SymbolActor).

Two ways in: a MarkPrice message (Thespian; a unit test's tick, or a shard's fallback) and
the actor's own tick inbox (actors/tick_inbox.py), opened at init in an actor process and
named in Ready so the supervisor can give it to the symbol's market shard. The inbox is
watched with ThespianWatch (returned after every message: a watch lasts one message) and
drained on each WatchMessage; of the ticks waiting only the latest is applied (they are
conflated upstream anyway). Either way a tick older than the last one applied (a datagram
can overtake a tick queued in Thespian) is ignored.

An inbox that cannot be opened is logged and the actor goes on with ticks by message only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from thespian.actors import ThespianWatch, WatchMessage

from actors.lifecycle import in_actor_process
from actors.log import ActorLogger
from actors.tick_inbox import TickInbox, newer
from venue.events import MarkPrice

log = ActorLogger("posguard.symbol")  # looked up per call: see actors/log.py
LOG_EVERY_REJECTED = 1000
"""A rejected datagram is logged the first time and then once per this many."""


class TickIntake:
    """The tick intake of SymbolActor (mixed in before Lifecycle, whose receive it wraps)."""

    dying: str | None
    actor_label: Callable[[], str]
    on_tick: Callable[[MarkPrice], None]
    """SymbolActor's: apply one tick (Trigger.MARK)."""

    inbox: TickInbox | None = None
    inbox_ticks: int = 0
    """Ticks read from the inbox (applied or conflated)."""
    last_tick_mono: float = 0.0
    """received_mono of the newest tick applied."""

    def open_inbox(self) -> str | None:
        """Open the inbox in an actor process; its name, or None (ticks by message only)."""
        if not in_actor_process(self):
            return None
        try:
            self.inbox = TickInbox()
        except OSError as e:
            log.warning("%s: no tick inbox (%s); ticks come by message only",
                        self.actor_label(), e)
            return None
        return self.inbox.name

    def close_inbox(self) -> None:
        if self.inbox is not None:
            self.inbox.close()
            self.inbox = None

    def receiveMessage(self, msg: Any, sender: Any) -> Any:
        """Dispatch (Lifecycle's guarded receive), then keep watching the inbox."""
        result = super().receiveMessage(msg, sender)  # type: ignore[misc]
        if self.inbox is not None and self.dying is None:
            return ThespianWatch([self.inbox.fileno()])
        return result

    def receiveMsg_WatchMessage(self, msg: WatchMessage, sender: Any) -> None:
        """The inbox is readable: apply the latest tick waiting in it."""
        inbox = self.inbox
        if inbox is None or inbox.fileno() not in getattr(msg, "ready", ()):
            return
        rejected = inbox.rejected
        ticks = inbox.drain()
        self.inbox_ticks += len(ticks)
        if inbox.rejected > rejected and (rejected == 0
                                          or inbox.rejected // LOG_EVERY_REJECTED
                                          > rejected // LOG_EVERY_REJECTED):
            log.warning("%s: tick inbox rejected %d datagram(s) so far; last: %s",
                        self.actor_label(), inbox.rejected, inbox.last_rejection)
        if ticks:
            self.take_tick(ticks[-1])

    def take_tick(self, tick: MarkPrice) -> None:
        """Apply `tick` unless a newer one was applied already."""
        if not newer(tick, self.last_tick_mono):
            return
        self.last_tick_mono = max(self.last_tick_mono, tick.received_mono)
        self.on_tick(tick)
