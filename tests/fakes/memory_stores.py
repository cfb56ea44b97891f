"""A store factory for actor unit tests: what an init message carries, on a memory database.

Actors open their store through the factory in SupervisorInit / SymbolInit (in production
persistence.factory.StoreFactory, scoped to one account); here every store it opens shares
one MemoryDatabase (persistence/memory.py), so a test reads back what the actor journaled.
"""

from __future__ import annotations

from typing import Any

from persistence.memory import MemoryDatabase, MemoryStore, attach, open_instance
from persistence.store import DEFAULT_ACCOUNT, check_account
from system.clock import ManualClock


class MemoryStores:
    """store(epoch, clock) -> a MemoryStore on one database scoped to `account`, opened as
    instance `epoch`."""

    def __init__(self, epoch: int = 1, account: str = DEFAULT_ACCOUNT,
                 db: MemoryDatabase | None = None) -> None:
        self.account = check_account(account)
        self.epoch = epoch
        if db is not None:  # another account's view of an existing database (for_account)
            self.db = db
            return
        self.db = MemoryDatabase()
        for _ in range(epoch):  # every open bumps the epoch, as every launcher start does
            lock, _ = open_instance(self.db, ManualClock())
            lock.release()

    def __call__(self, epoch: int, clock: Any) -> MemoryStore:
        """A store fenced by `epoch` (like persistence.factory.StoreFactory)."""
        return attach(self.db, epoch, clock, self.account)

    def for_account(self, account: str) -> MemoryStores:
        """Stores on the same database scoped to `account` (StoreFactory.for_account)."""
        return MemoryStores(self.epoch, account, self.db)

    def kinds(self, symbol: str) -> list[str]:
        """The journal row kinds of `symbol` on this account, oldest first."""
        return [r.kind for r in self(self.epoch, ManualClock()).journal(symbol)]
