"""SIGKILL a writer at random moments: nothing acknowledged is ever lost (incident I-1).

Each trial forks one child (cheap: the parent already imported everything) that attaches
and appends as fast as it can, writing every acknowledged seq to a pipe as 8 bytes (one
os.write <= PIPE_BUF is atomic, so a kill never leaves half a seq). The parent kills it
after a random delay, drains the pipe and checks the journal. POSGUARD_CRASH_TRIALS and
POSGUARD_CRASH_SEED re-run with more trials or a failing seed.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import struct
import sys
import time
import traceback

from persistence.factory import attach, open_instance
from system.clock import SystemClock

TRIALS = int(os.environ.get("POSGUARD_CRASH_TRIALS", "50"))
_SEQ = struct.Struct("<q")


def _child(cfg, epoch: int, symbol: str, wfd: int) -> None:
    """Runs in the forked child: append until killed; never returns to pytest."""
    code = 0
    try:
        store = attach(cfg, epoch, SystemClock())
        seq = 0
        while True:
            nxt = seq + 1
            seq = store.append(symbol, expected_seq=seq, kind="tick", payload={"n": nxt},
                               state={"n": nxt} if nxt % 3 else None, live=True,
                               correlation_id=f"{symbol}-{nxt}")
            os.write(wfd, _SEQ.pack(seq))
    except BaseException:
        traceback.print_exc()
        code = 3
    finally:
        os._exit(code)


def _one_trial(cfg, epoch: int, symbol: str, delay_secs: float) -> list[int]:
    """Fork, let it append for delay_secs, SIGKILL, return the acknowledged seqs."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        _child(cfg, epoch, symbol, wfd)
    os.close(wfd)
    try:
        time.sleep(delay_secs)
        os.kill(pid, signal.SIGKILL)
    finally:
        _, status = os.waitpid(pid, 0)
    data = b""
    while chunk := os.read(rfd, 65536):  # EOF: the only writer is dead
        data += chunk
    os.close(rfd)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (
        f"child ended by itself (status {status}) before the kill: it failed to append")
    return [_SEQ.unpack_from(data, i)[0] for i in range(0, len(data), _SEQ.size)]


def _verify(cfg, epoch: int, symbol: str, acked: list[int]) -> None:
    """Every ack present, seqs 1..max contiguous, and a fresh attach opens cleanly."""
    store = attach(cfg, epoch, SystemClock())
    try:
        rows = store.journal(symbol)
        loaded = store.load(symbol)
    finally:
        store.close()
    seqs = [r.seq for r in rows]
    assert seqs == list(range(1, len(seqs) + 1)), f"gaps or duplicates: {seqs}"
    assert acked == list(range(1, len(acked) + 1)), f"acks out of order: {acked}"
    assert len(seqs) >= len(acked), f"acknowledged {len(acked)}, journal has {len(seqs)}"
    # At most one transaction can commit without its ack having been reported.
    assert len(seqs) <= len(acked) + 1, f"acked {len(acked)} but {len(seqs)} rows"
    assert all(r.payload == {"n": r.seq} for r in rows)
    assert loaded.seq == len(seqs)
    expected_snap = max((s for s in seqs if s % 3), default=0)
    assert (loaded.snapshot_seq, loaded.state) == (
        expected_snap, {"n": expected_snap} if expected_snap else None)
    if cfg.backend == "sqlite":
        conn = sqlite3.connect(cfg.sqlite_path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            conn.close()


def test_sigkilled_writer_loses_no_acknowledged_transition(store_backend):
    seed = int(os.environ.get("POSGUARD_CRASH_SEED", time.time_ns() % 2**32))
    print(f"crash durability seed={seed} backend={store_backend.backend} trials={TRIALS}")
    rng = random.Random(seed)
    lock, holder = open_instance(store_backend, SystemClock())
    total_acked = 0
    try:
        for trial in range(TRIALS):
            symbol = f"SYM{trial}USDT"
            try:
                acked = _one_trial(store_backend, holder.epoch, symbol, rng.uniform(0.005, 0.08))
                _verify(store_backend, holder.epoch, symbol, acked)
            except AssertionError as e:
                raise AssertionError(f"trial {trial} failed; re-run with "
                                     f"POSGUARD_CRASH_SEED={seed}: {e}") from e
            total_acked += len(acked)
    finally:
        lock.release()
    print(f"{store_backend.backend}: {TRIALS} trials, {total_acked} acknowledged appends",
          file=sys.stderr)
    # Guard against a vacuous pass (children that never got to append anything).
    assert total_acked >= TRIALS, f"only {total_acked} appends acknowledged in {TRIALS} trials"
    lock, again = open_instance(store_backend, SystemClock())  # opens cleanly afterwards
    assert again.epoch == holder.epoch + 1
    lock.release()
