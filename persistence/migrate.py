"""Versioned schema migrations: persistence/schema/<backend>/NNNN_name.sql, applied in order.

Each migration runs in one transaction together with its schema_version row, so a start
that dies half-way leaves the schema at the previous version, never in between. Only the
process that holds the instance lock migrates (see lock.py); a second migrator racing it
fails on the schema_version primary key instead of applying anything twice.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from persistence.store import StoreNotInitialised, StoreUnavailable

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema file."""

    version: int
    """NNNN from the file name."""
    name: str
    """The file name."""
    sql: str
    """The file's text."""


def migrations(backend: str, schema_dir: Path = SCHEMA_DIR) -> list[Migration]:
    """The migrations for `backend` in version order; versions must run 1, 2, 3, ..."""
    folder = schema_dir / backend
    if not folder.is_dir():
        raise StoreUnavailable(f"schema folder {folder} is missing (broken install?)")
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise StoreUnavailable(f"schema file {path} is not named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), path.name, path.read_text("utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreUnavailable(f"schema files in {folder} must be numbered 1..N without "
                               f"gaps or duplicates, found {versions}")
    return found


def latest_version(backend: str) -> int:
    """The version this build expects the database to be at."""
    return len(migrations(backend))


def _upto(backend: str, upto: int | None) -> list[Migration]:
    """The migrations up to version `upto` (all when None): tests build an older schema."""
    return [m for m in migrations(backend) if upto is None or m.version <= upto]


def apply_sqlite(conn: sqlite3.Connection, now_ms: int, upto: int | None = None) -> list[int]:
    """Apply pending migrations (up to version `upto`, default all) to an autocommit sqlite3
    connection; returns what ran."""
    conn.execute(_VERSION_TABLE)
    applied = {row[0] for row in conn.execute("SELECT version FROM schema_version")}
    ran = []
    for mig in _upto("sqlite", upto):
        if mig.version in applied:
            continue
        # executescript() commits anything pending before it runs, so the transaction
        # has to be part of the script itself to keep the file and its version row atomic.
        script = (f"BEGIN IMMEDIATE;\n{mig.sql}\n;INSERT INTO schema_version VALUES "
                  f"({mig.version}, '{mig.name}', {int(now_ms)});\nCOMMIT;")
        try:
            conn.executescript(script)
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        ran.append(mig.version)
    return ran


def apply_postgres(conn: Any, now_ms: int, upto: int | None = None) -> list[int]:
    """Apply pending migrations (up to version `upto`, default all) on an autocommit psycopg
    connection; returns what ran."""
    ran = []
    for mig in _upto("postgres", upto):
        with conn.transaction():
            # Serializes concurrent migrators (and CREATE TABLE IF NOT EXISTS races).
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            conn.execute(_VERSION_TABLE)
            row = conn.execute("SELECT 1 FROM schema_version WHERE version = %s",
                               (mig.version,)).fetchone()
            if row:
                continue
            conn.execute(mig.sql.encode("utf-8"))  # no params: runs as a multi-statement script
            conn.execute("INSERT INTO schema_version VALUES (%s, %s, %s)",
                         (mig.version, mig.name, now_ms))
            ran.append(mig.version)
    return ran


MIGRATION_LOCK_KEY = 0x706F_736D  # "posm": distinct from the instance lock key


def check_current(found: int, backend: str, where: str) -> None:
    """Raise StoreUnavailable unless the database is at this build's schema version."""
    expected = latest_version(backend)
    if found == expected:
        return
    if found < expected:
        # Version 0: no tables at all, posguard never ran on this store (a reader may say so).
        raise (StoreNotInitialised if found == 0 else StoreUnavailable)(
            f"{where}: schema version {found}, this build needs {expected}; start the "
            "engine (the launcher applies migrations) before attaching")
    raise StoreUnavailable(f"{where}: schema version {found} is newer than this build's "
                           f"{expected}; upgrade posguard")
