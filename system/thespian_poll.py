"""Thespian's per-pass selector: one poll(2), built from a plain list.

thespian 4.0.1 builds a new `selectors.DefaultSelector()` on every pass of its loop
(TCPTransport._runWithExpiry: "creates selector on each loop, perhaps this could be
optimized"), registers every socket it holds, waits once and closes it. On Linux that is an
epoll: epoll_create, one epoll_ctl per socket, epoll_wait, close. The user stream, the
supervisor and the pool hold a connection to most symbol actors, so each of their passes
registered ~100 sockets: in a py-spy profile at 100 symbols, registering and closing alone
were 16 % of the user stream's samples.

PassPoll is only what Thespian's pass uses: register (a dict entry, no key objects, no
checks in Python), select (one `select.poll()` filled in C, one wait), close. Per pass with
110 sockets, this machine, Python 3.11 (`python -m system.bench.selector`): epoll 303 us,
selectors.PollSelector 178 us, PassPoll 35 us. A pass runs 2-3 times per message an actor
sends or receives, so a process holding ~100 connections saves ~0.3-0.4 ms per message.

What it keeps from epoll, so Thespian's loop sees no difference:
- the readiness reported (selectors' own mapping of poll's bits: an error or hang-up is
  readable and writable, masked by what was registered);
- a closed descriptor raises OSError(EBADF): epoll refuses it at register, which Thespian's
  loop catches and answers by dropping that watch, while poll reports it ready (POLLNVAL)
  on every pass, which would spin; here select raises the same EBADF;
- a negative descriptor raises ValueError at register, which Thespian's loop takes as EBADF.
One difference: registering one descriptor twice ORs the events (selectors raises KeyError,
which would escape Thespian's loop and end the actor; Thespian never does it).

Only Thespian's module sees the swap (its `selectors` name is replaced by a namespace), so
asyncio's loops in the same processes keep their epoll. Installed in the admin's process
before it forks any actor (system/actor_system.py).
"""

from __future__ import annotations

import errno
import math
import os
import select
import selectors
from types import SimpleNamespace

_READ, _WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
_POLL_BITS = {_READ: select.POLLIN, _WRITE: select.POLLOUT,
              _READ | _WRITE: select.POLLIN | select.POLLOUT}


class ReadyKey:
    """The part of a selectors.SelectorKey Thespian reads: the descriptor."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd


class PassPoll:
    """A selector for one pass of Thespian's loop (module docstring)."""

    __slots__ = ("_events",)

    def __init__(self) -> None:
        self._events: dict[int, int] = {}

    def register(self, fd: int, events: int) -> None:
        """Watch `fd` (an int, as Thespian passes) for `events` (EVENT_READ / EVENT_WRITE)."""
        if fd < 0:
            raise ValueError(f"Invalid file descriptor: {fd}")
        self._events[fd] = self._events.get(fd, 0) | events

    def select(self, timeout: float | None = None) -> list[tuple[ReadyKey, int]]:
        """Wait up to `timeout` seconds (None: no limit) for one of the registered events."""
        poll = select.poll()
        for fd, events in self._events.items():
            poll.register(fd, _POLL_BITS[events])
        ms = None if timeout is None else 0 if timeout <= 0 else math.ceil(timeout * 1e3)
        ready = []
        for fd, bits in poll.poll(ms):
            if bits & select.POLLNVAL:
                raise OSError(errno.EBADF, f"{os.strerror(errno.EBADF)}: fd {fd}")
            events = (_WRITE if bits & ~select.POLLIN else 0) | \
                (_READ if bits & ~select.POLLOUT else 0)
            ready.append((ReadyKey(fd), events & self._events[fd]))
        return ready

    def close(self) -> None:
        self._events = {}


def use_poll_in_thespian() -> None:
    """Make Thespian's TCP transport build a PassPoll per pass (idempotent)."""
    from thespian.system.transport import TCPTransport
    if getattr(TCPTransport.selectors, "DefaultSelector", None) is PassPoll:
        return
    TCPTransport.selectors = SimpleNamespace(
        DefaultSelector=PassPoll, EVENT_READ=selectors.EVENT_READ,
        EVENT_WRITE=selectors.EVENT_WRITE)


def thespian_selector() -> type:
    """The selector class Thespian's TCP transport builds in this process."""
    from thespian.system.transport import TCPTransport
    return TCPTransport.selectors.DefaultSelector
