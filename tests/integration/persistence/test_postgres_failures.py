"""PostgreSQL going away, the lock connection dying, unsafe durability settings."""

from __future__ import annotations

import threading

import psycopg
import pytest

from persistence.factory import attach, open_instance
from persistence.store import InstanceLocked, LockLost, StoreNotSafe, StoreUnavailable
from system.clock import ManualClock
from tests.integration.persistence.conftest import StoreCfg
from tests.waiting import wait_for

pytestmark = pytest.mark.postgres


def _writer(store, results: list, errors: list, stop: threading.Event) -> None:
    """Append until the store raises; record every return value and the exception."""
    seq = 0
    try:
        while not stop.is_set():
            seq = store.append("BTCUSDT", expected_seq=seq, kind="tick", payload={"n": seq + 1},
                               state={"n": seq + 1}, live=True, correlation_id="c")
            results.append(seq)
    except Exception as e:  # recorded for the assertions in the main thread
        errors.append(e)


def test_server_stopping_mid_write_raises_and_a_restarted_server_keeps_every_ack(
        make_pg_server):
    server = make_pg_server()
    cfg = StoreCfg("postgres", postgres_dsn=server.dsn())
    clock = ManualClock()
    lock, holder = open_instance(cfg, clock)
    store = attach(cfg, holder.epoch, clock)
    results: list = []
    errors: list = []
    stop = threading.Event()
    thread = threading.Thread(target=_writer, args=(store, results, errors, stop))
    thread.start()
    try:
        wait_for(lambda: len(results) >= 20 or not thread.is_alive(), 10,
                 "20 appends by the writer", 0.005)
        assert thread.is_alive(), "writer made no progress"
        server.stop()  # fast shutdown while the writer is appending
        thread.join(timeout=30)
        assert not thread.is_alive(), "append hung after the server stopped"
    finally:
        stop.set()
        thread.join(timeout=30)
    assert len(errors) == 1 and isinstance(errors[0], StoreUnavailable), errors
    assert all(isinstance(seq, int) for seq in results)  # never a silent None/False
    with pytest.raises(StoreUnavailable, match="unreachable or not ready"):
        store.append("BTCUSDT", expected_seq=len(results), kind="tick", payload={},
                     state=None, live=True, correlation_id="c")
    with pytest.raises(LockLost):
        lock.check()

    server.start()
    fresh = attach(cfg, holder.epoch, clock)
    seqs = [r.seq for r in fresh.journal("BTCUSDT")]
    assert seqs[: len(results)] == results and len(seqs) <= len(results) + 1
    assert store.load("BTCUSDT").seq == len(seqs)  # the old store reconnects on its next call
    fresh.close()
    store.close()
    lock.release()


def test_terminated_lock_connection_is_reported_as_lock_lost(pg_dsn):
    cfg = StoreCfg("postgres", postgres_dsn=pg_dsn)
    clock = ManualClock()
    lock, holder = open_instance(cfg, clock)
    lock.check()
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (lock.backend_pid(),)
                             ).fetchone()[0]
    with pytest.raises(LockLost, match="is gone"):
        lock.check()
    # the lock is free once the backend has exited
    lock2, holder2 = wait_for(lambda: open_instance(cfg, clock), 10,
                              "the lock to be free after the backend was killed",
                              ignoring=InstanceLocked)
    assert holder2.epoch == holder.epoch + 1
    lock2.release()
    lock.release()


def test_fsync_off_refuses_to_start(make_pg_server):
    server = make_pg_server(settings={"fsync": "off"})
    cfg = StoreCfg("postgres", postgres_dsn=server.dsn())
    with pytest.raises(StoreNotSafe, match="fsync is 'off', must be 'on'"):
        open_instance(cfg, ManualClock())


def test_synchronous_commit_off_refuses_to_start_and_to_attach(pg_dsn):
    cfg = StoreCfg("postgres", postgres_dsn=pg_dsn)
    lock, holder = open_instance(cfg, ManualClock())
    lock.release()
    dbname = psycopg.conninfo.conninfo_to_dict(pg_dsn)["dbname"]
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{dbname}" SET synchronous_commit = off')
    with pytest.raises(StoreNotSafe, match="synchronous_commit is 'off', must be 'on'"):
        open_instance(cfg, ManualClock())
    with pytest.raises(StoreNotSafe, match="synchronous_commit"):
        attach(cfg, holder.epoch, ManualClock())


def test_unreachable_server_names_the_socket_but_never_the_password(tmp_path):
    dsn = f"host={tmp_path} port=5999 user=bot password=s3cret-pw dbname=posguard"
    cfg = StoreCfg("postgres", postgres_dsn=dsn, connect_timeout_secs=2)
    with pytest.raises(StoreUnavailable) as err:
        open_instance(cfg, ManualClock())
    text = str(err.value) + repr(err.value.__cause__)
    assert f"host {tmp_path} port 5999 dbname posguard user bot" in str(err.value)
    assert "s3cret-pw" not in text
