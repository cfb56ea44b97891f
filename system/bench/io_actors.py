"""The actor half of the I/O bench (system/bench/io.py): a driver that stands where the symbol
actors stand and sends exchange requests through the real pool and worker processes.

Its own module (not the bench's): Thespian pickles actor classes by reference, so the actor
processes must be able to import it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from thespian.actors import ActorTypeDispatcher

from actors.exchange_worker import ExchangePool
from actors.messages import ExchangeReply, ExchangeRequest, LookupOrder, PoolInit, Started


@dataclass(frozen=True, slots=True)
class StartIo:
    """Create the pool with `init`."""

    init: PoolInit


@dataclass(frozen=True, slots=True)
class DriveIo:
    """Send `n` lookups, `concurrency` at a time; the run's figures come with IoSeen."""

    n: int
    concurrency: int


@dataclass(frozen=True, slots=True)
class SeeIo:
    """Ask for IoSeen."""


@dataclass(frozen=True, slots=True)
class IoSeen:
    """What the driver knows."""

    pids: tuple[tuple[str, int], ...]
    ready: bool
    done: int
    failures: int
    latencies_ms: tuple[float, ...]
    wall_secs: float


class IoDriver(ActorTypeDispatcher):
    """Parent of the pool; keeps `concurrency` requests outstanding until `n` were answered."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.pool: Any = None
        self.pids: list[tuple[str, int]] = []
        self.ready = False
        self.left = 0
        self.sent_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.failures = 0
        self.started = 0.0
        self.wall = 0.0
        self.seq = 0

    def receiveMsg_StartIo(self, msg: StartIo, sender: Any) -> None:
        self.pool = self.createActor(ExchangePool)
        self.send(self.pool, msg.init)
        self.send(sender, self._seen())

    def receiveMsg_Started(self, msg: Started, sender: Any) -> None:
        self.pids.append((msg.kind, msg.pid))

    def receiveMsg_MarketsLoaded(self, msg: Any, sender: Any) -> None:
        self.ready = True

    def receiveMsg_DriveIo(self, msg: DriveIo, sender: Any) -> None:
        self.latencies, self.failures, self.wall = [], 0, 0.0
        self.left = msg.n
        self.started = time.perf_counter()
        for _ in range(min(msg.concurrency, msg.n)):
            self._send_one()
        self.send(sender, self._seen())

    def _send_one(self) -> None:
        if self.left <= 0:
            return
        self.left -= 1
        self.seq += 1
        rid = f"io-{self.seq}"
        self.sent_at[rid] = time.perf_counter()
        self.send(self.pool, ExchangeRequest(rid, LookupOrder("BTCUSDT", f"pg-9-BTCUSDT-io-{self.seq}",
                                                              algo=False), self.myAddress))

    def receiveMsg_ExchangeReply(self, msg: ExchangeReply, sender: Any) -> None:
        t0 = self.sent_at.pop(msg.request_id, None)
        if t0 is None:
            return
        self.latencies.append((time.perf_counter() - t0) * 1000)
        self.failures += msg.failure is not None
        self._send_one()
        if not self.sent_at and self.left <= 0:
            self.wall = time.perf_counter() - self.started

    def receiveMsg_SeeIo(self, msg: SeeIo, sender: Any) -> None:
        self.send(sender, self._seen())

    def receiveUnrecognizedMessage(self, msg: Any, sender: Any) -> None:
        pass  # RequestHeld, PoolStatus, WorkerGone ...

    def _seen(self) -> IoSeen:
        return IoSeen(tuple(self.pids), self.ready, len(self.latencies), self.failures,
                      tuple(self.latencies), self.wall)
