"""Ending a killed launcher's leftover actor system by pid (system/processes.py).

Stand-in processes (sleeping Pythons) play the leftover's admin and actors; every one is
started and, whatever happens, killed by this test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from system.launched import pid_alive
from system.processes import LeftoverError, PidBook, RunRecord, end_leftovers

PORT = 1  # nothing of ours ever runs there: only recorded stand-ins are found


def _nobody_listens(address: str, port: int) -> bool:
    return False


@pytest.fixture
def spawn() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        p.kill()
        p.wait(5)


def _sleeper(procs: list[subprocess.Popen[bytes]]) -> int:
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    procs.append(p)
    return p.pid


def _record(tmp_path: Path, launcher: int, **pids: int) -> RunRecord:
    book = PidBook()
    for kind, pid in pids.items():
        book.add(pid, kind)
    record = RunRecord(tmp_path / "posguard-1.pids.json")
    record.write(book, launcher)
    return record


def test_the_recorded_processes_of_a_dead_launcher_are_killed_and_verified_gone(tmp_path, spawn):
    launcher = _sleeper(spawn)
    record = _record(tmp_path, launcher, supervisor=_sleeper(spawn), symbol=_sleeper(spawn))
    victims = [p.pid for p in spawn[1:]]
    spawn[0].kill()
    spawn[0].wait(5)

    ended = end_leftovers("127.0.0.1", PORT, record, 5, _nobody_listens)

    assert ended == sorted(victims)
    assert [p for p in victims if pid_alive(p)] == []
    assert not record.path.exists()


def test_a_recorded_pid_that_now_belongs_to_another_process_is_left_alone(tmp_path, spawn):
    other = _sleeper(spawn)  # has the recorded pid, but not the recorded start time
    record = RunRecord(tmp_path / "posguard-1.pids.json")
    record.path.write_text(json.dumps({"launcher": [other, 12.0],
                                       "pids": {str(other): ["symbol", 12.5]}}))

    ended = end_leftovers("127.0.0.1", PORT, record, 5, _nobody_listens)

    assert ended == []
    assert pid_alive(other), "a process that is not the recorded one was killed"


def test_a_port_whose_recorded_launcher_still_runs_is_refused_and_nothing_is_killed(
        tmp_path, spawn):
    record = _record(tmp_path, _sleeper(spawn), supervisor=_sleeper(spawn))

    with pytest.raises(LeftoverError, match="running posguard launcher"):
        end_leftovers("127.0.0.1", PORT, record, 5, _nobody_listens)

    assert all(pid_alive(p.pid) for p in spawn)


def test_a_port_held_by_something_that_is_not_ours_is_refused(tmp_path):
    with pytest.raises(LeftoverError, match="not a posguard actor system"):
        end_leftovers("127.0.0.1", PORT, RunRecord(tmp_path / "none.json"), 5,
                      lambda address, port: True)
