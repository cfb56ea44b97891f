"""The SQLite store's writer (persistence/sqlite_writer.py): appends from many processes
committed in groups, refusals as direct appends give them, and every way the writer can be
missing or go away ends in the append made exactly once."""

from __future__ import annotations

import dataclasses
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import msgpack
import pytest

from persistence import factory
from persistence.sqlite import append_rows, connect, store_writer
from persistence.sqlite_writer import REPLY_MARGIN_MS, commit_group, socket_name
from persistence.store import SeqConflict, StaleEpoch, StoreUnavailable

PROCESSES = 12
APPENDS_EACH = 15


@dataclass(frozen=True)
class Cfg:
    """The store part of the config as factory.py reads it, with the instance's epoch."""

    sqlite_path: str
    epoch: int = 0
    backend: str = "sqlite"
    busy_timeout_ms: int = 2000
    connect_timeout_secs: float = 5
    postgres_dsn: str | None = None


@pytest.fixture
def cfg(tmp_path, clock):
    """A started instance's file (schema current); its lock is released afterwards."""
    c = Cfg(str(tmp_path / "var" / "store.sqlite3"))
    lock, holder = factory.open_instance(c, clock)
    yield dataclasses.replace(c, epoch=holder.epoch)
    lock.release()


@pytest.fixture
def writer(cfg):
    server = store_writer(cfg.sqlite_path, cfg.busy_timeout_ms)
    assert server.start()
    yield server
    server.stop()
    assert not server.running


def journal(cfg, symbol):
    with sqlite3.connect(cfg.sqlite_path) as c:
        return c.execute("SELECT seq, kind, correlation_id FROM journal WHERE symbol = ? "
                         "ORDER BY seq", (symbol,)).fetchall()


def append(store, symbol, seq, kind="step", corr="c"):
    return store.append(symbol, expected_seq=seq, kind=kind, payload={"n": seq},
                        state={"seq": seq + 1}, live=True, correlation_id=corr)


def test_appends_go_through_the_writer_and_read_back_as_direct_ones(cfg, writer, clock):
    store = factory.attach(cfg, cfg.epoch, clock)
    try:
        assert [append(store, "BTCUSDT", n, corr=f"c{n}") for n in range(3)] == [1, 2, 3]
        assert store.through_writer == 3
        loaded = store.load("BTCUSDT")
    finally:
        store.close()
    assert writer.appends == 3
    assert loaded.seq == 3 and loaded.state == {"seq": 3}
    assert journal(cfg, "BTCUSDT") == [(1, "step", "c0"), (2, "step", "c1"), (3, "step", "c2")]


def test_refusals_come_back_as_the_direct_path_raises_them(cfg, writer, clock):
    store = factory.attach(cfg, cfg.epoch, clock)
    try:
        append(store, "ETHUSDT", 0)
        with pytest.raises(SeqConflict, match="expected seq 0, store has 1"):
            append(store, "ETHUSDT", 0)
        with sqlite3.connect(cfg.sqlite_path) as c:  # what the next instance's start does
            c.execute("UPDATE instance SET epoch = epoch + 1 WHERE id = 1")
        with pytest.raises(StaleEpoch, match=f"our epoch {cfg.epoch} is stale"):
            append(store, "ETHUSDT", 1)
    finally:
        store.close()
    assert writer.appends == 3
    assert [r[0] for r in journal(cfg, "ETHUSDT")] == [1]


def test_one_refused_request_leaves_the_rest_of_its_group_alone(cfg):
    conn = connect(cfg.sqlite_path, 2000)
    try:
        def req(symbol, seq, epoch=cfg.epoch):
            return ["main", symbol, epoch, seq, "step", b"p", b"s", True, "c", 1]
        replies = commit_group(conn, [req("A", 0), req("B", 5), req("C", 0), req("D", 0, 99)],
                               append_rows, lambda: _immediate(conn))
    finally:
        conn.close()
    assert replies[0] == [1] and replies[2] == [1]
    assert replies[1][0] == "SeqConflict" and replies[3][0] == "StaleEpoch"
    assert [len(journal(cfg, s)) for s in "ABCD"] == [1, 0, 1, 0]


class _immediate:
    """BEGIN IMMEDIATE ... COMMIT (the store's own transaction, without its queue)."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, *_):
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


CHILD = """
import sys, time
from persistence import factory
from system.clock import SystemClock
from tests.integration.persistence.conftest import StoreCfg
path, epoch, symbol = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n, start_at = int(sys.argv[4]), float(sys.argv[5])
store = factory.attach(StoreCfg("sqlite", sqlite_path=path), epoch, SystemClock())
time.sleep(max(0.0, start_at - time.time()))
for seq in range(n):
    store.append(symbol, expected_seq=seq, kind="step", payload={"n": seq}, state={"n": seq},
                 live=True, correlation_id=f"{symbol}-{seq}")
store.close()
"""


def test_many_processes_appending_at_once_are_committed_in_groups(cfg, writer):
    start_at = time.time() + 3.0  # every child has imported and attached by then
    children = [subprocess.Popen([sys.executable, "-c", CHILD, cfg.sqlite_path, str(cfg.epoch),
                                  f"S{i:02d}", str(APPENDS_EACH), str(start_at)],
                                 cwd=os.getcwd(), stderr=subprocess.PIPE)
                for i in range(PROCESSES)]
    try:
        for child in children:
            _, err = child.communicate(timeout=60)
            assert child.returncode == 0, err.decode()[-2000:]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait(10)
    for i in range(PROCESSES):
        assert [r[0] for r in journal(cfg, f"S{i:02d}")] == list(range(1, APPENDS_EACH + 1))
    assert writer.appends == PROCESSES * APPENDS_EACH
    assert writer.groups < writer.appends  # some commits carried several appends


def test_without_a_writer_every_append_is_direct(cfg, clock):
    store = factory.attach(cfg, cfg.epoch, clock)
    try:
        assert [append(store, "XRPUSDT", n) for n in range(2)] == [1, 2]
    finally:
        store.close()
    assert [r[0] for r in journal(cfg, "XRPUSDT")] == [1, 2]


def test_a_request_too_large_for_one_packet_is_appended_directly(cfg, writer, clock):
    store = factory.attach(cfg, cfg.epoch, clock)
    try:
        seq = store.append("BIG", expected_seq=0, kind="step", payload={"blob": "x" * 2_000_000},
                           state=None, live=True, correlation_id="big")
        assert append(store, "BIG", seq) == 2  # and the writer takes the next one
    finally:
        store.close()
    assert writer.appends == 1
    assert [r[0] for r in journal(cfg, "BIG")] == [1, 2]


class FakeWriter:
    """A listener on the writer's name that takes one request and then does `then`."""

    def __init__(self, cfg, then):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.bind(socket_name(cfg.sqlite_path))
        self.sock.listen(4)
        self.cfg, self.then, self.taken = cfg, then, []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(30)
        client, _ = self.sock.accept()
        client.settimeout(30)
        request = msgpack.unpackb(client.recv(1 << 20), raw=False)
        self.taken.append(request)
        if self.then == "commit, then vanish":
            conn = connect(self.cfg.sqlite_path, 2000)
            with _immediate(conn):
                append_rows(conn, request)
            conn.close()
        if self.then == "hang":
            time.sleep(self.cfg.busy_timeout_ms / 1000 + REPLY_MARGIN_MS / 1000 + 1)
        client.close()

    def close(self):
        self.thread.join(30)
        self.sock.close()


@pytest.mark.parametrize("then", ["vanish", "commit, then vanish"])
def test_a_writer_that_goes_away_with_a_request_leaves_it_appended_once(cfg, clock, then):
    fake = FakeWriter(cfg, then)
    store = factory.attach(cfg, cfg.epoch, clock)
    try:
        assert append(store, "SOLUSDT", 0, corr="first") == 1
        fake.close()
        assert append(store, "SOLUSDT", 1, corr="second") == 2  # direct now: no writer
    finally:
        store.close()
    assert len(fake.taken) == 1
    assert journal(cfg, "SOLUSDT") == [(1, "step", "first"), (2, "step", "second")]


def test_a_writer_that_does_not_answer_is_a_store_failure_within_the_deadline(cfg, clock):
    fake = FakeWriter(cfg, "hang")
    store = factory.attach(cfg, cfg.epoch, clock)
    started = time.monotonic()
    try:
        with pytest.raises(StoreUnavailable, match="did not answer within"):
            append(store, "ADAUSDT", 0)
        waited = time.monotonic() - started
    finally:
        store.close()
        fake.close()
    assert waited < (cfg.busy_timeout_ms + REPLY_MARGIN_MS) / 1000 + 2
    assert journal(cfg, "ADAUSDT") == []


def test_a_second_writer_for_the_same_file_does_not_start(cfg, writer):
    said = []
    second = store_writer(cfg.sqlite_path, cfg.busy_timeout_ms, log=said.append)
    assert second.start() is False
    assert "did not start" in said[0] and "appends directly" in said[0]


@pytest.mark.parametrize("bad", [b"\xc1", msgpack.packb([1, 2]),
                                 msgpack.packb(["main", "X", 1, "0", "k", b"p", None, True,
                                                "c", 1])])
def test_a_malformed_request_is_answered_with_its_fault_and_the_writer_goes_on(cfg, writer,
                                                                               clock, bad):
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.settimeout(10)
        s.connect(socket_name(cfg.sqlite_path))
        s.send(bad)
        kind, message = msgpack.unpackb(s.recv(1 << 16), raw=False)
    assert kind == "StoreUnavailable" and "malformed request" in message
    assert writer.appends == 0  # a refused request is not an append
    store = factory.attach(cfg, cfg.epoch, clock)
    try:
        assert append(store, "LTCUSDT", 0) == 1 and store.through_writer == 1
    finally:
        store.close()
    assert writer.running
