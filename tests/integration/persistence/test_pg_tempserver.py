"""The throwaway PostgreSQL server: durable settings, socket only, restart keeps data."""

from __future__ import annotations

import os

import psycopg
import pytest

from system.bench.store import bench_store

pytestmark = pytest.mark.postgres


def test_server_is_durable_socket_only_and_sized_for_one_connection_per_actor(pg_server):
    with psycopg.connect(pg_server.dsn()) as conn:
        shown = {k: conn.execute(f"SHOW {k}").fetchone()[0] for k in
                 ("fsync", "synchronous_commit", "listen_addresses", "max_connections")}
    assert shown == {"fsync": "on", "synchronous_commit": "on", "listen_addresses": "",
                     "max_connections": "600"}
    assert str(pg_server.sockdir).startswith(str(pg_server.root))


def test_restart_keeps_committed_data_and_stop_is_idempotent(make_pg_server):
    server = make_pg_server()
    first_pid = server.pid
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (v int); INSERT INTO t VALUES (42)")
    server.restart()
    assert server.pid not in (None, first_pid)
    with pytest.raises(ProcessLookupError):
        os.kill(first_pid, 0)  # the old postmaster is gone
    with psycopg.connect(server.dsn()) as conn:
        assert conn.execute("SELECT v FROM t").fetchall() == [(42,)]
    server.stop()
    server.stop()
    assert server.pid is None


def test_bench_store_postgres_on_a_given_dsn_and_on_its_own_server(pg_dsn):
    for dsn in (pg_dsn, None):
        result = bench_store("postgres", appends=20, dsn=dsn)
        assert result["backend"] == "postgres" and result["n"] == 20
        assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
