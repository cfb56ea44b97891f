"""Which market-stream shard carries a symbol, and the health of all shards as one stream.

One market-stream actor sending every tick was the limit at 500 symbols (issue 15): every
tick is one Thespian message to one symbol actor's process, and the sender's cost per
message grows with how many peers it holds sockets to. The market stream is therefore
split into `shards` actors, each with its own WebSocket and a fixed subset of the symbols.

The assignment is a pure function of the symbol and the shard count (crc32, the same in
every process and across restarts, unlike Python's salted hash()): a shard that dies is
re-created at the same index and is sent the same symbols again, and no other shard's
subscriptions change. Binance allows 1024 streams per connection; `shard_of` spreads
symbols evenly enough that a shard stays far below that for any account (200 open
conditional orders per account bounds the symbols that need protection).

For the operator the shards are one "market" stream: connected only when every shard is,
subscriptions and counters summed. Counters of replaced shards are kept in a retired base so
the sums never go down (the metrics read them as counters).
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from actors.messages import StreamStatus

MAX_STREAMS_PER_CONNECTION = 1024
"""Binance: streams one WebSocket connection may subscribe."""
_WORST = ("stopped", "reconnecting", "connecting")
"""Aggregate state: the first of these any shard is in, else connected."""


def shard_of(symbol: str, shards: int) -> int:
    """The shard (0 .. shards-1) that carries `symbol`: stable across processes."""
    if shards < 1:
        raise ValueError(f"shards must be >= 1, got {shards}")
    return zlib.crc32(symbol.upper().encode()) % shards


def split(routes: Iterable[tuple[str, Any]], shards: int) -> list[tuple[tuple[str, Any], ...]]:
    """The routing table cut into each shard's part (index = shard)."""
    parts: list[list[tuple[str, Any]]] = [[] for _ in range(shards)]
    for symbol, address in routes:
        parts[shard_of(symbol, shards)].append((symbol, address))
    return [tuple(p) for p in parts]


@dataclasses.dataclass
class Retired:
    """Counters of shards that were replaced (added to the live shards' sums)."""

    frames: int = 0
    bad_frames: int = 0
    reconnects: int = 0

    def retire(self, last: StreamStatus | None) -> None:
        """A shard is gone: keep what it counted (its replacement starts from zero)."""
        if last is not None:
            self.frames += last.frames
            self.bad_frames += last.bad_frames
            self.reconnects += last.reconnects + 1  # its replacement is a new connection


def combined(shards: Sequence[StreamStatus | None], retired: Retired) -> StreamStatus:
    """All shards as one market StreamStatus (a shard not heard from yet is "connecting").

    pid is 0: there are several; each shard's pid is in its `posguard actors` row.
    """
    known = [s for s in shards if s is not None]
    states = {s.state for s in known} | ({"connecting"} if len(known) < len(shards) else set())
    state = next((w for w in _WORST if w in states), "connected")
    frames = [s.last_frame_ms for s in known if s.last_frame_ms]
    errors = [s.last_error for s in known if s.last_error and s.state != "connected"] or \
        [s.last_error for s in known if s.last_error]
    lags = [s.event_lag_ms for s in known if s.event_lag_ms is not None]
    return StreamStatus(
        "market", state, retired.frames + sum(s.frames for s in known),
        retired.bad_frames + sum(s.bad_frames for s in known),
        retired.reconnects + sum(s.reconnects for s in known),
        # The oldest shard's last frame: a silent shard must show (stream alerts, metrics).
        min(frames) if frames else 0,
        errors[0] if errors else None, sum(s.subscriptions for s in known), 0,
        max(lags) if lags else None)
