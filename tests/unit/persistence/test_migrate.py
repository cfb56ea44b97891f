"""Migration files: naming, ordering, one transaction each, idempotent."""

from __future__ import annotations

import sqlite3

import pytest

from persistence import migrate
from persistence.store import StoreUnavailable


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_shipped_migrations_are_numbered_from_one(backend):
    found = migrate.migrations(backend)
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert migrate.latest_version(backend) == len(found) >= 1


def test_both_backends_ship_the_same_versions():
    names = {b: [m.name for m in migrate.migrations(b)] for b in ("sqlite", "postgres")}
    assert names["sqlite"] == names["postgres"]


@pytest.mark.parametrize(("files", "message"), [
    (["0001_a.sql", "0003_c.sql"], "without gaps"),
    (["0001_a.sql", "0001_b.sql"], "without gaps or duplicates"),
    (["1_a.sql"], "not named NNNN_name.sql"),
])
def test_bad_schema_folders_are_refused(tmp_path, files, message):
    (tmp_path / "sqlite").mkdir()
    for name in files:
        (tmp_path / "sqlite" / name).write_text("SELECT 1;")
    with pytest.raises(StoreUnavailable, match=message):
        migrate.migrations("sqlite", tmp_path)


def test_sqlite_migrations_apply_once(tmp_path):
    conn = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    assert migrate.apply_sqlite(conn, 1) == list(range(1, migrate.latest_version("sqlite") + 1))
    assert migrate.apply_sqlite(conn, 2) == []
    assert conn.execute("SELECT epoch FROM instance").fetchall() == [(0,)]


def test_a_failing_sqlite_migration_leaves_no_trace(tmp_path, monkeypatch):
    broken = [migrate.Migration(1, "0001_broken.sql",
                                "CREATE TABLE t (a INTEGER); INSERT INTO nope VALUES (1);")]
    monkeypatch.setattr(migrate, "migrations", lambda backend: broken)
    conn = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="no such table: nope"):
        migrate.apply_sqlite(conn, 1)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"schema_version"}
    assert not conn.in_transaction


@pytest.mark.parametrize(("found", "message"), [(0, "start the engine"), (9, "newer")])
def test_check_current_explains_a_version_mismatch(found, message):
    with pytest.raises(StoreUnavailable, match=message):
        migrate.check_current(found, "sqlite", "here")
