"""Store fixtures shared by the persistence integration tests.

`store_backend` runs a test on the durable backends (SQLite file, the same with the store's
writer running in this process (persistence/sqlite_writer.py), real PostgreSQL). The
conformance modules override it with `ALL_BACKENDS`, which adds the in-memory store of
persistence/memory.py; a conformance test whose point cannot hold in memory (another
process, SQL schema) says so with `skip_on_memory`, and `open_instance` / `attach` here pick
the memory store's or the factory's by backend.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from persistence import factory, memory
from persistence.sqlite import connect as sqlite_connect
from persistence.sqlite import store_writer
from persistence.sqlite_writer import WriterServer
from persistence.store import HolderInfo, InstanceLock, Store
from system.clock import ManualClock

# Far from the machine's real time, so a recorded_at taken from the injectable clock by
# mistake could never pass for the database's clock.
CLOCK_START_MS = 1_000_000_000_000


@dataclass(frozen=True)
class StoreCfg:
    """The store part of the config, as factory.py reads it (duck-typed)."""

    backend: str
    sqlite_path: str = ""
    postgres_dsn: str | None = None
    connect_timeout_secs: float = 5
    busy_timeout_ms: int = 5000
    memory: memory.MemoryDatabase | None = None
    """The database of the "memory" backend (never in a real config)."""


DURABLE_BACKENDS = ("sqlite", "sqlite-writer", "postgres")
ALL_BACKENDS = (*DURABLE_BACKENDS, "memory")


def backend_cfg(request: pytest.FixtureRequest, tmp_path) -> StoreCfg:
    """Config for a fresh, empty store on backend `request.param` (PostgreSQL: a new
    database; memory: a new MemoryDatabase)."""
    if request.param in ("sqlite", "sqlite-writer"):
        cfg = StoreCfg("sqlite", sqlite_path=str(tmp_path / "var" / "store.sqlite3"))
        if request.param == "sqlite-writer":
            start_writer(request, cfg)
        return cfg
    if request.param == "memory":
        return StoreCfg("memory", memory=memory.MemoryDatabase())
    return StoreCfg("postgres", postgres_dsn=request.getfixturevalue("pg_dsn"))


@pytest.fixture(params=DURABLE_BACKENDS)
def store_backend(request: pytest.FixtureRequest, tmp_path) -> StoreCfg:
    """Config for a fresh, empty store on each durable backend."""
    return backend_cfg(request, tmp_path)


def start_writer(request: pytest.FixtureRequest, cfg: StoreCfg) -> WriterServer:
    """The store's writer for `cfg`'s file, in this process, stopped after the test; the
    test fails if it could not start (every append would silently go direct)."""
    os.makedirs(os.path.dirname(cfg.sqlite_path), exist_ok=True)
    # As `posguard run` does, the file exists in WAL mode before the writer opens it: two
    # connections turning a new file to WAL at the same instant can find it locked.
    sqlite_connect(cfg.sqlite_path, cfg.busy_timeout_ms).close()
    said: list[str] = []
    server = store_writer(cfg.sqlite_path, cfg.busy_timeout_ms, log=said.append)
    assert server.start(), f"the store's writer did not start: {said}"
    request.addfinalizer(server.stop)
    return server


def open_instance(cfg: StoreCfg, clock) -> tuple[InstanceLock, HolderInfo]:
    """factory.open_instance, or the memory store's for the memory backend."""
    if cfg.backend == "memory":
        return memory.open_instance(cfg.memory, clock)
    return factory.open_instance(cfg, clock)


def attach(cfg: StoreCfg, epoch: int, clock, account: str = "main") -> Store:
    """factory.attach, or the memory store's for the memory backend (scoped to `account`)."""
    if cfg.backend == "memory":
        return memory.attach(cfg.memory, epoch, clock, account)
    return factory.attach(cfg, epoch, clock, account)


def skip_on_memory(cfg: StoreCfg, reason: str) -> None:
    """Skip, saying why, a conformance test whose point cannot hold for the memory store."""
    if cfg.backend == "memory":
        pytest.skip(f"does not apply to the memory store: {reason}")


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock far from real time."""
    return ManualClock(start_ms=CLOCK_START_MS)


@dataclass
class Opened:
    """An open instance (lock held) plus one attached store."""

    cfg: StoreCfg
    lock: InstanceLock
    holder: HolderInfo
    store: Store


@pytest.fixture
def opened(store_backend: StoreCfg, clock: ManualClock) -> Iterator[Opened]:
    """open_instance + attach; released and closed afterwards."""
    lock, holder = open_instance(store_backend, clock)
    store = attach(store_backend, holder.epoch, clock)
    yield Opened(store_backend, lock, holder, store)
    store.close()
    lock.release()


def raw_execute(cfg: StoreCfg, sql: str, params: tuple = ()) -> list[tuple]:
    """Run SQL straight on the backend (to plant rows the store would never write)."""
    assert cfg.backend != "memory", "the memory store has no SQL"
    if cfg.backend == "sqlite":
        conn = sqlite3.connect(cfg.sqlite_path, isolation_level=None)
        try:
            return conn.execute(sql.replace("%s", "?"), params).fetchall()
        finally:
            conn.close()
    with psycopg.connect(cfg.postgres_dsn, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def repo_root() -> str:
    """The checkout root (for child processes importing the packages)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
