"""The SQLite store's writer as a process of its own: `python -m persistence.writer_process`.

`posguard run` starts it after the instance lock and stops it (SIGTERM) after the actors:
its own process, so its GIL is its own (not the launcher's, which also runs the operator
services, nor, in `posguard bench`, the simulator's). It asks the kernel to send it SIGTERM
when its parent dies (PR_SET_PDEATHSIG), so a killed launcher leaves no writer behind; the
actors then append directly (persistence/sqlite_writer.py). It prints one line on stdout once
it serves ("ready") or why it does not ("not started: ..."), exits 0 on SIGTERM after
answering the group in hand, and ignores SIGINT (the launcher ends it after the actors).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable

READY = "ready"
_PR_SET_PDEATHSIG = 1
START_SECS = 20.0
"""How long the writer process may take to import and bind."""
STOP_SECS = 5.0
"""How long it may take to answer the group in hand after SIGTERM."""


def spawn(path: str, busy_timeout_ms: int,
          log: Callable[[str], None]) -> subprocess.Popen[str] | None:
    """Start the writer for the SQLite file at `path` as a child of this process; None
    (logged) if it did not come up: every process then appends directly."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "persistence.writer_process", "--path", path,
         "--busy-timeout-ms", str(busy_timeout_ms), "--parent", str(os.getpid())],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    waiting = select.poll()
    waiting.register(proc.stdout, select.POLLIN)
    line = proc.stdout.readline().strip() if waiting.poll(START_SECS * 1000) else \
        f"no answer within {START_SECS:.0f} s"
    if line == READY:
        return proc
    log(f"the store's writer did not start "
        f"({line or f'it exited with code {proc.poll()}; see its stderr'}); "
        "every process appends directly")
    end(proc, log)
    return None


def end(proc: subprocess.Popen[str], log: Callable[[str], None]) -> None:
    """SIGTERM (it answers the group in hand), then SIGKILL if it does not exit."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(STOP_SECS)
        except subprocess.TimeoutExpired:
            log(f"the store's writer {proc.pid} did not exit on SIGTERM; killing it")
            proc.kill()
            proc.wait(STOP_SECS)
    if proc.stdout is not None:
        proc.stdout.close()


def die_with_parent(parent: int) -> None:
    """SIGTERM when the parent dies; exit now if it already has (it died before prctl)."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the launcher ends it
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        sys.exit(0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m persistence.writer_process")
    p.add_argument("--path", required=True, help="the SQLite file")
    p.add_argument("--busy-timeout-ms", type=int, required=True)
    p.add_argument("--parent", type=int, required=True, help="the launcher's pid")
    a = p.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Ctrl-C reaches the whole foreground group: the launcher drains the actors first and
    # ends the writer after them (SIGTERM), so the writer does not stop on it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(a.parent)
    from persistence.sqlite import store_writer

    said: list[str] = []
    server = store_writer(a.path, a.busy_timeout_ms, log=said.append)
    if not server.start():
        print(f"not started: {'; '.join(said)}", flush=True)
        return 1
    print(READY, flush=True)
    while not stop.wait(1.0):
        if not server.running:
            print(f"posguard store writer {os.getpid()}: stopped: {'; '.join(said)}",
                  file=sys.stderr, flush=True)
            return 1
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
