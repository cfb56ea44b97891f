"""Migration 0003 (accounts) on a store written before it: every row kept, labelled 'main'.

Each test builds the schema as it was before (migrations 1 and 2 only), writes rows with that
schema's SQL, then starts an instance (which migrates) and reads them back through the store.
Runs on a SQLite file and on a real PostgreSQL (tests/fixtures/pg.py).
"""

from __future__ import annotations

import os
import sqlite3

import psycopg
import pytest

from persistence import codec, migrate
from persistence.store import StoreError
from tests.integration.persistence.conftest import StoreCfg, attach, open_instance, raw_execute

ACCOUNTS_VERSION = 3


def _old_store(cfg: StoreCfg) -> None:
    """An empty store at schema version 2 (before accounts), as today's build leaves it."""
    if cfg.backend == "sqlite":
        os.makedirs(os.path.dirname(cfg.sqlite_path), exist_ok=True)
        conn = sqlite3.connect(cfg.sqlite_path, isolation_level=None)
        try:
            assert migrate.apply_sqlite(conn, 1, upto=2) == [1, 2]
        finally:
            conn.close()
        return
    with psycopg.connect(cfg.postgres_dsn, autocommit=True) as conn:
        assert migrate.apply_postgres(conn, 1, upto=2) == [1, 2]


def _journal_row(cfg: StoreCfg, symbol: str, seq: int, kind: str) -> None:
    raw_execute(cfg, "INSERT INTO journal (symbol, seq, epoch, kind, payload, correlation_id, "
                     "created_at_ms, recorded_at_ms) VALUES (%s, %s, 4, %s, %s, %s, %s, %s)",
                (symbol, seq, kind, codec.encode({"seq": seq, "px": "101.5"}), f"cid-{seq}",
                 1_000 + seq, 2_000 + seq))


def _snapshot(cfg: StoreCfg, symbol: str, seq: int, live: bool) -> None:
    live_value = live if cfg.backend == "postgres" else int(live)
    raw_execute(cfg, "INSERT INTO snapshots (symbol, seq, state, live, updated_at_ms) "
                     "VALUES (%s, %s, %s, %s, 5000)",
                (symbol, seq, codec.encode({"stop": "99.5", "at": seq}), live_value))


def _plant_old_rows(cfg: StoreCfg) -> int:
    """Two symbols' journals and snapshots and one alert, in the old schema; the alert's id."""
    for seq in (1, 2, 3):
        _journal_row(cfg, "BTCUSDT", seq, f"k{seq}")
    _snapshot(cfg, "BTCUSDT", 2, live=True)
    _journal_row(cfg, "ETHUSDT", 1, "opened")
    _snapshot(cfg, "ETHUSDT", 1, live=False)
    (alert_id,) = raw_execute(
        cfg, "INSERT INTO alerts (kind, severity, symbol, text, payload, epoch, created_at_ms)"
             " VALUES ('quarantined', 'critical', 'BTCUSDT', 'BTCUSDT QUARANTINED', %s, 4, 900)"
             " RETURNING id", (codec.encode({"resolved": False}),))[0]
    for channel, delivered in (("webhook", 950), ("telegram", None)):
        raw_execute(cfg, "INSERT INTO alert_deliveries (alert_id, channel, next_at_ms, "
                         "delivered_at_ms) VALUES (%s, %s, 900, %s)",
                    (alert_id, channel, delivered))
    return int(alert_id)


def test_a_store_written_before_accounts_keeps_every_row_under_account_main(
        store_backend, clock):
    _old_store(store_backend)
    alert_id = _plant_old_rows(store_backend)

    lock, holder = open_instance(store_backend, clock)
    store = attach(store_backend, holder.epoch, clock)
    try:
        loaded = store.load("BTCUSDT")
        rows = store.journal("BTCUSDT")
        eth = store.load("ETHUSDT")
        live, live_accounts = store.live_symbols(), store.live_accounts()
        (alert,) = store.pending_alerts("telegram", due_at_ms=10**15)
        webhook = store.pending_alerts("webhook", due_at_ms=10**15)
    finally:
        store.close()
        lock.release()

    assert (loaded.seq, loaded.snapshot_seq, loaded.state) == (3, 2, {"stop": "99.5", "at": 2})
    assert [r.seq for r in loaded.tail] == [3]
    assert [(r.account, r.symbol, r.seq, r.epoch, r.kind, r.payload, r.correlation_id,
             r.created_at_ms, r.recorded_at_ms) for r in rows] == [
        ("main", "BTCUSDT", s, 4, f"k{s}", {"seq": s, "px": "101.5"}, f"cid-{s}", 1_000 + s,
         2_000 + s) for s in (1, 2, 3)]
    assert (eth.seq, eth.snapshot_seq, [r.kind for r in eth.tail]) == (1, 1, [])
    assert live == ["BTCUSDT"] and live_accounts == {"main": ["BTCUSDT"]}
    assert (alert.id, alert.account, alert.symbol, alert.text, alert.payload) == (
        alert_id, "main", "BTCUSDT", "BTCUSDT QUARANTINED", {"resolved": False})
    assert webhook == []  # delivered before the migration: still delivered after it
    assert raw_execute(store_backend, "SELECT MAX(version) FROM schema_version") == [
        (ACCOUNTS_VERSION,)]


def test_after_the_migration_main_goes_on_and_another_account_starts_its_own_seqs(
        store_backend, clock):
    _old_store(store_backend)
    _plant_old_rows(store_backend)

    lock, holder = open_instance(store_backend, clock)
    main = attach(store_backend, holder.epoch, clock)
    other = attach(store_backend, holder.epoch, clock, account="by")
    try:
        main_seq = main.append("BTCUSDT", expected_seq=3, kind="k4", payload={}, state={"at": 4},
                               live=True, correlation_id="c4")
        other_seq = other.append("BTCUSDT", expected_seq=0, kind="opened", payload={},
                                 state={"at": 1}, live=True, correlation_id="b1")
        main_kinds = [r.kind for r in main.journal("BTCUSDT")]
        other_rows = other.journal("BTCUSDT")
        live_accounts = main.live_accounts()
    finally:
        main.close()
        other.close()
        lock.release()

    assert (main_seq, other_seq) == (4, 1)
    assert main_kinds == ["k1", "k2", "k3", "k4"]
    assert [(r.account, r.seq, r.kind) for r in other_rows] == [("by", 1, "opened")]
    assert live_accounts == {"by": ["BTCUSDT"], "main": ["BTCUSDT"]}


def test_the_migrated_tables_refuse_a_row_that_names_no_account(store_backend, clock):
    _old_store(store_backend)
    lock, _ = open_instance(store_backend, clock)
    lock.release()

    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.NotNullViolation)):
        _journal_row(store_backend, "BTCUSDT", 1, "no-account")


def test_a_failing_accounts_migration_leaves_the_old_schema_and_every_row(
        store_backend, clock, monkeypatch):
    _old_store(store_backend)
    _plant_old_rows(store_backend)
    real = migrate.migrations
    broken = migrate.Migration(ACCOUNTS_VERSION, "0003_accounts.sql",
                               real(store_backend.backend)[ACCOUNTS_VERSION - 1].sql
                               + "\n;INSERT INTO no_such_table VALUES (1);")
    monkeypatch.setattr(migrate, "migrations",
                        lambda backend: [*real(backend)[:ACCOUNTS_VERSION - 1], broken])

    with pytest.raises(StoreError, match="no_such_table"):
        open_instance(store_backend, clock)

    assert raw_execute(store_backend, "SELECT MAX(version) FROM schema_version") == [(2,)]
    assert raw_execute(store_backend, "SELECT symbol, seq, kind FROM journal ORDER BY "
                                      "symbol, seq") == [("BTCUSDT", 1, "k1"),
                                                         ("BTCUSDT", 2, "k2"),
                                                         ("BTCUSDT", 3, "k3"),
                                                         ("ETHUSDT", 1, "opened")]
    with pytest.raises((sqlite3.OperationalError, psycopg.errors.UndefinedColumn)):
        raw_execute(store_backend, "SELECT account FROM journal")
    monkeypatch.setattr(migrate, "migrations", real)
    lock, holder = open_instance(store_backend, clock)  # the real 0003 then applies
    store = attach(store_backend, holder.epoch, clock)
    try:
        assert [r.seq for r in store.journal("BTCUSDT")] == [1, 2, 3]
    finally:
        store.close()
        lock.release()
