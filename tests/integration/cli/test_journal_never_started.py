"""`posguard journal SYM` on a store posguard never started: says so plainly, exits 0, and
creates nothing (no file, no folder, no tables)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg

from tests.fixtures.engine import REPO

POSGUARD = [sys.executable, "-m", "system.cli"]


def _journal(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*POSGUARD, "journal", "BTCUSDT", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, env=env)


def test_a_missing_sqlite_file_is_a_store_never_started_and_is_not_created(tmp_path):
    path = tmp_path / "not-yet" / "posguard.sqlite3"

    r = _journal("--set", f"store.sqlite_path={path}")

    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("BTCUSDT: no journal: posguard has never run on this store "
                               f"(the SQLite store {path} does not exist yet)")
    assert "posguard run" in r.stdout and "Traceback" not in r.stderr
    assert not path.parent.exists()


def test_json_on_a_store_never_started_is_an_empty_journal_with_the_hint_on_stderr(tmp_path):
    path = tmp_path / "posguard.sqlite3"

    r = _journal("--json", "--set", f"store.sqlite_path={path}")

    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []
    assert "posguard has never run on this store" in r.stderr
    assert not path.exists()


def test_an_empty_sqlite_file_without_tables_is_a_store_never_started(tmp_path):
    path = tmp_path / "posguard.sqlite3"
    path.touch()

    r = _journal("--set", f"store.sqlite_path={path}")

    assert r.returncode == 0, r.stderr
    assert "no journal: posguard has never run on this store" in r.stdout
    assert "schema version 0" not in r.stdout + r.stderr


def test_an_empty_postgres_database_is_a_store_never_started_and_gets_no_tables(pg_dsn):
    env = {**os.environ, "POSGUARD_PG_DSN": pg_dsn}

    r = _journal("--set", "store.backend=postgres", env=env)

    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("BTCUSDT: no journal: posguard has never run on this store "
                               "(the PostgreSQL database at ")
    with psycopg.connect(pg_dsn) as conn:
        tables = conn.execute("SELECT count(*) FROM information_schema.tables "
                              "WHERE table_schema = 'public'").fetchone()[0]
    assert tables == 0
