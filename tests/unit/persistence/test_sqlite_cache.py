"""Every SQLite connection's page cache is bounded (issue 15: one per symbol actor, and at
SQLite's default of 2,000 KiB each actor's cache grew for as long as it ran)."""

from __future__ import annotations

from types import SimpleNamespace

from persistence import sqlite as sq
from persistence.factory import StoreFactory, open_instance
from system.clock import ManualClock


def test_a_store_connection_caches_at_most_cache_kib(tmp_path):
    cfg = SimpleNamespace(backend="sqlite", sqlite_path=str(tmp_path / "s.sqlite3"),
                          postgres_dsn=None)
    lock, holder = open_instance(cfg, ManualClock())
    store = StoreFactory(cfg)(holder.epoch, ManualClock())
    try:
        assert store._conn.execute("PRAGMA cache_size").fetchone()[0] == -sq.CACHE_KIB
        assert sq.CACHE_KIB < 2000  # smaller than SQLite's default
    finally:
        store.close()
        lock.release()
