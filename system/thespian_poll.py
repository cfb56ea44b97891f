"""Thespian's per-pass selector: poll(2) instead of epoll.

thespian 4.0.1 builds a new `selectors.DefaultSelector()` on every pass of its loop
(TCPTransport._runWithExpiry: "creates selector on each loop, perhaps this could be
optimized"), registers every socket it holds, waits once and closes it. On Linux that is an
epoll: epoll_create, one epoll_ctl per socket, epoll_wait, close. The user stream, the
supervisor and the pool hold a connection to most symbol actors, so each of their passes
registered ~100 sockets: in a py-spy profile at 100 symbols, registering and closing alone
were 16 % of the user stream's samples. poll(2) takes the whole list in one call: 204 against
383 us per pass with 110 sockets, 14 against 32 us with 6 (this machine, Python 3.11).

One difference is kept away from Thespian: epoll refuses a closed descriptor when it is
registered (EBADF), which Thespian's loop catches and answers by dropping that watch, while
poll reports it as ready (POLLNVAL) on every pass, which would spin. CheckedPollSelector
raises the same EBADF from select.

Only Thespian's module sees the swap (its `selectors` name is replaced by a namespace), so
asyncio's loops in the same processes keep their epoll. Installed in the admin's process
before it forks any actor (system/actor_system.py).
"""

from __future__ import annotations

import errno
import os
import select
import selectors
from types import SimpleNamespace
from typing import Any


class CheckedPollSelector(selectors.PollSelector):
    """A PollSelector whose select raises OSError(EBADF) for a descriptor that is not open,
    as EpollSelector.register does."""

    def __init__(self) -> None:
        super().__init__()
        self._selector = _CheckedPoll(self._selector)


class _CheckedPoll:
    """select.poll(), raising EBADF where it would report POLLNVAL."""

    __slots__ = ("_poll",)

    def __init__(self, poll: Any) -> None:
        self._poll = poll

    def register(self, fd: int, events: int) -> None:
        self._poll.register(fd, events)

    def modify(self, fd: int, events: int) -> None:
        self._poll.modify(fd, events)

    def unregister(self, fd: int) -> None:
        self._poll.unregister(fd)

    def poll(self, timeout: Any = None) -> list[tuple[int, int]]:
        ready = self._poll.poll(timeout)
        for fd, event in ready:
            if event & select.POLLNVAL:
                raise OSError(errno.EBADF, f"{os.strerror(errno.EBADF)}: fd {fd}")
        return ready


def use_poll_in_thespian() -> None:
    """Make Thespian's TCP transport build a CheckedPollSelector per pass (idempotent)."""
    from thespian.system.transport import TCPTransport
    if getattr(TCPTransport.selectors, "DefaultSelector", None) is CheckedPollSelector:
        return
    TCPTransport.selectors = SimpleNamespace(
        DefaultSelector=CheckedPollSelector, EVENT_READ=selectors.EVENT_READ,
        EVENT_WRITE=selectors.EVENT_WRITE)


def thespian_selector() -> type:
    """The selector class Thespian's TCP transport builds in this process."""
    from thespian.system.transport import TCPTransport
    return TCPTransport.selectors.DefaultSelector
