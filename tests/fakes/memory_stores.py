"""A store factory for actor unit tests: what an init message carries, on a memory database.

Actors open their store through the factory in SupervisorInit / SymbolInit (in production
persistence.factory.StoreFactory); here every store it opens shares one MemoryDatabase
(persistence/memory.py), so a test reads back what the actor journaled.
"""

from __future__ import annotations

from typing import Any

from persistence.memory import MemoryDatabase, MemoryStore, attach, open_instance
from system.clock import ManualClock


class MemoryStores:
    """store(epoch, clock) -> a MemoryStore on one database, opened as instance `epoch`."""

    def __init__(self, epoch: int = 1) -> None:
        self.db = MemoryDatabase()
        self.epoch = epoch
        for _ in range(epoch):  # every open bumps the epoch, as every launcher start does
            lock, _ = open_instance(self.db, ManualClock())
            lock.release()

    def __call__(self, epoch: int, clock: Any) -> MemoryStore:
        """A store fenced by `epoch` (like persistence.factory.attach)."""
        return attach(self.db, epoch, clock)

    def kinds(self, symbol: str) -> list[str]:
        """The journal row kinds of `symbol`, oldest first."""
        return [r.kind for r in attach(self.db, self.epoch, ManualClock()).journal(symbol)]
