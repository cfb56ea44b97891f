"""PostgreSQL store through psycopg 3: one autocommit connection per process.

Fencing: every append reads the instance epoch `FOR SHARE` inside its own transaction. An
epoch bump (UPDATE of that row) therefore waits for in-flight appends, and every append
that starts after the bump committed sees the new epoch and is refused with StaleEpoch.

A PostgresStore is scoped to one account (store.py `Store`): every journal and snapshot
statement names it; live_accounts, symbol_accounts and the outbox read the whole database.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from persistence import codec, migrate, outbox
from persistence.rows import SELECT_ROWS, SYMBOL_ACCOUNTS, accounts_of, journal_row
from persistence.store import (
    DEFAULT_ACCOUNT,
    JournalRow,
    Loaded,
    OutboxAlert,
    SeqConflict,
    StaleEpoch,
    Store,
    StoreError,
    StoreNotSafe,
    StoreUnavailable,
    check_account,
)


def _log() -> logging.Logger:
    """Looked up per call: an actor process replaces logging's manager when it starts
    (actors/log.py), so a logger fetched at import time would log nowhere."""
    return logging.getLogger(__name__)


# The server's clock at the moment of the statement (not of BEGIN): commit-time stamp.
NOW_MS_SQL = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
_REQUIRED_ON = ("fsync", "synchronous_commit")


def describe_dsn(dsn: str) -> str:
    """'host H port P dbname D user U' for messages: never the password."""
    try:
        parts = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        return "<unparseable DSN, not shown: it may contain a password>"
    shown = [f"{k} {parts[k]}" for k in ("host", "hostaddr", "port", "dbname", "user")
             if parts.get(k)]
    return " ".join(shown) or "<default libpq host/socket>"


def connect(dsn: str, *, connect_timeout_secs: float) -> psycopg.Connection:
    """An autocommit connection, or StoreUnavailable naming host/socket (not the password)."""
    try:
        return psycopg.connect(dsn, autocommit=True, application_name="posguard",
                               connect_timeout=max(1, int(connect_timeout_secs)))
    except psycopg.ProgrammingError:
        # The parser's message can quote the DSN text, password included: not shown.
        raise StoreUnavailable(f"invalid PostgreSQL DSN ({describe_dsn(dsn)}); the "
                               "parser's message is withheld as it may quote a password"
                               ) from None
    except psycopg.Error as e:
        raise StoreUnavailable(
            f"PostgreSQL unreachable or not ready at {describe_dsn(dsn)}: {e}") from e


def scalar(conn: psycopg.Connection, sql: str, params: tuple | None = None) -> Any:
    """First column of the one row `sql` returns (queries here always return one)."""
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise StoreError(f"query returned no row: {sql}")
    return row[0]


def check_durability(conn: psycopg.Connection, where: str) -> None:
    """StoreNotSafe unless fsync and synchronous_commit are 'on' for this session."""
    for setting in _REQUIRED_ON:
        value = scalar(conn, f"SHOW {setting}")
        if value != "on":
            raise StoreNotSafe(
                f"PostgreSQL at {where}: {setting} is '{value}', must be 'on' (an "
                "acknowledged transition could be lost on a crash); fix postgresql.conf "
                "or ALTER SYSTEM/DATABASE/ROLE settings")


def schema_version(conn: psycopg.Connection) -> int:
    """Highest applied migration, 0 on an empty database."""
    if scalar(conn, "SELECT to_regclass('schema_version')") is None:
        return 0
    return int(scalar(conn, "SELECT COALESCE(MAX(version), 0) FROM schema_version"))


@contextlib.contextmanager
def translated(where: str, op: str) -> Iterator[None]:
    """Turn psycopg errors into store errors (always `from` the original)."""
    try:
        yield
    except pg_errors.UniqueViolation as e:
        # Only reachable if two writers race one symbol past the seq check.
        raise SeqConflict(f"PostgreSQL {where}: {op}: {e}") from e
    except (psycopg.OperationalError, psycopg.InterfaceError) as e:
        raise StoreUnavailable(f"PostgreSQL {where}: {op} failed: {e}") from e
    except psycopg.Error as e:
        raise StoreError(f"PostgreSQL {where}: {op} failed: {e}") from e


class PostgresStore(Store):
    """Store on one PostgreSQL database, scoped to `account`; every append fenced by `epoch`."""

    def __init__(self, dsn: str, epoch: int, clock: Any, connect_timeout_secs: float = 5, *,
                 account: str = DEFAULT_ACCOUNT):
        self.epoch = epoch
        self.account = check_account(account)
        self._dsn = dsn
        self._where = describe_dsn(dsn)
        self._clock = clock
        self._timeout = connect_timeout_secs
        self._closed = False
        self._conn: psycopg.Connection | None = self._connect()

    def _connect(self) -> psycopg.Connection:
        conn = connect(self._dsn, connect_timeout_secs=self._timeout)
        try:
            with translated(self._where, "open"):
                check_durability(conn, self._where)
                migrate.check_current(schema_version(conn), "postgres", self._where)
        except BaseException:
            conn.close()
            raise
        return conn

    def _c(self) -> psycopg.Connection:
        """The connection; after a failed call, exactly one reconnect attempt per call.

        Never silent: the call that met the dead connection already raised
        StoreUnavailable; this only lets a later call work once the server is back.
        """
        if self._closed:
            raise StoreUnavailable(f"PostgreSQL store {self._where} is closed")
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._conn = self._connect()
            _log().warning("store reconnected to PostgreSQL at %s", self._where)
        return self._conn

    def append(self, symbol: str, *, expected_seq: int, kind: str, payload: dict,
               state: dict | None, live: bool, correlation_id: str,
               created_at_ms: int | None = None) -> int:
        """Journal row + snapshot upsert in one transaction; returns the new seq."""
        payload_b = codec.encode(payload)
        state_b = None if state is None else codec.encode(state)
        created = self._clock.now_ms() if created_at_ms is None else int(created_at_ms)
        seq = expected_seq + 1
        acct, name = self.account, f"{self.account}:{symbol}"
        with translated(self._where, f"append {name} seq {seq}"):
            conn = self._c()
            with conn.transaction():
                current_epoch = scalar(conn, "SELECT epoch FROM instance WHERE id = 1 FOR SHARE")
                if current_epoch != self.epoch:
                    raise StaleEpoch(f"append {name}: our epoch {self.epoch} is stale, the "
                                     f"store is at epoch {current_epoch} (a newer instance "
                                     "started)")
                current = scalar(conn, "SELECT COALESCE(MAX(seq), 0) FROM journal "
                                       "WHERE account = %s AND symbol = %s", (acct, symbol))
                if current != expected_seq:
                    raise SeqConflict(f"append {name}: expected seq {expected_seq}, "
                                      f"store has {current}")
                conn.execute(
                    "INSERT INTO journal (account, symbol, seq, epoch, kind, payload, "
                    "correlation_id, created_at_ms, recorded_at_ms) "
                    f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, {NOW_MS_SQL})",
                    (acct, symbol, seq, self.epoch, kind, payload_b, correlation_id, created))
                if state_b is not None:
                    conn.execute(
                        "INSERT INTO snapshots (account, symbol, seq, state, live, "
                        f"updated_at_ms) VALUES (%s, %s, %s, %s, %s, {NOW_MS_SQL}) "
                        "ON CONFLICT (account, symbol) DO UPDATE SET seq = EXCLUDED.seq, "
                        "state = EXCLUDED.state, live = EXCLUDED.live, "
                        "updated_at_ms = EXCLUDED.updated_at_ms",
                        (acct, symbol, seq, state_b, live))
        return seq

    def load(self, symbol: str) -> Loaded:
        """Snapshot + tail from one REPEATABLE READ transaction (consistent)."""
        key = (self.account, symbol)
        with translated(self._where, f"load {self.account}:{symbol}"):
            conn = self._c()
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                snap = conn.execute("SELECT seq, state FROM snapshots WHERE account = %s "
                                    "AND symbol = %s", key).fetchone()
                seq = scalar(conn, "SELECT COALESCE(MAX(seq), 0) FROM journal "
                                   "WHERE account = %s AND symbol = %s", key)
                snap_seq = snap[0] if snap else 0
                tail = self._rows(conn, key, snap_seq, None)
        state = codec.decode(snap[1]) if snap else None
        return Loaded(symbol, seq, snap_seq, state, tuple(tail))

    def live_symbols(self) -> list[str]:
        """This account's symbols whose latest snapshot is live, sorted."""
        with translated(self._where, "live_symbols"):
            rows = self._c().execute(
                "SELECT symbol FROM snapshots WHERE live AND account = %s ORDER BY symbol",
                (self.account,)).fetchall()
        return [r[0] for r in rows]

    def journal(self, symbol: str, after_seq: int = 0, limit: int | None = None
                ) -> list[JournalRow]:
        """Rows with seq > after_seq, oldest first."""
        with translated(self._where, f"journal {self.account}:{symbol}"):
            return self._rows(self._c(), (self.account, symbol), after_seq, limit)

    def live_accounts(self) -> dict[str, list[str]]:
        """Store-wide: account -> its live symbols, sorted."""
        with translated(self._where, "live_accounts"):
            rows = self._c().execute("SELECT account, symbol FROM snapshots WHERE live "
                                     "ORDER BY account, symbol").fetchall()
        return accounts_of(rows)

    def symbol_accounts(self, symbol: str) -> list[str]:
        """Store-wide: the accounts with journal rows for `symbol`, sorted."""
        with translated(self._where, f"symbol_accounts {symbol}"):
            rows = self._c().execute(SYMBOL_ACCOUNTS, (symbol,)).fetchall()
        return [r[0] for r in rows]

    @staticmethod
    def _rows(conn: psycopg.Connection, key: tuple[str, str], after_seq: int,
              limit: int | None) -> list[JournalRow]:
        rows = conn.execute(
            f"{SELECT_ROWS} WHERE account = %s AND symbol = %s AND seq > %s ORDER BY seq "
            "LIMIT %s", (*key, after_seq, limit)).fetchall()
        return [journal_row(r) for r in rows]

    # ------------------------------------------------------------------ alert outbox

    def add_alert(self, *, kind: str, severity: str, symbol: str | None, text: str,
                  payload: dict, created_at_ms: int, channels: Sequence[str],
                  account: str | None = None) -> int:
        """The alert and its delivery rows in one transaction; its id."""
        params = outbox.alert_params(kind, severity, symbol, text, payload, self.epoch,
                                     created_at_ms, account)
        with translated(self._where, "add_alert"):
            conn = self._c()
            with conn.transaction():
                alert_id = int(scalar(conn, outbox.INSERT_ALERT, params))
                for channel in channels:
                    conn.execute(outbox.INSERT_DELIVERY, (alert_id, channel,
                                                          int(created_at_ms)))
        return alert_id

    def pending_alerts(self, channel: str, *, due_at_ms: int, limit: int = 100
                       ) -> list[OutboxAlert]:
        """Undelivered, due alerts of `channel`, oldest first."""
        with translated(self._where, "pending_alerts"):
            rows = self._c().execute(outbox.PENDING, (channel, int(due_at_ms),
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
        with translated(self._where, "mark alerts"):
            self._c().execute(outbox.in_list(sql, ids), (*params, *map(int, ids)))

    def ping(self) -> None:
        """A trivial round trip; StoreUnavailable if the server does not answer."""
        with translated(self._where, "ping"):
            self._c().execute("SELECT 1").fetchone()

    def close(self) -> None:
        """Close the connection; idempotent."""
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
