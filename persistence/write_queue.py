"""The SQLite writers' queue: an flock(2) on `<file>-writelock`, taken before BEGIN IMMEDIATE.

Every symbol actor is a process writing the same SQLite file, and SQLite's write lock has no
queue: a writer that finds it taken can only try again later. Retrying on a timer (0.1 ms
doubling to 4 ms, what posguard did before) with 100 writers appending at the same instant
cost 4.8-5.1 ms of CPU per append and p50 / p99 196-229 / 385-438 ms per append (the
contended measurement of `posguard bench store` with this queue patched out, 100 writers x
10 aligned rounds; in `posguard bench` the symbol actors used 1.4-1.5 of the 2 cores with
ticks aligned). A writer now first takes an exclusive flock on a
side file: it sleeps in the kernel, uses no CPU while it waits, and is woken when the holder
lets go. Measured the same way: 0.66-0.68 ms of CPU per append, p50 / p99 37-39 / 96-107 ms
(the lock is held ~0.9 ms per append: SQLite's own work and the WAL's fsync, which every
writer still waits for in turn).

The flock only orders posguard's own writers; SQLite's lock is still what keeps them
correct (a writer that does not take the flock, or an older engine, is merely not queued).
It is released by the kernel when its holder dies, SIGKILL included: no stale lock.

- Fork: an flock belongs to an open file, which a forked child shares with its parent; a
  child using its parent's file would walk through the parent's lock. The file is opened by
  the process that uses it (the pid is checked on every use), never inherited.
- Deadline: a wait longer than `wait_ms` raises WriteQueueTimeout. In the main thread with no
  alarm pending (an actor process) the wait is a blocking flock cut by ITIMER_REAL and a
  SIGALRM handler, both restored afterwards; elsewhere (another thread, or an alarm already
  pending, e.g. pytest-timeout's) it polls a non-blocking flock with the same short backoff.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import signal
import threading
import time
from collections.abc import Iterator

POLL_FIRST_SECS = 0.0001
POLL_MAX_SECS = 0.004
"""The polling fallback's pause: doubles from 0.1 ms to 4 ms, jittered."""

SUFFIX = "-writelock"


class WriteQueueTimeout(Exception):
    """The write lock was not free within the wait (another writer held it)."""


class WriteQueueError(Exception):
    """The queue's lock file cannot be opened or locked (named in the message)."""


class _Alarm(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _Alarm


class WriteQueue:
    """The lock in front of one SQLite file's writers (module docstring)."""

    def __init__(self, db_path: str) -> None:
        self.path = db_path + SUFFIX
        self._fd: int | None = None
        self._pid: int | None = None

    def _file(self) -> int:
        """This process's own open file of the lock (reopened after a fork)."""
        pid = os.getpid()
        if self._fd is None or self._pid != pid:
            # An fd inherited from the parent is left open: the parent still uses it.
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as e:
                self._fd = None
                raise WriteQueueError(f"cannot open the write lock {self.path}: {e}") from e
            self._pid = pid
        return self._fd

    @contextlib.contextmanager
    def held(self, wait_ms: int) -> Iterator[int]:
        """Hold the lock for the body; yields the ms left of `wait_ms`."""
        fd = self._file()
        started = time.monotonic()
        self._acquire(fd, max(wait_ms, 1) / 1000)
        try:
            left = wait_ms - int((time.monotonic() - started) * 1000)
            yield max(left, 1)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close this process's lock file; idempotent."""
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = self._pid = None

    def _acquire(self, fd: int, wait_secs: float) -> None:
        if threading.current_thread() is threading.main_thread() \
                and signal.getitimer(signal.ITIMER_REAL)[0] == 0:
            self._wait_in_kernel(fd, wait_secs)
        else:
            self._poll(fd, wait_secs)

    def _wait_in_kernel(self, fd: int, wait_secs: float) -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return  # free: no alarm needed
        except BlockingIOError:
            pass
        except OSError as e:
            raise WriteQueueError(f"cannot lock {self.path}: {e}") from e
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        try:
            try:
                signal.setitimer(signal.ITIMER_REAL, wait_secs)
                fcntl.flock(fd, fcntl.LOCK_EX)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _Alarm:
            # The alarm may have come just after the lock was granted: let it go.
            fcntl.flock(fd, fcntl.LOCK_UN)
            raise WriteQueueTimeout(self._waited(wait_secs)) from None
        except OSError as e:
            raise WriteQueueError(f"cannot lock {self.path}: {e}") from e
        finally:
            signal.signal(signal.SIGALRM, previous)

    def _poll(self, fd: int, wait_secs: float) -> None:
        deadline = time.monotonic() + wait_secs
        pause = POLL_FIRST_SECS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WriteQueueTimeout(self._waited(wait_secs)) from None
            except OSError as e:
                raise WriteQueueError(f"cannot lock {self.path}: {e}") from e
            time.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, POLL_MAX_SECS)

    def _waited(self, wait_secs: float) -> str:
        return (f"waited {wait_secs * 1000:.0f} ms for the write lock {self.path}: another "
                "writer held it (a stuck or stopped posguard process?)")
