"""Thespian's per-pass selector is one poll(2) built from a plain list, that reports what
epoll reports and refuses a closed descriptor as epoll does (system/thespian_poll.py); only
Thespian's transport sees it."""

from __future__ import annotations

import errno
import selectors
import socket
import time

import pytest

from system.thespian_poll import PassPoll, thespian_selector, use_poll_in_thespian

READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE


@pytest.fixture
def restored(monkeypatch):
    """Thespian's transport module as it was, after the test (this process uses it too)."""
    from thespian.system.transport import TCPTransport
    monkeypatch.setattr(TCPTransport, "selectors", TCPTransport.selectors)


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def ready(cls, registrations, timeout=0):
    """One pass, as Thespian makes it: a new selector, every (fd, events), select, close."""
    sel = cls()
    for fd, events in registrations:
        sel.register(fd, events)
    out = sorted((key.fd, ev) for key, ev in sel.select(timeout))
    sel.close()
    return out


def test_readiness_is_reported_as_by_epoll(pair):
    a, b = pair
    fd = a.fileno()
    for cls in (PassPoll, selectors.EpollSelector):
        assert ready(cls, [(fd, READ)]) == [], cls
        assert ready(cls, [(fd, WRITE)]) == [(fd, WRITE)], cls
        b.send(b"x")
        assert ready(cls, [(fd, READ)]) == [(fd, READ)], cls
        a.recv(1)
    b.send(b"y")
    assert ready(PassPoll, [(fd, READ), (fd, WRITE)]) == \
        ready(selectors.EpollSelector, [(fd, READ | WRITE)]) == [(fd, READ | WRITE)]


def test_only_the_registered_events_of_the_ready_descriptors_come_back(pair):
    a, b = pair
    quiet, q2 = socket.socketpair()
    try:
        b.send(b"x")  # a: readable and writable; quiet: writable only
        regs = [(a.fileno(), READ), (quiet.fileno(), READ)]
        assert ready(PassPoll, regs) == ready(selectors.EpollSelector, regs) == \
            [(a.fileno(), READ)]
    finally:
        quiet.close()
        q2.close()


def test_a_peer_that_hung_up_is_readable_as_with_epoll(pair):
    a, b = pair
    b.close()
    for cls in (PassPoll, selectors.EpollSelector):
        assert ready(cls, [(a.fileno(), READ)]) == [(a.fileno(), READ)], cls


def test_the_timeout_is_waited_when_nothing_is_ready(pair):
    a, _ = pair
    started = time.monotonic()
    assert ready(PassPoll, [(a.fileno(), READ)], timeout=0.05) == []
    assert time.monotonic() - started >= 0.045


def test_a_closed_descriptor_raises_ebadf_instead_of_being_ready_forever():
    epoll = selectors.EpollSelector()  # made first: its fd must not take the closed number
    s = socket.socket()
    fd = s.fileno()
    s.close()
    sel = PassPoll()
    sel.register(fd, READ)
    with pytest.raises(OSError) as e:
        sel.select(5.0)  # POLLNVAL comes back at once: no wait
    assert e.value.errno == errno.EBADF
    sel.close()
    with pytest.raises(OSError) as e:  # what epoll does, at register
        epoll.register(fd, READ)
    assert e.value.errno == errno.EBADF
    epoll.close()


def test_a_negative_descriptor_is_refused_at_register_as_by_selectors():
    # Thespian's loop takes a ValueError from its selector for a bad descriptor (EBADF).
    for cls in (PassPoll, selectors.EpollSelector):
        with pytest.raises(ValueError):
            cls().register(-1, READ)


def test_only_thespians_transport_gets_it_and_installing_twice_is_harmless(restored):
    use_poll_in_thespian()
    use_poll_in_thespian()
    assert thespian_selector() is PassPoll
    assert selectors.DefaultSelector is selectors.EpollSelector  # asyncio's stays epoll
    from thespian.system.transport import TCPTransport
    assert TCPTransport.selectors.EVENT_READ == READ
    assert TCPTransport.selectors.EVENT_WRITE == WRITE


def test_thespians_bad_descriptor_check_still_finds_a_closed_one(restored):
    from thespian.system.transport.TCPTransport import TCPTransport
    use_poll_in_thespian()
    s = socket.socket()
    fd = s.fileno()
    s.close()
    with pytest.raises(OSError):
        TCPTransport._check_fd(fd)
    with socket.socket() as ok:
        TCPTransport._check_fd(ok.fileno())  # an open one passes
