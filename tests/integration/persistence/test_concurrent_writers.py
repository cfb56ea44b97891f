"""Many processes on one store (one per symbol actor), and two racing on one symbol."""

from __future__ import annotations

import os
import struct
import traceback

from persistence.factory import attach, open_instance
from persistence.store import SeqConflict
from system.clock import SystemClock

_COUNT = struct.Struct("<q")


def _run_children(n: int, work) -> list[int]:
    """Fork n children running work(i) -> int; return their results (all must succeed)."""
    children = []
    for i in range(n):
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                os.close(rfd)
                os.write(wfd, _COUNT.pack(work(i)))
            except BaseException:
                traceback.print_exc()
                code = 3
            finally:
                os._exit(code)
        os.close(wfd)
        children.append((pid, rfd))
    results = []
    for pid, rfd in children:
        _, status = os.waitpid(pid, 0)
        data = os.read(rfd, _COUNT.size)
        os.close(rfd)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child {pid} failed"
        results.append(_COUNT.unpack(data)[0])
    return results


def test_one_process_per_symbol_all_append_without_errors(store_backend):
    lock, holder = open_instance(store_backend, SystemClock())

    def work(i: int) -> int:
        store = attach(store_backend, holder.epoch, SystemClock())
        for seq in range(60):
            store.append(f"S{i}", expected_seq=seq, kind="t", payload={}, state={"i": seq},
                         live=True, correlation_id="c")
        return 60

    try:
        assert _run_children(4, work) == [60] * 4
        store = attach(store_backend, holder.epoch, SystemClock())
        assert [store.load(f"S{i}").seq for i in range(4)] == [60] * 4
        assert store.live_symbols() == ["S0", "S1", "S2", "S3"]
        store.close()
    finally:
        lock.release()


def test_two_writers_racing_on_one_symbol_never_duplicate_a_seq(store_backend):
    lock, holder = open_instance(store_backend, SystemClock())

    def work(i: int) -> int:
        store = attach(store_backend, holder.epoch, SystemClock())
        won = 0
        for _ in range(80):
            seq = store.load("RACE").seq
            try:
                store.append("RACE", expected_seq=seq, kind=f"w{i}", payload={}, state=None,
                             live=True, correlation_id="c")
                won += 1
            except SeqConflict:
                pass  # the other writer got this seq: exactly what the check is for
        return won

    try:
        wins = _run_children(2, work)
        store = attach(store_backend, holder.epoch, SystemClock())
        seqs = [r.seq for r in store.journal("RACE")]
        store.close()
        assert seqs == list(range(1, sum(wins) + 1))
    finally:
        lock.release()
