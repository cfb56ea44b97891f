"""The exchange pool's queue: which waiting request a free worker takes next.

Priority (decided for posguard, see README design notes): protective work (stop placements,
cancels, reduce-only closes, lookups after an unknown outcome: actors/pacing.is_protective)
never waits behind queued reads or opens. Both classes are FIFO, and within a class a request
held by the pacer (a placement over the order budget, a read spaced out by weight) does not
hold the requests behind it that the pacer lets go. Reordering across symbols is safe: a
symbol actor never has two dependent requests queued at once (it sends a move's cancel only
after the new stop was accepted). Nothing is dropped; a held request goes when the pacer says.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterator
from typing import Any

from actors.messages import ExchangeRequest
from actors.pacing import Pacer, is_placing, is_protective


class Dispatcher:
    """Two FIFO queues (protective, other) in front of the Pacer."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer
        self._protective: collections.deque[ExchangeRequest] = collections.deque()
        self._other: collections.deque[ExchangeRequest] = collections.deque()

    def __len__(self) -> int:
        return len(self._protective) + len(self._other)

    def __iter__(self) -> Iterator[ExchangeRequest]:
        """Every queued request (protective first), without taking any."""
        return itertools.chain(tuple(self._protective), tuple(self._other))

    def drain(self) -> list[ExchangeRequest]:
        """Take every queued request, sent or not (the pool is shutting down)."""
        out = [*self._protective, *self._other]
        self._protective.clear()
        self._other.clear()
        return out

    def submit(self, req: ExchangeRequest) -> None:
        """Queue a request behind the others of its class."""
        (self._protective if is_protective(req.op) else self._other).append(req)

    def take(self, now: float) -> ExchangeRequest | None:
        """The next request that may go now (recorded as sent), or None."""
        waits: dict[tuple[Any, ...], float] = {}
        for queue in (self._protective, self._other):
            for i, req in enumerate(queue):
                if self._wait(req.op, now, waits) <= 0:
                    del queue[i]
                    self.pacer.sent(req.op, now)
                    return req
        return None

    def next_wake_secs(self, now: float) -> float | None:
        """How long until a held request may go (None: nothing is queued)."""
        if not len(self):
            return None
        waits: dict[tuple[Any, ...], float] = {}
        return min(self._wait(r.op, now, waits) for q in (self._protective, self._other)
                   for r in q)

    def _wait(self, op: Any, now: float, waits: dict[tuple[Any, ...], float]) -> float:
        # Requests of one gate class wait alike: ask the pacer once per class per pass (the
        # queue can hold hundreds of reads after a restart).
        key = (is_placing(op), is_protective(op), self.pacer.weight_of(op))
        if key not in waits:
            waits[key] = self.pacer.wait_secs(op, now)
        return waits[key]
