"""Single-instance lock + fencing epoch (incident I-2).

acquire() = take the lock (or raise InstanceLocked naming the holder), bring the schema up
to date (migrations run only under the lock, so exactly one process migrates), then bump
the epoch in the instance row and record who we are. Every Store append checks that epoch,
so an instance that lost the lock without noticing cannot write anymore.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from typing import Any

from persistence import migrate
from persistence import sqlite as sq
from persistence.store import HolderInfo, InstanceLock, InstanceLocked, LockLost, StoreUnavailable

PG_LOCK_KEY = 0x706F_7367  # "posg": fits 32 bits, so pg_locks shows it as objid, classid 0


def _me(clock: Any) -> tuple[str, int, int]:
    return socket.gethostname(), os.getpid(), int(clock.now_ms())


class SqliteInstanceLock(InstanceLock):
    """Exclusive non-blocking flock on `<sqlite_path>.lock`; the kernel frees it on death."""

    def __init__(self, sqlite_path: str, clock: Any, busy_timeout_ms: int = 5000):
        self.path = sqlite_path
        self.lock_path = sqlite_path + ".lock"
        self._clock = clock
        self._busy_ms = busy_timeout_ms
        self._fd: int | None = None

    def acquire(self) -> HolderInfo:
        """flock, migrate, bump the epoch, then write our details into the lock file."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:  # e.g. a folder this user cannot write: a clear exit 3, no trace
            raise StoreUnavailable(f"cannot open the lock file of SQLite store {self.path}: "
                                   f"{e}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder_file(fd)
            os.close(fd)
            raise InstanceLocked(f"another posguard instance holds {self.lock_path}: "
                                 f"{holder}") from None
        try:
            info = self._bump()
            # Written only after the bump so the file never names a holder with an old epoch.
            data = json.dumps({"host": info.host, "pid": info.pid,
                               "started_at_ms": info.started_at_ms, "epoch": info.epoch})
            os.ftruncate(fd, 0)
            os.pwrite(fd, data.encode(), 0)
        except BaseException:
            os.close(fd)  # closing the only descriptor releases the flock
            raise
        self._fd = fd
        return info

    def _bump(self) -> HolderInfo:
        host, pid, started = _me(self._clock)
        conn = sq.connect(self.path, self._busy_ms)
        try:
            with sq.translated(self.path, "migrate + bump epoch"):
                migrate.apply_sqlite(conn, started)
                with sq.transaction(conn, "BEGIN IMMEDIATE"):
                    conn.execute("UPDATE instance SET epoch = epoch + 1, host = ?, pid = ?, "
                                 "started_at_ms = ? WHERE id = 1", (host, pid, started))
                    epoch = conn.execute("SELECT epoch FROM instance WHERE id = 1").fetchone()[0]
        finally:
            conn.close()
        return HolderInfo(epoch, host, pid, started)

    def check(self) -> None:
        """A flock cannot be taken away from a live process: only 'did we release it'."""
        if self._fd is None:
            raise LockLost(f"instance lock {self.lock_path} is not held (released)")

    def release(self) -> None:
        """Unlock and close; idempotent. The file stays (unlinking races other lockers)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _read_holder_file(fd: int) -> str:
    raw = os.pread(fd, 4096, 0)
    try:
        d = json.loads(raw)
        return HolderInfo(int(d["epoch"]), str(d["host"]), int(d["pid"]),
                          int(d["started_at_ms"])).describe()
    except (ValueError, KeyError, TypeError):
        return "holder details not written yet (it is still starting)"


def _pg() -> Any:
    """persistence.postgres, imported on first use: psycopg costs memory in every process
    that imports it, and a SQLite instance never needs it (issue 15)."""
    from persistence import postgres
    return postgres


class PgInstanceLock(InstanceLock):
    """Session advisory lock held on a dedicated autocommit connection."""

    def __init__(self, dsn: str, clock: Any, connect_timeout_secs: float = 5):
        pg = _pg()
        self._dsn = dsn
        self._where = pg.describe_dsn(dsn)
        self._clock = clock
        self._timeout = connect_timeout_secs
        self._conn: Any = None

    def acquire(self) -> HolderInfo:
        """Startup checks, try-lock, migrate, bump the epoch."""
        pg = _pg()
        conn = pg.connect(self._dsn, connect_timeout_secs=self._timeout)
        try:
            with pg.translated(self._where, "acquire instance lock"):
                pg.check_durability(conn, self._where)
                got = pg.scalar(conn, "SELECT pg_try_advisory_lock(%s)", (PG_LOCK_KEY,))
                if not got:
                    raise InstanceLocked(f"another posguard instance holds the lock on "
                                         f"PostgreSQL {self._where}: {_pg_holder(conn)}")
                host, pid, started = _me(self._clock)
                migrate.apply_postgres(conn, started)
                epoch = pg.scalar(
                    conn, "UPDATE instance SET epoch = epoch + 1, host = %s, pid = %s, "
                    "started_at_ms = %s WHERE id = 1 RETURNING epoch", (host, pid, started))
        except BaseException:
            _unlock_and_close(conn)  # the advisory lock, if we took it, is free at once
            raise
        self._conn = conn
        return HolderInfo(epoch, host, pid, started)

    def backend_pid(self) -> int:
        """Server pid of the lock connection (for operators and tests)."""
        if self._conn is None:
            raise LockLost("instance lock not held")
        return int(self._conn.info.backend_pid)

    def check(self) -> None:
        """LockLost unless the connection answers and still holds the advisory lock."""
        pg = _pg()
        conn = self._conn
        if conn is None or conn.closed:
            raise LockLost(f"instance lock on PostgreSQL {self._where} is not held")
        try:
            held = pg.scalar(
                conn, "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND "
                "pid = pg_backend_pid() AND classid = 0 AND objid = %s AND granted)",
                (PG_LOCK_KEY,))
        except Exception as e:  # any failure on this connection means the lock is gone
            raise LockLost(f"instance lock connection to PostgreSQL {self._where} "
                           f"is gone: {e}") from e
        if not held:
            raise LockLost(f"instance lock on PostgreSQL {self._where} is no longer held")

    def release(self) -> None:
        """Unlock, then close the session; idempotent."""
        conn, self._conn = self._conn, None
        if conn is not None:
            _unlock_and_close(conn)


def _unlock_and_close(conn: Any) -> None:
    """Release the session's advisory lock and close it. Closing alone frees the lock only
    when the server has ended the session's backend, some time after the client left; a
    restart in that window was refused as a second instance (seen in the suite under load).
    A connection that cannot run the unlock is broken: its session's end drops the lock."""
    try:
        if not conn.closed:
            conn.execute("SELECT pg_advisory_unlock_all()")
    except Exception:  # a broken session frees its lock as it ends
        pass
    finally:
        conn.close()


def _pg_holder(conn: Any) -> str:
    """Describe the holder from the instance row (written by it after locking)."""
    pg = _pg()
    if pg.schema_version(conn) == 0:
        return "holder details not written yet (it is still starting)"
    row = conn.execute("SELECT epoch, host, pid, started_at_ms FROM instance WHERE id = 1"
                       ).fetchone()
    backend = conn.execute("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND "
                           "classid = 0 AND objid = %s AND granted", (PG_LOCK_KEY,)).fetchone()
    extra = f", server backend pid {backend[0]}" if backend else ""
    return HolderInfo(row[0], row[1], row[2], row[3]).describe() + extra
