"""The store interface: errors grouped by remedy, row types, and the two abstract roles.

Every backend (sqlite.py, postgres.py; memory.py for unit tests) implements `Store` and
`InstanceLock` exactly as specified here; callers never see a backend exception, only the
errors below, always raised `from` the original so the cause stays in the traceback
(incident I-3: a failed write is never turned into a logged False).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# --- errors, grouped by what the caller does about them ---------------------------------


class StoreError(Exception):
    """Base of every store error."""


class StoreUnavailable(StoreError):
    """Unreachable, not ready, or the connection died mid-write: halt the start / end the
    actor; the supervisor restarts it later from the last durable snapshot."""


class StoreNotInitialised(StoreUnavailable):
    """The database has no posguard tables: posguard has never run on it (`posguard run`
    creates them). A reader can say so and stop; nothing there is broken."""


class StoreNotSafe(StoreError):
    """PostgreSQL `fsync` or `synchronous_commit` is not 'on': refuse to start."""


class InstanceLocked(StoreError):
    """Another engine instance holds the lock; the message names its host, pid and since."""


class LockLost(StoreError):
    """Our instance-lock connection is gone: stop trading at once."""


class StaleEpoch(StoreError):
    """A newer instance bumped the fencing epoch; this (stale) instance's write is refused."""


class SeqConflict(StoreError):
    """`expected_seq` does not match the symbol's current seq (a lost or duplicate writer)."""


class UnlistedAccount(StoreError):
    """The store holds live symbols of an account the config does not list: refuse to start
    (nothing would protect those positions); the message names the account and its symbols."""


class CodecError(StoreError):
    """A payload or snapshot cannot be encoded, or has an unknown schema version."""


# --- accounts --------------------------------------------------------------------------

DEFAULT_ACCOUNT = "main"
"""The account of a config with the single legacy `exchange:` section, and of every row
written before accounts existed (migration 0003)."""
ACCOUNT_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
"""An account name, as config `exchanges[].account` allows it."""


def check_account(account: object) -> str:
    """`account` if it is a valid account name; ValueError naming it otherwise.

    A programming error, not a store failure: the config refuses such names first, so one
    reaching the store is a caller that forgot to pass the configured account."""
    if not isinstance(account, str) or not ACCOUNT_RE.match(account):
        raise ValueError(f"account {account!r} is not a valid account name "
                         f"({ACCOUNT_RE.pattern})")
    return account


def check_live_accounts(store: Store, configured: Iterable[str]) -> None:
    """Launcher, at start: UnlistedAccount unless every account with live symbols in the
    store is one of `configured` (config `exchanges[].account`)."""
    listed = set(configured)
    unlisted = {a: s for a, s in store.live_accounts().items() if a not in listed}
    if not unlisted:
        return
    held = "; ".join(f'account "{a}": {", ".join(s)}' for a, s in sorted(unlisted.items()))
    raise UnlistedAccount(
        f"the store holds live symbols of {len(unlisted)} account(s) the config does not list "
        f"({held}); nothing would protect those positions: list the account under exchanges:"
        f" again (configured: {', '.join(sorted(listed)) or 'none'}) and let it reconcile them")


# --- row types -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One durable transition of one symbol."""

    symbol: str
    """Exchange symbol, e.g. 'BTCUSDT'."""
    seq: int
    """1, 2, 3, ... per symbol, without gaps."""
    epoch: int
    """Fencing epoch of the instance that wrote the row."""
    kind: str
    """Transition kind (the actor's trigger name)."""
    payload: dict
    """Decoded transition payload."""
    correlation_id: str
    """Ties the row to the command/event/order that caused it."""
    created_at_ms: int
    """Event time from the injectable clock."""
    recorded_at_ms: int
    """Commit time from the database's own clock."""
    account: str = DEFAULT_ACCOUNT
    """The account the symbol is traded on (last, with a default, so rows built by hand in
    tests keep their shape; the backends always fill it)."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """What an actor needs to recover: latest snapshot plus the journal rows after it."""

    symbol: str
    """The symbol loaded."""
    seq: int
    """Latest journal seq (0 if the symbol has no rows); the next append's expected_seq."""
    snapshot_seq: int
    """Seq of the latest snapshot (0 if none)."""
    state: dict | None
    """Latest snapshot state, None if no snapshot was ever written."""
    tail: tuple[JournalRow, ...]
    """Journal rows with seq > snapshot_seq, in seq order."""


@dataclass(frozen=True, slots=True)
class HolderInfo:
    """Who holds the instance lock, and with which fencing epoch."""

    epoch: int
    """Fencing epoch; every append of this instance carries and checks it."""
    host: str
    """Host name of the holder."""
    pid: int
    """OS process id of the holder."""
    started_at_ms: int
    """When the holder took the lock (clock ms)."""

    def describe(self) -> str:
        """Human-readable 'host H pid P since ISO-time (epoch E)' for error messages."""
        return f"host {self.host} pid {self.pid} since {iso_ms(self.started_at_ms)} " \
               f"(epoch {self.epoch})"


def iso_ms(ms: int) -> str:
    """UTC ISO-8601 with milliseconds, for messages operators read."""
    import datetime as _dt

    return _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class OutboxAlert:
    """One alert in the outbox, as one channel has still to deliver it (ops/alerts)."""

    id: int
    """The alert's id: grows with every alert added."""
    channel: str
    """The channel this row is for (webhook, telegram)."""
    kind: str
    """quarantined, stop_failed, unprotected, stream_down, store_failed, ..."""
    severity: str
    """critical, warning or info."""
    symbol: str | None
    """The symbol it is about, if any."""
    text: str
    """One line for a person."""
    payload: dict
    """Decoded details (resolved, ...)."""
    epoch: int
    """Fencing epoch of the instance that raised it."""
    created_at_ms: int
    """When it was raised (the engine's clock)."""
    attempts: int
    """Failed sends to this channel so far."""
    next_at_ms: int
    """Not sent again before this (retry backoff)."""
    last_error: str | None
    """Why the last send failed."""
    account: str | None = None
    """The account the alert is about; None for an instance-wide one (started, lock lost)."""


# --- roles -----------------------------------------------------------------------------


class Store(ABC):
    """Journal + snapshots of one account's symbols; one per process, fenced by `epoch`.

    append / load / live_symbols / journal see `account`'s rows only, so an actor handed a
    store never names its account. live_accounts, symbol_accounts and the alert outbox are
    store-wide (one launcher, one alert delivery for every account)."""

    epoch: int
    account: str

    @abstractmethod
    def append(
        self,
        symbol: str,
        *,
        expected_seq: int,
        kind: str,
        payload: dict,
        state: dict | None,
        live: bool,
        correlation_id: str,
        created_at_ms: int | None = None,
    ) -> int:
        """Durably append one transition (journal row + snapshot upsert in ONE transaction)
        and return its seq. `state=None` writes a journal-only row (snapshot and `live`
        untouched). Raises StaleEpoch, SeqConflict, CodecError or StoreUnavailable."""

    @abstractmethod
    def load(self, symbol: str) -> Loaded:
        """Latest snapshot of `symbol` and the journal rows after it."""

    @abstractmethod
    def live_symbols(self) -> list[str]:
        """Symbols whose latest snapshot has live=True, sorted."""

    @abstractmethod
    def journal(self, symbol: str, after_seq: int = 0, limit: int | None = None
                ) -> list[JournalRow]:
        """Journal rows of `symbol` with seq > after_seq, in seq order (for audit)."""

    @abstractmethod
    def live_accounts(self) -> dict[str, list[str]]:
        """Store-wide: account -> its live symbols (sorted); accounts with none are absent."""

    @abstractmethod
    def symbol_accounts(self, symbol: str) -> list[str]:
        """Store-wide: the accounts (sorted) with journal rows for `symbol`."""

    # The alert outbox (ops/alerts). Not fenced by the epoch: a stale instance's last alerts
    # (the lock lost) must still go out; every row names the epoch that raised it.

    @abstractmethod
    def add_alert(self, *, kind: str, severity: str, symbol: str | None, text: str,
                  payload: dict, created_at_ms: int, channels: Sequence[str],
                  account: str | None = None) -> int:
        """Durably add one alert, pending on each of `channels` (due at once); its id.
        `account`: the account it is about (None: instance-wide), not the store's scope."""

    @abstractmethod
    def pending_alerts(self, channel: str, *, due_at_ms: int, limit: int = 100
                       ) -> list[OutboxAlert]:
        """Alerts `channel` has not taken yet whose next_at_ms <= due_at_ms, oldest first."""

    @abstractmethod
    def alert_attempt_failed(self, channel: str, ids: Sequence[int], *, error: str,
                             next_at_ms: int) -> None:
        """A send of these alerts to `channel` failed: count it, keep why, wait till next_at."""

    @abstractmethod
    def alerts_delivered(self, channel: str, ids: Sequence[int], *, delivered_at_ms: int
                         ) -> None:
        """`channel` took these alerts: they are no longer pending there."""

    @abstractmethod
    def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection; idempotent."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InstanceLock(ABC):
    """Exactly one engine instance per store (incident I-2)."""

    @abstractmethod
    def acquire(self) -> HolderInfo:
        """Take the lock or raise InstanceLocked naming the holder; then bump the epoch."""

    @abstractmethod
    def check(self) -> None:
        """Raise LockLost if the lock is no longer held."""

    @abstractmethod
    def release(self) -> None:
        """Give the lock up; idempotent."""
