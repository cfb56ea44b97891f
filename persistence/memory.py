"""In-memory store for unit tests: the Store and InstanceLock contract without a database.

Not durable and not shared between processes, so it is never a config choice and the CLI
never builds one. Journals and snapshots are keyed by (account, symbol), a store sees its
account's only, as on the real backends. A `MemoryDatabase` plays the part of the SQLite
file or the PostgreSQL server: every lock and store made on the same one sees the same
rows. Payloads and states go through the codec like on the real backends, so a unit test
meets the same CodecError, tuples come back as lists, and a stored row never aliases the
caller's dict.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from persistence import codec, outbox
from persistence.store import (
    DEFAULT_ACCOUNT,
    HolderInfo,
    InstanceLock,
    InstanceLocked,
    JournalRow,
    Loaded,
    LockLost,
    OutboxAlert,
    SeqConflict,
    StaleEpoch,
    Store,
    StoreNotInitialised,
    StoreUnavailable,
    check_account,
)

SCHEMA_VERSION = 1
"""The memory database has no tables; it is 'at this build's schema' once opened."""


@dataclass(frozen=True, slots=True)
class _Row:
    """A journal row as kept: the payload encoded, as a database keeps it."""

    row: JournalRow
    """The row with an empty payload (decoded on every read)."""
    payload: bytes
    """The encoded payload."""


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """The latest snapshot of one symbol."""

    seq: int
    """Seq of the row that wrote it."""
    state: bytes
    """The encoded state."""
    live: bool
    """Whether the symbol is live (live_symbols)."""


class MemoryDatabase:
    """What a database holds: the instance row, journal, snapshots and the alert outbox."""

    def __init__(self) -> None:
        self.schema_version = 0
        self.epoch = 0
        self.lock_holder: tuple[MemoryInstanceLock, HolderInfo] | None = None
        """The lock that holds the instance lock, and who it says it is."""
        self.journal: dict[tuple[str, str], list[_Row]] = {}
        """(account, symbol) -> its rows in seq order."""
        self.snapshots: dict[tuple[str, str], _Snapshot] = {}
        """(account, symbol) -> its latest snapshot."""
        self.alerts: dict[int, OutboxAlert] = {}
        """Alert id -> the alert as first added (channel and delivery fields unset)."""
        self.deliveries: dict[tuple[int, str], OutboxAlert] = {}
        """(alert id, channel) -> that channel's still undelivered copy of the alert."""
        self.mutex = threading.Lock()
        """One writer at a time, as a transaction would (threads of one process)."""
        self._last_now_ms = 0

    def now_ms(self) -> int:
        """The database's own clock (real time, never going back), for recorded_at."""
        self._last_now_ms = max(self._last_now_ms, int(time.time() * 1000))
        return self._last_now_ms


class MemoryInstanceLock(InstanceLock):
    """The instance lock on a MemoryDatabase: one holder at a time, epoch bumped on acquire."""

    def __init__(self, db: MemoryDatabase, clock: Any) -> None:
        self.db = db
        self._clock = clock

    def acquire(self) -> HolderInfo:
        """Take the lock or raise InstanceLocked naming the holder; then bump the epoch."""
        with self.db.mutex:
            if self.db.lock_holder is not None:
                raise InstanceLocked("another posguard instance holds the memory store: "
                                     f"{self.db.lock_holder[1].describe()}")
            self.db.schema_version = SCHEMA_VERSION
            self.db.epoch += 1
            info = HolderInfo(self.db.epoch, socket.gethostname(), os.getpid(),
                              int(self._clock.now_ms()))
            self.db.lock_holder = (self, info)
            return info

    def check(self) -> None:
        """Raise LockLost unless this lock is the holder."""
        if self.db.lock_holder is None or self.db.lock_holder[0] is not self:
            raise LockLost("the memory store's instance lock is not held by this instance")

    def release(self) -> None:
        """Give the lock up; idempotent."""
        with self.db.mutex:
            if self.db.lock_holder is not None and self.db.lock_holder[0] is self:
                self.db.lock_holder = None


class MemoryStore(Store):
    """Store on a MemoryDatabase, scoped to `account`; every append fenced by `epoch`."""

    def __init__(self, db: MemoryDatabase, epoch: int, clock: Any,
                 account: str = DEFAULT_ACCOUNT) -> None:
        self.account = check_account(account)
        if db.schema_version != SCHEMA_VERSION:
            raise StoreNotInitialised(
                f"memory store: schema version {db.schema_version}, this build needs "
                f"{SCHEMA_VERSION}; open an instance (open_instance) before attaching")
        self.db: MemoryDatabase | None = db
        self.epoch = epoch
        self._clock = clock

    def _db(self) -> MemoryDatabase:
        if self.db is None:
            raise StoreUnavailable("memory store is closed")
        return self.db

    def append(self, symbol: str, *, expected_seq: int, kind: str, payload: dict,
               state: dict | None, live: bool, correlation_id: str,
               created_at_ms: int | None = None) -> int:
        """Journal row + snapshot, both or neither; returns the new seq."""
        payload_b = codec.encode(payload)
        state_b = None if state is None else codec.encode(state)
        created = self._clock.now_ms() if created_at_ms is None else int(created_at_ms)
        db = self._db()
        seq = expected_seq + 1
        key, name = (self.account, symbol), f"{self.account}:{symbol}"
        with db.mutex:
            if db.epoch != self.epoch:
                raise StaleEpoch(f"append {name}: our epoch {self.epoch} is stale, the "
                                 f"store is at epoch {db.epoch} (a newer instance started)")
            rows = db.journal.setdefault(key, [])
            if len(rows) != expected_seq:
                raise SeqConflict(f"append {name}: expected seq {expected_seq}, "
                                  f"store has {len(rows)}")
            row = JournalRow(symbol, seq, self.epoch, kind, {}, correlation_id, created,
                             db.now_ms(), self.account)
            rows.append(_Row(row, payload_b))
            if state_b is not None:
                db.snapshots[key] = _Snapshot(seq, state_b, bool(live))
        return seq

    def load(self, symbol: str) -> Loaded:
        """Latest snapshot + the rows after it."""
        db = self._db()
        with db.mutex:
            snap = db.snapshots.get((self.account, symbol))
            rows = list(db.journal.get((self.account, symbol), ()))
        snap_seq = snap.seq if snap else 0
        state = codec.decode(snap.state) if snap else None
        return Loaded(symbol, len(rows), snap_seq, state, tuple(_decoded(rows[snap_seq:])))

    def live_symbols(self) -> list[str]:
        """This account's symbols whose latest snapshot is live, sorted."""
        return self.live_accounts().get(self.account, [])

    def journal(self, symbol: str, after_seq: int = 0, limit: int | None = None
                ) -> list[JournalRow]:
        """Rows with seq > after_seq, oldest first."""
        db = self._db()
        with db.mutex:
            rows = db.journal.get((self.account, symbol), [])[max(after_seq, 0):]
        return _decoded(rows if limit is None else rows[:limit])

    def live_accounts(self) -> dict[str, list[str]]:
        """Store-wide: account -> its live symbols, sorted."""
        db = self._db()
        found: dict[str, list[str]] = {}
        with db.mutex:
            for account, symbol in sorted(k for k, snap in db.snapshots.items() if snap.live):
                found.setdefault(account, []).append(symbol)
        return found

    def symbol_accounts(self, symbol: str) -> list[str]:
        """Store-wide: the accounts with journal rows for `symbol`, sorted."""
        db = self._db()
        with db.mutex:
            return sorted(a for (a, s), rows in db.journal.items() if s == symbol and rows)

    # ------------------------------------------------------------------ alert outbox

    def add_alert(self, *, kind: str, severity: str, symbol: str | None, text: str,
                  payload: dict, created_at_ms: int, channels: Sequence[str],
                  account: str | None = None) -> int:
        """The alert, pending on each of `channels` from created_at_ms; its id."""
        kept = _copy(payload)  # CodecError before anything is kept, as on the real backends
        named = None if account is None else check_account(account)
        db = self._db()
        with db.mutex:
            alert_id = max(db.alerts, default=0) + 1
            alert = OutboxAlert(alert_id, "", kind, severity, symbol, text, kept, self.epoch,
                                int(created_at_ms), 0, int(created_at_ms), None, named)
            db.alerts[alert_id] = alert
            for channel in channels:
                db.deliveries[(alert_id, channel)] = replace(alert, channel=channel)
        return alert_id

    def pending_alerts(self, channel: str, *, due_at_ms: int, limit: int = 100
                       ) -> list[OutboxAlert]:
        """Undelivered, due alerts of `channel`, oldest first."""
        db = self._db()
        with db.mutex:
            due = sorted((a for (_, ch), a in db.deliveries.items()
                          if ch == channel and a.next_at_ms <= due_at_ms), key=lambda a: a.id)
        return [replace(a, payload=_copy(a.payload)) for a in due[:limit]]

    def alert_attempt_failed(self, channel: str, ids: Sequence[int], *, error: str,
                             next_at_ms: int) -> None:
        """attempts + 1, last_error, next_at_ms for each still undelivered id."""
        db = self._db()
        with db.mutex:
            for key in ((int(i), channel) for i in ids):
                if key in db.deliveries:
                    a = db.deliveries[key]
                    db.deliveries[key] = replace(a, attempts=a.attempts + 1,
                                                 last_error=outbox.error_text(error),
                                                 next_at_ms=int(next_at_ms))

    def alerts_delivered(self, channel: str, ids: Sequence[int], *, delivered_at_ms: int
                         ) -> None:
        """These alerts are no longer pending on `channel`."""
        db = self._db()
        with db.mutex:
            for i in ids:
                db.deliveries.pop((int(i), channel), None)

    def ping(self) -> None:
        """StoreUnavailable once closed."""
        self._db()

    def close(self) -> None:
        """Detach from the database; idempotent."""
        self.db = None


def _copy(payload: dict) -> dict:
    """`payload` as a database would give it back: a fresh dict, tuples turned to lists."""
    return codec.decode(codec.encode(payload))


def _decoded(rows: Sequence[_Row]) -> list[JournalRow]:
    return [replace(r.row, payload=codec.decode(r.payload)) for r in rows]


def open_instance(db: MemoryDatabase, clock: Any) -> tuple[MemoryInstanceLock, HolderInfo]:
    """Like persistence.factory.open_instance: take the lock and bump the epoch."""
    lock = MemoryInstanceLock(db, clock)
    return lock, lock.acquire()


def attach(db: MemoryDatabase, epoch: int, clock: Any, account: str = DEFAULT_ACCOUNT
           ) -> MemoryStore:
    """Like persistence.factory.attach: a store scoped to `account`, fenced by `epoch`."""
    return MemoryStore(db, epoch, clock, account)

