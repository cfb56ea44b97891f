"""Thespian's per-pass selector is a poll that refuses a closed descriptor as epoll does
(system/thespian_poll.py); only Thespian's transport sees it."""

from __future__ import annotations

import errno
import selectors
import socket

import pytest

from system.thespian_poll import CheckedPollSelector, thespian_selector, use_poll_in_thespian


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


def test_readiness_is_reported_as_by_epoll(pair):
    a, b = pair
    for cls in (CheckedPollSelector, selectors.EpollSelector):
        sel = cls()
        sel.register(a, selectors.EVENT_READ)
        assert sel.select(0) == [], cls
        b.send(b"x")
        assert [(k.fd, ev) for k, ev in sel.select(0)] == [(a.fileno(), selectors.EVENT_READ)]
        a.recv(1)
        sel.modify(a, selectors.EVENT_WRITE)
        assert [(k.fd, ev) for k, ev in sel.select(0)] == [(a.fileno(), selectors.EVENT_WRITE)]
        sel.close()


def test_a_closed_descriptor_raises_ebadf_instead_of_being_ready_forever():
    epoll = selectors.EpollSelector()  # made first: its fd must not take the closed number
    s = socket.socket()
    fd = s.fileno()
    s.close()
    sel = CheckedPollSelector()
    sel.register(fd, selectors.EVENT_READ)
    with pytest.raises(OSError) as e:
        sel.select(5.0)  # POLLNVAL comes back at once: no wait
    assert e.value.errno == errno.EBADF
    sel.close()
    with pytest.raises(OSError) as e:  # what epoll does, at register
        epoll.register(fd, selectors.EVENT_READ)
    assert e.value.errno == errno.EBADF
    epoll.close()


def test_only_thespians_transport_gets_it_and_installing_twice_is_harmless(restored):
    use_poll_in_thespian()
    use_poll_in_thespian()
    assert thespian_selector() is CheckedPollSelector
    assert selectors.DefaultSelector is selectors.EpollSelector  # asyncio's stays epoll
    from thespian.system.transport import TCPTransport
    assert TCPTransport.selectors.EVENT_READ == selectors.EVENT_READ
    assert TCPTransport.selectors.EVENT_WRITE == selectors.EVENT_WRITE


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
