"""The supervisor's stream children: the user stream and the market-stream shards.

A mixin of actors/supervisor.py's Supervisor (which owns the state named below). The market
stream is `StreamSettings.market_shards` actors (actors/market_shards.py says why): shard i
carries the symbols shard_of(symbol) == i, each on its own WebSocket. Every shard gets only
its part of the routing table, and only when that part changed (a table of 500 addresses
sent to every shard every second would cost more than the ticks). A shard that dies is
re-created at the same index and handed its part at once, so its symbols tick again as soon
as it has reconnected and subscribed; the other shards are not touched.

For the operator the shards are one "market" stream (market_shards.combined): status line,
`status --json`, metrics and alerts read `streams["market"]`; `posguard actors` lists each
shard as a market_stream row with its own pid and restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.market_shards import Retired, combined, split
from actors.messages import StreamStatus, Subscriptions, SupervisorInit
from actors.routing import Others, Routes


class SupervisorStreams:
    """Creation, routing tables and health of the stream actors (mixed into Supervisor)."""

    # Owned by Supervisor (annotations only: the mixin reads and changes them).
    init: SupervisorInit | None
    routes: Routes
    others: Others
    streams: dict[str, StreamStatus]
    subs_dirty: bool
    user: Any
    send: Callable[[Any, Any], None]
    createActor: Callable[..., Any]

    def _streams_state(self) -> None:
        """The shards' books (called from Supervisor.__init__)."""
        self.shards: list[Any] = []
        """Address of each market-stream shard (index = shard), None while it is replaced."""
        self.shard_health: list[StreamStatus | None] = []
        self.shard_sent: list[Subscriptions | None] = []
        """The table each shard was sent last (None: send it again)."""
        self.shards_retired = Retired()

    @property
    def shard_count(self) -> int:
        """How many market-stream shards (StreamSettings.market_shards; 1 if unset)."""
        assert self.init is not None
        return max(int(getattr(self.init.streams, "market_shards", 1)), 1)

    @property
    def market(self) -> Any:
        """The first shard's address (None without streams): for callers that want one."""
        return next((a for a in self.shards if a is not None), None)

    def _start_streams(self, carried: dict[tuple[str, str | None], int]) -> None:
        """The user stream and every market shard."""
        self._start_stream("user_stream", carried.get(("user_stream", None), 0))
        n = self.shard_count
        self.shards, self.shard_health, self.shard_sent = [None] * n, [None] * n, [None] * n
        for i in range(n):
            self._start_shard(i, carried.get(("market_stream", None), 0))

    def _start_stream(self, kind: str, restarts: int = 0, reason: str | None = None) -> None:
        """The user stream (kind "user_stream"; market shards: _start_shard)."""
        from actors.user_stream import UserStreamActor
        assert self.init is not None
        addr = self.createActor(UserStreamActor)
        self.send(addr, self.init.streams)
        self.user = addr
        self.subs_dirty = True
        self.others.add(kind, addr, restarts, reason)

    def _start_shard(self, index: int, restarts: int = 0, reason: str | None = None) -> None:
        """Create market shard `index` and hand it its part of the table at once."""
        from actors.market_stream import MarketStreamActor
        assert self.init is not None
        addr = self.createActor(MarketStreamActor)
        self.send(addr, self.init.streams)
        self.shards[index] = addr
        self.shard_health[index] = None
        self.others.add("market_stream", addr, restarts, reason)
        part = Subscriptions(()) if self.stopping else self._parts()[index]
        self.send(addr, part)
        self.shard_sent[index] = part
        self._combine()

    def _parts(self) -> list[Subscriptions]:
        """Each shard's table: its symbols' addresses, and the tick inboxes of those that
        have one (actors/tick_inbox.py)."""
        alive = self.routes.alive()
        n = len(self.shards)
        routes = split(((c.symbol, c.address) for c in alive), n)
        inboxes = split(((c.symbol, c.tick_inbox) for c in alive if c.tick_inbox), n)
        return [Subscriptions(r, i) for r, i in zip(routes, inboxes, strict=True)]

    def _send_tables(self) -> None:
        """Every stream gets the symbols it serves: the user stream all, each shard its part
        (only when that part changed; nothing once stopping, see _quiet_ticks)."""
        alive = tuple((c.symbol, c.address) for c in self.routes.alive())
        if self.user is not None:
            self.send(self.user, Subscriptions(alive))
        if not self.shards:
            return  # no market stream (yet): nothing to cut the table into
        parts = [Subscriptions(())] * len(self.shards) if self.stopping else self._parts()
        for i, part in enumerate(parts):
            addr = self.shards[i]
            if addr is not None and part != self.shard_sent[i]:
                self.send(addr, part)
                self.shard_sent[i] = part

    def _quiet_ticks(self) -> None:
        """Stopping: every shard unsubscribes and sends no more ticks.

        With 500 symbol actors exiting, ticks still sent to them became dead letters (each
        one through the admin to this supervisor) queued ahead of the exit itself, and a tick
        during the drain could start a stop move the drain then had to wait for. The resting
        stops stay where they are; the user stream keeps delivering what settles in flight.
        """
        if not self.stopping:
            return
        for i, addr in enumerate(self.shards):
            if addr is not None and self.shard_sent[i] != Subscriptions(()):
                self.send(addr, Subscriptions(()))
                self.shard_sent[i] = Subscriptions(())

    def _shard_index(self, address: Any) -> int | None:
        return next((i for i, a in enumerate(self.shards) if a is not None and a == address),
                    None)

    def _stream_exited(self, kind: str, address: Any, restarts: int, reason: str) -> None:
        """A stream actor died (not while stopping): replace it; a shard at its index."""
        i = self._shard_index(address) if kind == "market_stream" else None
        if i is None:
            self._start_stream(kind, restarts, reason)
            return
        self.shards_retired.retire(self.shard_health[i])
        self.shards[i] = None
        self._start_shard(i, restarts, reason)

    def receiveMsg_StreamStatus(self, msg: StreamStatus, sender: Any) -> None:
        """A stream actor's health (a market shard's is combined with the others')."""
        i = self._shard_index(sender) if msg.kind == "market" else None
        if i is not None:
            self.shard_health[i] = msg
            self._combine()
        else:
            self.streams[msg.kind] = msg
        self.others.update(sender, pid=msg.pid, state=msg.state)
        if msg.state == "connected":  # connected again: why its predecessor exited is old news
            self.others.update(sender, last_exit_reason=None)

    def _combine(self) -> None:
        if self.shards:
            self.streams["market"] = combined(self.shard_health, self.shards_retired)
