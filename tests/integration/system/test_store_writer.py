"""`posguard run` on SQLite commits the actors' appends through its writer process
(persistence/writer_process.py): every symbol actor holds a connection to it while
protecting, none does with `store.sqlite_writer: false`, and both protect the same
positions; the writer ends with the launcher, whether it is stopped or killed."""

from __future__ import annotations

import os
import signal
from decimal import Decimal
from pathlib import Path

import psutil
import pytest

from persistence.sqlite_writer import socket_name
from tests.fixtures.launcher import pid_alive
from tests.integration.system.test_running_system import SYMBOLS, _open, _resting
from tests.waiting import wait_for

SEQPACKET, CONNECTED = 5, 3


def writer_connections(db_path: Path) -> int:
    """Connected sockets on the writer's abstract name (the writer's ends of its clients'
    connections), from the kernel's own table."""
    name = "@" + socket_name(str(db_path))[1:].decode()
    count = 0
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) == 8 and fields[7] == name and int(fields[4], 16) == SEQPACKET \
                and int(fields[5], 16) == CONNECTED:
            count += 1
    return count


def _protect_all(launched) -> dict:
    for sym, (side, qty) in SYMBOLS.items():
        _open(launched, sym, side, qty)
    rows = launched.symbols()
    truth = launched.control.state()
    for sym, (_, qty) in SYMBOLS.items():
        assert rows[sym]["state"] == "PROTECTED" and Decimal(rows[sym]["qty"]) == Decimal(qty)
        assert [str(o["algoId"]) for o in _resting(truth, sym)] == [rows[sym]["stop_order_id"]]
    return rows


def writer_pids(launched) -> list[int]:
    """The launcher's running children that are the store's writer (not a dead one the
    launcher has not reaped yet)."""
    out = []
    for child in psutil.Process(launched.proc.pid).children():
        try:
            if "persistence.writer_process" in child.cmdline():
                out.append(child.pid)
        except (psutil.ZombieProcess, psutil.NoSuchProcess):
            continue
    return out


def test_every_symbol_actor_appends_through_the_launchers_writer(launched, tmp_path):
    _protect_all(launched)
    # Each symbol actor that appended holds one connection (the supervisor may hold one too).
    assert writer_connections(tmp_path / "posguard.sqlite3") >= len(SYMBOLS)
    [writer] = writer_pids(launched)
    assert launched.terminate(timeout_secs=30) == 0
    assert not pid_alive(writer)
    assert writer_connections(tmp_path / "posguard.sqlite3") == 0


def test_a_killed_launcher_leaves_no_writer_behind(launched):
    [writer] = writer_pids(launched)
    launched.kill_all()
    wait_for(lambda: not pid_alive(writer), 10, "the store's writer to end with its launcher")


@pytest.mark.launch_config("store.sqlite_writer=false")
def test_with_the_writer_off_every_actor_appends_directly(launched, tmp_path):
    _protect_all(launched)
    assert writer_connections(tmp_path / "posguard.sqlite3") == 0


def test_a_writer_that_dies_is_started_again_and_protection_goes_on(launched, tmp_path):
    first = dict(list(SYMBOLS.items())[:2])
    for sym, (side, qty) in first.items():
        _open(launched, sym, side, qty)
    [writer] = writer_pids(launched)
    os.kill(writer, signal.SIGKILL)  # the writer this test's launcher started
    again = wait_for(lambda: [p for p in writer_pids(launched) if p != writer], 15,
                     "the launcher to start the store's writer again")
    assert len(again) == 1
    last, (side, qty) = list(SYMBOLS.items())[2]
    _open(launched, last, side, qty)
    rows = launched.symbols()
    assert all(rows[s]["state"] == "PROTECTED" for s in SYMBOLS)
    wait_for(lambda: writer_connections(tmp_path / "posguard.sqlite3") >= 1, 15,
             "an actor to append through the new writer")
    assert "the store's writer exited" in launched.tail()
