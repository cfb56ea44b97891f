"""The simulator's network latency model: what a trader's engine sees away from loopback.

Loopback answers a REST call in 0.7 ms; a real engine sees 5-35 ms in the venue's region and
150-300 ms from another continent. A bench that never pays that latency hides every queue
that waits on it, so the simulator can add it back on the venue side (never on the control
API, /_sim/*):

- REST: half the round trip (+ jitter) before a request is handled, half (+ jitter) before
  its reply leaves, so an order rests at the venue from the moment it "arrives". A NEW TCP
  connection first pays `handshake_rtts` extra full round trips (TCP + TLS 1.3 on the real
  venue; loopback has neither); a kept-alive connection pays nothing extra.
- Streams: every frame in either direction waits `stream_delay_ms` (+ jitter) in a
  per-connection delay line, so one slow connection never delays another, the emitter never
  blocks, and frames keep their order. Connecting pays `handshake_rtts` + 1 round trips of
  the stream path (2 x stream_delay_ms each): TCP, TLS and the HTTP upgrade.

Jitter is uniform in 0..jitter_ms per one-way leg; a frame's due time never precedes the
previous frame's on the same connection, so jitter never reorders a connection. All zero
(the default) is exactly the simulator without the model: no sleep, no queue.
"""

from __future__ import annotations

import asyncio
import random
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

MAX_DELAY_MS = 10_000.0
"""Upper bound of every delay field: anything longer is a dead venue, not latency."""


def _f(default, doc: str, **limits):
    """A field with a default and the metadata the config loader validates against."""
    return field(default=default, metadata={"doc": doc, **limits})


@dataclass(frozen=True, slots=True)
class Latency:
    """Network latency the simulator adds to the venue's REST API and streams."""

    rest_rtt_ms: float = _f(
        0.0, "REST round trip added: half before the request is handled, half before the "
        "reply leaves (ms)", min=0.0, max=MAX_DELAY_MS)
    stream_delay_ms: float = _f(
        0.0, "one-way delay of every WebSocket frame, both directions, order kept (ms)",
        min=0.0, max=MAX_DELAY_MS)
    jitter_ms: float = _f(
        0.0, "uniform 0..jitter added to every one-way leg, order per connection kept (ms)",
        min=0.0, max=MAX_DELAY_MS)
    handshake_rtts: int = _f(
        2, "extra round trips a NEW connection pays before its first request (TCP + TLS "
        "1.3 as on the real venue) (count)", min=0, max=10)

    @property
    def rest_active(self) -> bool:
        """Whether REST requests are delayed at all."""
        return self.rest_rtt_ms > 0 or self.jitter_ms > 0

    @property
    def stream_active(self) -> bool:
        """Whether stream frames are delayed at all."""
        return self.stream_delay_ms > 0 or self.jitter_ms > 0

    def jitter(self, rng: random.Random) -> float:
        """One leg's jitter in seconds (0 without jitter; the rng is not drawn then)."""
        return rng.uniform(0.0, self.jitter_ms) / 1000 if self.jitter_ms > 0 else 0.0

    def rest_leg(self, rng: random.Random) -> float:
        """Seconds one REST leg (request in, or reply out) waits: half the RTT + jitter."""
        return self.rest_rtt_ms / 2000 + self.jitter(rng)

    def rest_connect(self) -> float:
        """Extra seconds a new REST connection waits before its first request."""
        return self.handshake_rtts * self.rest_rtt_ms / 1000

    def stream_leg(self, rng: random.Random) -> float:
        """Seconds one stream frame waits, one way: stream_delay_ms + jitter."""
        return self.stream_delay_ms / 1000 + self.jitter(rng)

    def stream_connect(self) -> float:
        """Seconds a WebSocket connect waits before the upgrade is answered.

        handshake_rtts + 1 round trips of the stream path (TCP, TLS, the upgrade request).
        """
        return (self.handshake_rtts + 1) * 2 * self.stream_delay_ms / 1000


def next_due(now: float, delay: float, last_due: float) -> float:
    """When a frame sent at `now` with `delay` leaves: never before the previous one."""
    return max(now + delay, last_due)


class DelayLine:
    """One connection direction's frames, each handed to `deliver` at its due time, in order.

    `put` never blocks and never awaits: the emitter stays free, and a slow connection only
    delays its own line. `deliver` runs on one task per line, one item at a time.
    """

    def __init__(self, deliver: Callable[[Any], Awaitable[None]],
                 delay: Callable[[], float],
                 time: Callable[[], float] | None = None) -> None:
        self._deliver = deliver
        self._delay = delay
        self._time = time or asyncio.get_running_loop().time
        self._items: deque[tuple[float, Any]] = deque()
        self._last_due = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.closed = False

    def put(self, item: Any) -> float:
        """Queue `item` (dropped once the line is closed); returns its due time."""
        due = next_due(self._time(), self._delay(), self._last_due)
        if self.closed:
            return due
        self._last_due = due
        self._items.append((due, item))
        self._wake.set()
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        return due

    def __len__(self) -> int:
        return len(self._items)

    async def _run(self) -> None:
        while not self.closed:
            if not self._items:
                self._wake.clear()
                await self._wake.wait()
                continue
            due, item = self._items[0]
            wait = due - self._time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            self._items.popleft()
            try:
                await self._deliver(item)
            except (ConnectionError, RuntimeError):
                # The peer went away mid-send: nothing later on this line can arrive either.
                self.close()

    def close(self) -> None:
        """Drop what is queued and stop delivering (the connection is gone)."""
        self.closed = True
        self._items.clear()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()


class RestDelay:
    """The REST side of the model: a request's two legs and a new connection's handshake.

    A connection is new when its transport has not carried a request before (kept-alive
    connections reuse theirs); transports are held weakly, so a closed one is forgotten.
    """

    def __init__(self, latency: Latency, rng: random.Random) -> None:
        self.latency = latency
        self.rng = rng
        self._seen: weakref.WeakSet = weakref.WeakSet()

    @property
    def active(self) -> bool:
        """Whether any REST delay applies (False: the handler runs exactly as without)."""
        return self.latency.rest_active

    async def arrive(self, transport: Any) -> None:
        """Wait as the request travels to the venue (plus the handshake on a new connection)."""
        wait = self.latency.rest_leg(self.rng)
        if transport is not None and transport not in self._seen:
            self._seen.add(transport)
            wait += self.latency.rest_connect()
        await asyncio.sleep(wait)

    async def leave(self) -> None:
        """Wait as the reply travels back."""
        await asyncio.sleep(self.latency.rest_leg(self.rng))


class StreamDelay:
    """The stream side of the model, shared by every WebSocket connection of one simulator."""

    def __init__(self, latency: Latency, rng: random.Random) -> None:
        self.latency = latency
        self.rng = rng

    @property
    def active(self) -> bool:
        """Whether frames are delayed (False: sent and handled at once, as without)."""
        return self.latency.stream_active

    def leg(self) -> float:
        """One frame's one-way delay in seconds."""
        return self.latency.stream_leg(self.rng)

    async def connect(self) -> None:
        """Wait out TCP, TLS and the upgrade before the handshake is answered."""
        wait = self.latency.stream_connect()
        if wait > 0:
            await asyncio.sleep(wait)

    def line(self, deliver: Callable[[Any], Awaitable[None]]) -> DelayLine:
        """A delay line for one direction of one connection."""
        return DelayLine(deliver, self.leg)
