"""SQLite writers queue in the kernel for the write lock (persistence/write_queue.py).

Every symbol actor is a process writing the same file. Before, a writer that found SQLite's
write lock taken retried BEGIN IMMEDIATE on a timer: with 100 writers appending at the same
instant that herd cost ~5 ms of CPU per append (`posguard bench store`'s contended run with
the queue patched out; in `posguard bench` the symbol actors used 1.4-1.5 of the 2 cores with
ticks aligned). Now a writer first takes an flock(2) on
<file>-writelock and sleeps in the kernel until it is free; these tests hold that lock from
another process and check that a writer waits for it, gets it when the holder dies, gives
up at its deadline naming the lock, and never shares a lock it inherited by fork.

Each writer runs in a forked child: pytest-timeout's alarm (timeout_method = signal) is
pending in this process, which makes the queue fall back to polling here (tested too), while
a child starts with no alarm, as an actor process does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import time
import traceback
from types import SimpleNamespace

import pytest

from persistence import write_queue
from persistence.factory import attach, open_instance
from persistence.store import StoreUnavailable
from system.clock import SystemClock

_RESULT = struct.Struct("<dii")  # elapsed secs, seq (0: failed), flags


def _cfg(tmp_path, busy_ms: int = 5000) -> SimpleNamespace:
    return SimpleNamespace(backend="sqlite", sqlite_path=str(tmp_path / "q.sqlite3"),
                           postgres_dsn=None, busy_timeout_ms=busy_ms)


def _fork(work) -> tuple[int, int]:
    """Run work() -> (elapsed, seq, flags) in a child; (pid, read end of its pipe)."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(rfd)
            os.write(wfd, _RESULT.pack(*work()))
        except BaseException:
            traceback.print_exc()
            code = 3
        finally:
            os._exit(code)
    os.close(wfd)
    return pid, rfd


def _result(pid: int, rfd: int, timeout: float = 20.0) -> tuple[float, int, int]:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"writer {pid} did not finish within {timeout} s")
        time.sleep(0.01)
    data = os.read(rfd, _RESULT.size)
    os.close(rfd)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"writer {pid} failed"
    return _RESULT.unpack(data)


def _holder(db_path: str) -> tuple[int, int]:
    """A child that takes the write queue's lock and keeps it until it is killed; returns
    (pid, read end), after the child says it holds the lock."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(rfd)
            q = write_queue.WriteQueue(db_path)
            with q.held(1000):
                os.write(wfd, b"1")
                time.sleep(60)
        finally:
            os._exit(0)
    os.close(wfd)
    assert os.read(rfd, 1) == b"1"
    return pid, rfd


def _reap(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _append_timed(cfg, epoch: int, symbol: str) -> tuple[float, int, int]:
    store = attach(cfg, epoch, SystemClock())
    t0 = time.monotonic()
    try:
        seq = store.append(symbol, expected_seq=0, kind="t", payload={}, state={"a": 1},
                           live=True, correlation_id="c")
    except StoreUnavailable as e:
        named = str(cfg.sqlite_path) + "-writelock" in str(e) and "waited" in str(e)
        return time.monotonic() - t0, 0, 1 if named else 0
    finally:
        store.close()
    return time.monotonic() - t0, seq, 0


def test_a_writer_sleeps_until_the_holder_dies_then_appends(tmp_path):
    cfg = _cfg(tmp_path)
    lock, holder = open_instance(cfg, SystemClock())
    hpid, hfd = _holder(cfg.sqlite_path)
    try:
        wpid, wfd = _fork(lambda: _append_timed(cfg, holder.epoch, "S1"))
        time.sleep(0.4)
        done, _ = os.waitpid(wpid, os.WNOHANG)
        assert done == 0, "the writer appended while another process held the write lock"
        _reap(hpid)  # SIGKILL: the kernel drops its flock
        elapsed, seq, _ = _result(wpid, wfd)
        assert seq == 1
        assert elapsed >= 0.4
        store = attach(cfg, holder.epoch, SystemClock())
        assert store.load("S1").seq == 1
        store.close()
    finally:
        if _alive(hpid):
            _reap(hpid)
        os.close(hfd)
        lock.release()


def _alive(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == 0
    except ChildProcessError:
        return False


@pytest.mark.parametrize("where", ["child", "here"])
def test_a_writer_gives_up_at_its_deadline_naming_the_lock(tmp_path, where):
    """'child': the kernel wait with an alarm; 'here': the polling fallback (an alarm of
    pytest-timeout's is pending in this process)."""
    cfg = _cfg(tmp_path, busy_ms=300)
    lock, holder = open_instance(cfg, SystemClock())
    hpid, hfd = _holder(cfg.sqlite_path)
    try:
        if where == "here":
            assert signal.getitimer(signal.ITIMER_REAL)[0] > 0  # the fallback is what runs
            elapsed, seq, named = _append_timed(cfg, holder.epoch, "S1")
        else:
            def work() -> tuple[float, int, int]:
                before = signal.getsignal(signal.SIGALRM)
                elapsed, seq, named = _append_timed(cfg, holder.epoch, "S1")
                restored = signal.getsignal(signal.SIGALRM) is before \
                    and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
                return elapsed, seq, named | (2 if restored else 0)
            elapsed, seq, named = _result(*_fork(work))
            assert named & 2, "the alarm's handler or timer was left behind"
        assert seq == 0, "appended while another process held the write lock"
        assert named & 1, "the error did not name the write lock and the wait"
        assert 0.25 <= elapsed < 3.0
    finally:
        _reap(hpid)
        os.close(hfd)
        lock.release()


def test_a_lock_held_by_the_parent_is_not_shared_by_its_forked_child(tmp_path):
    """flock belongs to an open file, which fork shares: a child using the parent's file
    would walk straight through the parent's lock."""
    cfg = _cfg(tmp_path, busy_ms=300)
    lock, holder = open_instance(cfg, SystemClock())
    store = attach(cfg, holder.epoch, SystemClock())
    try:
        store.append("P", expected_seq=0, kind="t", payload={}, state=None, live=True,
                     correlation_id="c")  # the parent's queue file is open now
        q = store._queue
        with q.held(1000):
            def work() -> tuple[float, int, int]:
                t0 = time.monotonic()
                try:
                    seq = store.append("C", expected_seq=0, kind="t", payload={}, state=None,
                                       live=True, correlation_id="c")
                except StoreUnavailable:
                    return time.monotonic() - t0, 0, 1
                return time.monotonic() - t0, seq, 0
            elapsed, seq, failed = _result(*_fork(work))
        assert failed == 1 and seq == 0, "the child walked through its parent's write lock"
        assert store.append("P", expected_seq=1, kind="t", payload={}, state=None, live=True,
                            correlation_id="c") == 2
    finally:
        store.close()
        lock.release()


def test_writers_in_many_processes_all_land_through_the_queue(tmp_path):
    cfg = _cfg(tmp_path)
    lock, holder = open_instance(cfg, SystemClock())

    def work(i: int):
        def run() -> tuple[float, int, int]:
            store = attach(cfg, holder.epoch, SystemClock())
            t0 = time.monotonic()
            seq = 0
            for _ in range(25):
                seq = store.append(f"S{i}", expected_seq=seq, kind="t", payload={},
                                   state={"n": seq}, live=True, correlation_id="c")
            store.close()
            return time.monotonic() - t0, seq, 0
        return run

    try:
        children = [_fork(work(i)) for i in range(12)]
        assert [_result(pid, fd)[1] for pid, fd in children] == [25] * 12
        store = attach(cfg, holder.epoch, SystemClock())
        assert [[r.seq for r in store.journal(f"S{i}")] for i in range(12)] \
            == [list(range(1, 26))] * 12
        store.close()
    finally:
        lock.release()
