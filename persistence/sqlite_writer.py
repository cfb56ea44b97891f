"""The SQLite store's writer: every process's appends, committed in groups by one thread
(of its own process, persistence/writer_process.py, which `posguard run` starts).

Each symbol actor is a process, and SQLite has one write lock per file. With every actor
committing its own appends (synchronous=FULL: an fsync each), the lock is the engine's
bottleneck at 100 symbols: a cProfile of the symbol actors through `posguard bench`'s
10 s window of 100 moves a second (RTT 20) found them waiting for it (the flock of
persistence/write_queue.py) 35 % of their wall time, 190 ms per append on average: a holder
that loses its CPU on the saturated machine holds everyone. Here one thread takes every
append that is waiting, applies them in one transaction and commits once (one
fsync for the group), then answers each. Durability is unchanged: an append's answer is
sent only after its group's COMMIT returned, with the same WAL + synchronous=FULL file.

- Wire: a SOCK_SEQPACKET socket in the abstract namespace named by the file's real path (so
  no file to clean up, and a dead launcher's name is freed by the kernel); one request, one
  answer, msgpack. The peer's uid is checked (SO_PEERCRED): only this user's processes.
- Each request is checked as a direct append is (epoch, expected seq) inside the group
  transaction, under its own SAVEPOINT: a refused request (StaleEpoch, SeqConflict) leaves
  the others alone. A group whose commit fails answers every request with the failure.
- The writer is an optimisation, never a dependency: a process that finds no writer
  (none running, `store.sqlite_writer: false`, a request too large for one packet) appends
  directly, as before, under the flock queue; the writer's own group transaction takes the
  same queue, so both paths are serialised by SQLite's lock as always.
- A writer that goes away after a request was sent (killed, or its launcher died): the request's
  outcome is read back from the journal (the row at the next seq with this correlation id)
  and, if it is not there, the append is made directly. A writer that does not answer
  within the write deadline: StoreUnavailable (the actor ends and is restarted from its
  snapshot; a commit that lands after that is caught by the seq check).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import select
import socket
import sqlite3
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import msgpack

from persistence.store import SeqConflict, StaleEpoch, StoreError, StoreUnavailable

SOCKET_PREFIX = "posguard-store-"
MAX_GROUP = 256
"""Appends committed in one transaction at most."""
MAX_PACKET = 1 << 20
"""Largest request read (bytes); a larger one is refused by the kernel at send (EMSGSIZE)
and that append is made directly."""
RECONNECT_SECS = 1.0
"""A process that found no writer tries again after this long (it appends directly meanwhile)."""
POLL_SECS = 1.0
"""The writer's idle wait (stop() also wakes it at once)."""
REPLY_MARGIN_MS = 1000
"""The client waits this much longer than the writer's own deadline for the write lock."""
_UCRED = struct.Struct("3i")
_ERRORS: dict[str, type[StoreError]] = {
    "StaleEpoch": StaleEpoch, "SeqConflict": SeqConflict, "StoreUnavailable": StoreUnavailable}

Request = list[Any]
"""[account, symbol, epoch, expected_seq, kind, payload (bytes), state (bytes | None), live,
correlation_id, created_at_ms]"""
Reply = list[Any]
"""[seq] on success, [error class name, message] on refusal."""

AppendRows = Callable[[sqlite3.Connection, Request], int]
"""Checks and writes one append in the open transaction; returns its seq (persistence/sqlite.py)."""


def socket_name(db_path: str) -> bytes:
    """The writer's abstract socket name for the SQLite file at `db_path`."""
    digest = hashlib.sha256(os.path.realpath(db_path).encode()).hexdigest()[:32]
    return b"\0" + (SOCKET_PREFIX + digest).encode()


_FIELDS: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("account", (str,)), ("symbol", (str,)), ("epoch", (int,)), ("expected_seq", (int,)),
    ("kind", (str,)), ("payload", (bytes,)), ("state", (bytes, type(None))), ("live", (bool,)),
    ("correlation_id", (str,)), ("created_at_ms", (int,)))


def check_request(request: Any) -> None:
    """ValueError naming the first field of `request` that is missing or of the wrong type."""
    if not isinstance(request, list) or len(request) != len(_FIELDS):
        raise ValueError(f"not a {len(_FIELDS)}-field request: {type(request).__name__}")
    for value, (name, types) in zip(request, _FIELDS, strict=True):
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ValueError(f"{name} is a {type(value).__name__}")


def commit_group(conn: sqlite3.Connection, requests: list[Request], append_rows: AppendRows,
                 transaction: Callable[[], Any]) -> list[Reply]:
    """Apply `requests` in one transaction (`transaction()`: the store's write transaction
    context), each under its own savepoint; one COMMIT. Answers in request order."""
    replies: list[Reply] = []
    try:
        with transaction():
            for request in requests:
                conn.execute("SAVEPOINT one")
                try:
                    replies.append([append_rows(conn, request)])
                except (StaleEpoch, SeqConflict) as e:
                    replies.append([type(e).__name__, str(e)])
                    conn.execute("ROLLBACK TO one")
                except sqlite3.IntegrityError as e:  # a race past the seq check
                    replies.append(["SeqConflict", f"append refused: {e}"])
                    conn.execute("ROLLBACK TO one")
                conn.execute("RELEASE one")
    except (StoreError, sqlite3.Error) as e:
        # Nothing of the group is durable: every request hears why (even those it had done).
        kind = "SeqConflict" if isinstance(e, SeqConflict) else "StoreUnavailable"
        return [[kind, f"group commit failed: {e}"] for _ in requests]
    return replies


class WriterServer:
    """The writer thread: accept, gather what is waiting, commit the group, answer."""

    def __init__(self, db_path: str, open_group: Callable[[], Any], *,
                 log: Callable[[str], None] = lambda _m: None) -> None:
        """`open_group()` returns (conn, append_rows, transaction) for the file (called in
        the thread: the connection belongs to it)."""
        self.path = db_path
        self._open_group = open_group
        self._log = log
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake_r: int | None
        self._wake_w: int | None
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        """stop() writes a byte here to end the thread's wait at once."""
        self.groups = 0
        """Groups committed (for tests and the bench)."""
        self.appends = 0
        """Appends answered after a group's commit (malformed requests not counted)."""

    def start(self) -> bool:
        """Bind and start the thread; False (logged) if the name is taken or cannot be bound."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        try:
            sock.bind(socket_name(self.path))
            sock.listen(512)
        except OSError as e:
            sock.close()
            self._close_wake()
            self._log(f"the store's writer for {self.path} did not start ({e}); every "
                      "process appends directly")
            return False
        self._listener = sock
        self._thread = threading.Thread(target=self._run, name="posguard-store-writer",
                                        daemon=True)
        self._thread.start()
        return True

    def stop(self, timeout_secs: float = 5.0) -> None:
        """Finish the group in hand, answer it, close every connection."""
        self._stopping.set()
        if self._wake_w is not None:
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout_secs)
            if self._thread.is_alive():
                return  # still finishing a group: its pipe stays open for it
            self._thread = None
        self._close_wake()

    def _close_wake(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            if fd is not None:
                os.close(fd)
        self._wake_r = self._wake_w = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._serve()
        # noqa below: not swallowed. The thread ends, its clients see their connection close
        # (one with a request in flight reads it back from the journal, then appends
        # directly), and the writer process, seeing the thread gone, exits 1 for `posguard
        # run` to start again.
        except Exception as e:  # noqa: BLE001
            self._log(f"the store's writer for {self.path} failed ({type(e).__name__}: {e}); "
                      "every process appends directly until it runs again")

    def _serve(self) -> None:
        assert self._listener is not None
        listener, clients = self._listener, {}
        try:
            conn, append_rows, transaction = self._open_group()
        except StoreError as e:
            self._log(f"the store's writer cannot open {self.path} ({e}); every process "
                      "appends directly")
            listener.close()
            return
        poll = select.poll()
        poll.register(listener, select.POLLIN)
        poll.register(self._wake_r, select.POLLIN)
        try:
            while not self._stopping.is_set():
                group: list[tuple[socket.socket, Request]] = []
                for fd, _bits in poll.poll(POLL_SECS * 1000):
                    if fd == listener.fileno():
                        self._accept(listener, clients, poll)
                    elif fd == self._wake_r:
                        continue  # stop(): the loop's condition ends it
                    elif (client := clients.get(fd)) is not None:
                        self._read(client, clients, poll, group)
                while group:
                    batch, group = group[:MAX_GROUP], group[MAX_GROUP:]
                    replies = commit_group(conn, [r for _, r in batch], append_rows,
                                           transaction)
                    self.groups += 1
                    self.appends += len(batch)
                    for (client, _), reply in zip(batch, replies, strict=True):
                        self._answer(client, reply, clients, poll)
        finally:
            for client in list(clients.values()):
                client.close()
            listener.close()
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _accept(self, listener: socket.socket, clients: dict[int, socket.socket],
                poll: Any) -> None:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        _pid, uid, _gid = _UCRED.unpack(client.getsockopt(socket.SOL_SOCKET,
                                                          socket.SO_PEERCRED, _UCRED.size))
        if uid != os.getuid():
            self._log(f"the store's writer refused a connection from uid {uid}")
            client.close()
            return
        client.setblocking(False)
        clients[client.fileno()] = client
        poll.register(client, select.POLLIN)

    def _read(self, client: socket.socket, clients: dict[int, socket.socket], poll: Any,
              group: list[tuple[socket.socket, Request]]) -> None:
        while True:
            try:
                data = client.recv(MAX_PACKET)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:  # the process went away (or closed its store)
                self._drop(client, clients, poll)
                return
            try:
                request = msgpack.unpackb(data, raw=False)
                check_request(request)
            except (ValueError, msgpack.UnpackException) as e:
                self._answer(client, ["StoreUnavailable", f"malformed request: {e}"],
                             clients, poll)
                continue
            group.append((client, request))

    def _answer(self, client: socket.socket, reply: Reply, clients: dict[int, socket.socket],
                poll: Any) -> None:
        try:
            client.send(msgpack.packb(reply, use_bin_type=True))
        except OSError:  # its process is gone: nobody to tell
            self._drop(client, clients, poll)

    @staticmethod
    def _drop(client: socket.socket, clients: dict[int, socket.socket], poll: Any) -> None:
        fd = client.fileno()
        if clients.pop(fd, None) is not None:
            poll.unregister(fd)
            client.close()


class WriterClient:
    """A process's connection to the writer (one per process: a forked child opens its own)."""

    def __init__(self, db_path: str) -> None:
        self.name = socket_name(db_path)
        self._sock: socket.socket | None = None
        self._pid: int | None = None
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def append(self, request: Request, wait_ms: int,
               committed: Callable[[], int | None]) -> int | None:
        """The new seq from the writer; None: no writer, append directly. Raises the store
        error the writer answered, or StoreUnavailable if it did not answer in time.
        `committed()` reads the journal: the seq if this request is there, else None."""
        with self._lock:
            sock = self._socket()
            if sock is None:
                return None
            try:
                sock.send(msgpack.packb(request, use_bin_type=True))
            except OSError as e:
                if e.errno != errno.EMSGSIZE:
                    self._drop()
                return None  # not sent: nothing can have been written
            reply = self._reply(sock, wait_ms + REPLY_MARGIN_MS)
            if reply is None:  # the writer went away with our request: did it commit?
                self._drop()
                return committed()
        if len(reply) == 1 and isinstance(reply[0], int):
            return reply[0]
        kind, message = (reply + ["", ""])[:2]
        raise _ERRORS.get(kind, StoreUnavailable)(f"{message} (the store's writer)")

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _socket(self) -> socket.socket | None:
        pid = os.getpid()
        if self._pid != pid:  # inherited from the parent: its connection, not ours
            if self._sock is not None:
                self._sock.close()  # our copy only: the parent's stays open
            self._sock, self._pid, self._retry_at = None, pid, 0.0
        if self._sock is None and time.monotonic() >= self._retry_at:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
            try:
                sock.connect(self.name)
                self._sock = sock
            except OSError:
                sock.close()
                self._retry_at = time.monotonic() + RECONNECT_SECS
        return self._sock

    def _reply(self, sock: socket.socket, timeout_ms: int) -> list[Any] | None:
        """The writer's answer; None if it closed the connection."""
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._drop()
                raise StoreUnavailable(f"the store's writer did not answer within {timeout_ms} "
                                       "ms")
            poll = select.poll()
            poll.register(sock, select.POLLIN)
            if not poll.poll(max(1, int(left * 1000))):
                continue
            try:
                data = sock.recv(MAX_PACKET)
            except OSError:
                return None
            if not data:
                return None
            reply = msgpack.unpackb(data, raw=False)
            return reply if isinstance(reply, list) else ["StoreUnavailable",
                                                           "malformed answer"]

    def _drop(self) -> None:
        if self._sock is not None and self._pid == os.getpid():
            self._sock.close()
        self._sock = None
        self._retry_at = time.monotonic() + RECONNECT_SECS
