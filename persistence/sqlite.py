"""SQLite store (the embedded default): WAL, synchronous=FULL, one connection per process.

A SqliteStore is scoped to one account (store.py `Store`): every journal and snapshot
statement names it; live_accounts, symbol_accounts and the outbox read the whole file.

Many processes (one per symbol actor) write the same file. Appends run under
`BEGIN IMMEDIATE`, which takes the write lock up front, so the epoch and seq checks and the
writes happen atomically with respect to every other writer. Waiting writers queue in the
kernel first (persistence/write_queue.py: an flock on `<file>-writelock`), then take
SQLite's lock, which is then nearly always free.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any

from persistence import codec, migrate, outbox
from persistence.rows import SELECT_ROWS, SYMBOL_ACCOUNTS, accounts_of, journal_row
from persistence.sqlite_writer import Request, WriterClient, WriterServer
from persistence.store import (
    DEFAULT_ACCOUNT,
    JournalRow,
    Loaded,
    OutboxAlert,
    SeqConflict,
    StaleEpoch,
    Store,
    StoreNotSafe,
    StoreUnavailable,
    check_account,
)
from persistence.write_queue import WriteQueue, WriteQueueError, WriteQueueTimeout

# SQLite's own clock in ms (julianday has ms resolution): recorded_at is the database's
# commit-time clock, not the engine's injectable clock.
NOW_MS_SQL = "CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)"
_SYNCHRONOUS_FULL = 2
CACHE_KIB = 256
"""Page cache per connection (SQLite's default is 2,000 KiB). Each symbol actor holds one
connection and its cache only fills: measured with one writer, +0.8 MB after 3,000 appends
and still growing, so in a long run every actor would carry ~2 MB of it (issue 15). Appends
touch a handful of pages, and another process's commit resets the cache anyway (one file,
many writers); the OS page cache keeps the file. Append time: no difference measured."""


def connect(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
    """Open `path` in autocommit mode with WAL + synchronous=FULL, verified."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    except sqlite3.Error as e:
        raise StoreUnavailable(f"cannot open SQLite store {path}: {e}") from e
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        conn.execute("PRAGMA synchronous = FULL")
        sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    except sqlite3.Error as e:
        conn.close()
        raise StoreUnavailable(f"cannot open SQLite store {path}: {e}") from e
    if str(mode).lower() != "wal" or sync != _SYNCHRONOUS_FULL:
        conn.close()
        raise StoreNotSafe(f"SQLite store {path}: journal_mode={mode} synchronous={sync}; "
                           "need wal and FULL (2) (network or read-only filesystem?)")
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    """Highest applied migration, 0 on an empty file."""
    has = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                       "AND name = 'schema_version'").fetchone()
    if not has:
        return 0
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
               .fetchone()[0])


@contextlib.contextmanager
def translated(path: str, op: str) -> Iterator[None]:
    """Turn sqlite3 errors into store errors (always `from` the original)."""
    try:
        yield
    except sqlite3.IntegrityError as e:
        # Only reachable if two writers race one symbol past the seq check.
        raise SeqConflict(f"SQLite store {path}: {op}: {e}") from e
    except (sqlite3.Error, WriteQueueTimeout, WriteQueueError) as e:
        raise StoreUnavailable(f"SQLite store {path}: {op} failed: {e}") from e


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, begin: str) -> Iterator[None]:
    """BEGIN ... COMMIT, rolled back on any exception (which then propagates)."""
    conn.execute(begin)
    with _finish(conn):
        yield


@contextlib.contextmanager
def _finish(conn: sqlite3.Connection) -> Iterator[None]:
    """COMMIT after the body, or ROLLBACK if it raised (the exception propagates)."""
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            # The original exception is what matters; a failing ROLLBACK (dead file)
            # must not replace it, and SQLite discards the transaction anyway.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


WRITE_POLL_FIRST_SECS = 0.0001
WRITE_POLL_MAX_SECS = 0.004
"""Pause between tries for the write lock: doubles from 0.1 ms to 4 ms, jittered."""


def begin_immediate(conn: sqlite3.Connection, wait_ms: int) -> None:
    """BEGIN IMMEDIATE, retrying for the write lock with a short backoff for up to `wait_ms`.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms between
    tries, so with many symbol actors committing at once a waiter oversleeps a lock that is
    held for ~0.3 ms: `posguard bench` measured tick -> stop accepted p99 147 ms with 10
    symbols ticking together. Polling every 0.1-0.5 ms without backoff fixed that but, with
    100 actors committing in the same millisecond, turned into a herd spinning on the lock
    (2 cores busy, ticks delivered 16 s late). So: 0.1 ms doubling to 4 ms, jittered. Only
    this BEGIN retries; every other statement keeps the connection's busy_timeout (e.g. a
    reader meeting WAL recovery after a crash).
    """
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + wait_ms / 1000
        pause = WRITE_POLL_FIRST_SECS
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as e:
                busy = "locked" in str(e) or "busy" in str(e)
                if not busy or time.monotonic() >= deadline:
                    raise
            time.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, WRITE_POLL_MAX_SECS)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(wait_ms)}")


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection, wait_ms: int,
                      queue: WriteQueue) -> Iterator[None]:
    """The queue, then begin_immediate ... COMMIT, rolled back on any exception (which then
    propagates); `wait_ms` bounds the whole wait, in the queue and for SQLite's lock."""
    with queue.held(wait_ms) as left_ms:
        begin_immediate(conn, left_ms)
        with _finish(conn):
            yield


def append_rows(conn: sqlite3.Connection, request: Request) -> int:
    """One append's checks and writes, inside the caller's write transaction: the fencing
    epoch, the expected seq, the journal row, the snapshot upsert. Returns the new seq."""
    (account, symbol, epoch, expected_seq, kind, payload_b, state_b, live, correlation_id,
     created) = request
    name, seq = f"{account}:{symbol}", expected_seq + 1
    current_epoch = conn.execute("SELECT epoch FROM instance WHERE id = 1").fetchone()[0]
    if current_epoch != epoch:
        raise StaleEpoch(f"append {name}: our epoch {epoch} is stale, the "
                         f"store is at epoch {current_epoch} (a newer instance started)")
    current = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM journal "
                           "WHERE account = ? AND symbol = ?", (account, symbol)).fetchone()[0]
    if current != expected_seq:
        raise SeqConflict(f"append {name}: expected seq {expected_seq}, store has {current}")
    conn.execute(
        "INSERT INTO journal (account, symbol, seq, epoch, kind, payload, "
        "correlation_id, created_at_ms, recorded_at_ms) "
        f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, {NOW_MS_SQL})",
        (account, symbol, seq, epoch, kind, payload_b, correlation_id, created))
    if state_b is not None:
        conn.execute(
            "INSERT INTO snapshots (account, symbol, seq, state, live, updated_at_ms) "
            f"VALUES (?, ?, ?, ?, ?, {NOW_MS_SQL}) ON CONFLICT (account, symbol) "
            "DO UPDATE SET seq = excluded.seq, state = excluded.state, "
            "live = excluded.live, updated_at_ms = excluded.updated_at_ms",
            (account, symbol, seq, state_b, 1 if live else 0))
    return seq


def store_writer(path: str, busy_timeout_ms: int, *,
                 log: Any = lambda _m: None) -> WriterServer:
    """The writer for the file at `path` (persistence/sqlite_writer.py), not yet started."""
    def open_group() -> tuple[sqlite3.Connection, Any, Any]:
        conn = connect(path, busy_timeout_ms)
        queue = WriteQueue(path)

        @contextlib.contextmanager
        def group() -> Iterator[None]:
            with translated(path, "group append"), \
                    write_transaction(conn, busy_timeout_ms, queue):
                yield
        return conn, append_rows, group
    return WriterServer(path, open_group, log=log)


class SqliteStore(Store):
    """Store on one SQLite file, scoped to `account`; every append fenced by `epoch`."""

    def __init__(self, path: str, epoch: int, clock: Any, busy_timeout_ms: int = 5000, *,
                 account: str = DEFAULT_ACCOUNT, writer: bool = True):
        self.path = path
        self.epoch = epoch
        self.account = check_account(account)
        self._clock = clock
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = connect(path, busy_timeout_ms)
        self._queue = WriteQueue(path)
        self._writer = WriterClient(path) if writer else None
        """The store's writer, if one runs (else every append is direct)."""
        self.through_writer = 0
        """Appends the writer answered (the rest were direct)."""
        with translated(path, "open"):
            migrate.check_current(schema_version(self._conn), "sqlite", f"SQLite {path}")

    def _c(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreUnavailable(f"SQLite store {self.path} is closed")
        return self._conn

    def append(self, symbol: str, *, expected_seq: int, kind: str, payload: dict,
               state: dict | None, live: bool, correlation_id: str,
               created_at_ms: int | None = None) -> int:
        """Journal row + snapshot upsert in one IMMEDIATE transaction; returns the new seq.

        Through the store's writer when one runs (persistence/sqlite_writer.py: committed in
        a group, durable before it answers), else directly under the writers' queue."""
        created = self._clock.now_ms() if created_at_ms is None else int(created_at_ms)
        request = [self.account, symbol, self.epoch, expected_seq, kind, codec.encode(payload),
                   None if state is None else codec.encode(state), bool(live),
                   correlation_id, created]
        self._c()  # a closed store refuses before anything is sent anywhere
        if self._writer is not None:
            seq = self._writer.append(request, self._busy_timeout_ms,
                                      lambda: self._committed(request))
            if seq is not None:
                self.through_writer += 1
                return seq
        with translated(self.path, f"append {self.account}:{symbol} seq {expected_seq + 1}"), \
                write_transaction(self._c(), self._busy_timeout_ms, self._queue):
            return append_rows(self._c(), request)

    def _committed(self, request: Request) -> int | None:
        """The request's seq if the journal holds it (the writer went away after taking it)."""
        account, symbol, _epoch, expected_seq, kind, *_rest = request
        correlation_id = request[8]
        with translated(self.path, f"read back {account}:{symbol} seq {expected_seq + 1}"):
            row = self._c().execute(
                "SELECT kind, correlation_id FROM journal WHERE account = ? AND symbol = ? "
                "AND seq = ?", (account, symbol, expected_seq + 1)).fetchone()
        return expected_seq + 1 if row == (kind, correlation_id) else None

    def load(self, symbol: str) -> Loaded:
        """Snapshot + tail, read in one transaction so they are consistent."""
        conn = self._c()
        key = (self.account, symbol)
        with translated(self.path, f"load {self.account}:{symbol}"), transaction(conn, "BEGIN"):
            snap = conn.execute("SELECT seq, state FROM snapshots WHERE account = ? AND "
                                "symbol = ?", key).fetchone()
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM journal WHERE account = ? "
                               "AND symbol = ?", key).fetchone()[0]
            snap_seq = snap[0] if snap else 0
            tail = self._rows(conn, key, snap_seq, None)
        state = codec.decode(snap[1]) if snap else None
        return Loaded(symbol, seq, snap_seq, state, tuple(tail))

    def live_symbols(self) -> list[str]:
        """This account's symbols whose latest snapshot is live, sorted."""
        with translated(self.path, "live_symbols"):
            rows = self._c().execute(
                "SELECT symbol FROM snapshots WHERE live = 1 AND account = ? ORDER BY symbol",
                (self.account,)).fetchall()
        return [r[0] for r in rows]

    def journal(self, symbol: str, after_seq: int = 0, limit: int | None = None
                ) -> list[JournalRow]:
        """Rows with seq > after_seq, oldest first."""
        with translated(self.path, f"journal {self.account}:{symbol}"):
            return self._rows(self._c(), (self.account, symbol), after_seq, limit)

    def live_accounts(self) -> dict[str, list[str]]:
        """Store-wide: account -> its live symbols, sorted."""
        with translated(self.path, "live_accounts"):
            rows = self._c().execute("SELECT account, symbol FROM snapshots WHERE live = 1 "
                                     "ORDER BY account, symbol").fetchall()
        return accounts_of(rows)

    def symbol_accounts(self, symbol: str) -> list[str]:
        """Store-wide: the accounts with journal rows for `symbol`, sorted."""
        with translated(self.path, f"symbol_accounts {symbol}"):
            rows = self._c().execute(_q(SYMBOL_ACCOUNTS), (symbol,)).fetchall()
        return [r[0] for r in rows]

    @staticmethod
    def _rows(conn: sqlite3.Connection, key: tuple[str, str], after_seq: int,
              limit: int | None) -> list[JournalRow]:
        rows = conn.execute(
            f"{SELECT_ROWS} WHERE account = ? AND symbol = ? AND seq > ? ORDER BY seq LIMIT ?",
            (*key, after_seq, -1 if limit is None else limit)).fetchall()
        return [journal_row(r) for r in rows]

    # ------------------------------------------------------------------ alert outbox

    def add_alert(self, *, kind: str, severity: str, symbol: str | None, text: str,
                  payload: dict, created_at_ms: int, channels: Sequence[str],
                  account: str | None = None) -> int:
        """The alert and its delivery rows in one IMMEDIATE transaction; its id."""
        params = outbox.alert_params(kind, severity, symbol, text, payload, self.epoch,
                                     created_at_ms, account)
        conn = self._c()
        with translated(self.path, "add_alert"), \
                write_transaction(conn, self._busy_timeout_ms, self._queue):
            alert_id = int(conn.execute(_q(outbox.INSERT_ALERT), params).fetchone()[0])
            for channel in channels:
                conn.execute(_q(outbox.INSERT_DELIVERY), (alert_id, channel,
                                                          int(created_at_ms)))
        return alert_id

    def pending_alerts(self, channel: str, *, due_at_ms: int, limit: int = 100
                       ) -> list[OutboxAlert]:
        """Undelivered, due alerts of `channel`, oldest first."""
        with translated(self.path, "pending_alerts"):
            rows = self._c().execute(_q(outbox.PENDING), (channel, int(due_at_ms),
                                                          int(limit))).fetchall()
        return [outbox.row(r) for r in rows]

    def alert_attempt_failed(self, channel: str, ids: Sequence[int], *, error: str,
                             next_at_ms: int) -> None:
        """attempts + 1, last_error, next_at_ms for each still undelivered id."""
        self._mark(outbox.FAILED, ids, (outbox.error_text(error), int(next_at_ms), channel))

    def alerts_delivered(self, channel: str, ids: Sequence[int], *, delivered_at_ms: int
                         ) -> None:
        """delivered_at_ms for each still undelivered id."""
        self._mark(outbox.DELIVERED, ids, (int(delivered_at_ms), channel))

    def _mark(self, sql: str, ids: Sequence[int], params: tuple[Any, ...]) -> None:
        if not ids:
            return
        conn = self._c()
        with translated(self.path, "mark alerts"), write_transaction(
                conn, self._busy_timeout_ms, self._queue):
            conn.execute(_q(outbox.in_list(sql, ids)), (*params, *map(int, ids)))

    def ping(self) -> None:
        """A trivial read; StoreUnavailable if the file is gone or unreadable."""
        with translated(self.path, "ping"):
            self._c().execute("SELECT epoch FROM instance WHERE id = 1").fetchone()

    def close(self) -> None:
        """Close the connection and this process's write-lock file; idempotent."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        self._queue.close()
        if self._writer is not None:
            self._writer.close()


def _q(sql: str) -> str:
    """The shared SQL (persistence/outbox.py) with SQLite's placeholders."""
    return sql.replace("%s", "?")
