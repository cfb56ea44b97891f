"""Build the store from config: the launcher opens (lock + epoch), every process attaches.

`cfg` is duck-typed: any object with `backend` ("sqlite" | "postgres"), `sqlite_path`
(absolute path) and `postgres_dsn` (resolved DSN or None); optional `connect_timeout_secs`
(default 5) and `busy_timeout_ms` (default 5000).

Actors are handed a StoreFactory in their init message (the launcher builds it, one per
account): they open their store through it, scoped to that account, and never read the
config, their account or this module's functions themselves.

Every backend module is imported on first use, never here: unpickling a StoreFactory imports
this module in every actor process, and psycopg alone added megabytes to each of them while
the store was SQLite (issue 15; tests/unit/persistence/test_lazy_imports.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from persistence.store import (
    DEFAULT_ACCOUNT,
    HolderInfo,
    InstanceLock,
    Store,
    StoreUnavailable,
    check_account,
)

DEFAULT_CONNECT_TIMEOUT_SECS = 5.0
DEFAULT_BUSY_TIMEOUT_MS = 5000


def open_instance(cfg: Any, clock: Any) -> tuple[InstanceLock, HolderInfo]:
    """Launcher: connect, startup checks, take the instance lock, migrate, bump the epoch.

    Raises StoreUnavailable (unreachable/not ready), StoreNotSafe (PostgreSQL fsync or
    synchronous_commit not 'on') or InstanceLocked (another instance runs, holder named).
    """
    from persistence.lock import PgInstanceLock, SqliteInstanceLock
    backend = _backend(cfg)
    lock: InstanceLock
    if backend == "sqlite":
        path = _sqlite_path(cfg)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        except OSError as e:
            raise StoreUnavailable(f"cannot create the folder of SQLite store {path}: {e}"
                                   ) from e
        lock = SqliteInstanceLock(path, clock, _busy_ms(cfg))
    else:
        lock = PgInstanceLock(_dsn(cfg), clock, _timeout(cfg))
    return lock, lock.acquire()


def attach(cfg: Any, epoch: int, clock: Any, account: str = DEFAULT_ACCOUNT) -> Store:
    """Any process: a Store scoped to `account` whose every append is fenced by `epoch` (no
    lock taken). ValueError if `account` is not a valid account name."""
    check_account(account)
    backend = _backend(cfg)
    if backend == "sqlite":
        from persistence.sqlite import SqliteStore

        return SqliteStore(_sqlite_path(cfg), epoch, clock, _busy_ms(cfg), account=account,
                           writer=bool(getattr(cfg, "sqlite_writer", True)))
    from persistence.postgres import PostgresStore

    return PostgresStore(_dsn(cfg), epoch, clock, _timeout(cfg), account=account)


@dataclass(frozen=True, slots=True)
class StoreFactory:
    """attach() bound to resolved store settings and one account: picklable, so it travels
    in init messages."""

    target: Any
    """The resolved store settings (system.config.StoreTarget; duck-typed as `cfg` above)."""
    account: str = DEFAULT_ACCOUNT
    """The account every store it opens is scoped to (config `exchanges[].account`)."""

    def __post_init__(self) -> None:
        check_account(self.account)  # at the launcher, not later in some actor process

    def __call__(self, epoch: int, clock: Any) -> Store:
        """A Store scoped to `account` whose every append is fenced by `epoch`."""
        return attach(self.target, epoch, clock, self.account)

    def for_account(self, account: str) -> StoreFactory:
        """The same store settings, scoped to `account`."""
        return StoreFactory(self.target, account)


def _backend(cfg: Any) -> str:
    backend = getattr(cfg, "backend", None)
    if backend not in ("sqlite", "postgres"):
        raise StoreUnavailable(f"store backend {backend!r} is not one of: sqlite, postgres")
    return str(backend)


def _sqlite_path(cfg: Any) -> str:
    path = getattr(cfg, "sqlite_path", None)
    if not path or not os.path.isabs(path):
        raise StoreUnavailable(f"store sqlite_path must be an absolute path, got {path!r}")
    return str(path)


def _dsn(cfg: Any) -> str:
    dsn = getattr(cfg, "postgres_dsn", None)
    if not dsn:
        raise StoreUnavailable("store backend is postgres but no DSN was given (is the "
                               "environment variable named by store.postgres_dsn_env set?)")
    return str(dsn)


def _timeout(cfg: Any) -> float:
    return float(getattr(cfg, "connect_timeout_secs", DEFAULT_CONNECT_TIMEOUT_SECS))


def _busy_ms(cfg: Any) -> int:
    return int(getattr(cfg, "busy_timeout_ms", DEFAULT_BUSY_TIMEOUT_MS))
