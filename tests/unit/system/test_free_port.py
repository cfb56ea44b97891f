"""free_port: a loopback port that is free now and that the kernel does not hand out by
itself (bind to port 0 and connect() draw from the ephemeral range), so a launch seconds
after choosing it does not find it taken by some connection's local port."""

from __future__ import annotations

import socket

import pytest

from system import launched
from system.launched import LOWEST_PORT, ephemeral_range, free_port


def test_the_port_is_below_the_ephemeral_range_and_can_be_bound():
    span = ephemeral_range()
    assert span is not None, "this machine shows /proc/sys/net/ipv4/ip_local_port_range"
    port = free_port()
    assert LOWEST_PORT <= port < span[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # raises if it was not free


def test_a_taken_port_is_skipped(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        span = ephemeral_range()
        assert span is not None
        drawn = iter([busy, busy, span[0] - 1])
        monkeypatch.setattr(launched._PORTS, "randrange", lambda lo, hi: next(drawn))
        assert free_port() == span[0] - 1


@pytest.mark.parametrize("span", [None, (LOWEST_PORT + 10, 60999)])
def test_with_no_room_below_the_range_an_ephemeral_port_is_given(monkeypatch, span):
    real = ephemeral_range()
    assert real is not None
    monkeypatch.setattr(launched, "ephemeral_range", lambda: span)
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
    assert real[0] <= port <= real[1], "not drawn below the range: the kernel's own choice"


def test_the_range_is_read_from_the_kernel_file_and_unreadable_is_none(tmp_path):
    f = tmp_path / "range"
    f.write_text("32768\t60999\n")
    assert ephemeral_range(f) == (32768, 60999)
    f.write_text("garbage\n")
    assert ephemeral_range(f) is None
    assert ephemeral_range(tmp_path / "missing") is None


def test_a_seeded_global_random_does_not_fix_the_ports():
    import random
    state = random.getstate()
    try:
        draws = []
        for _ in range(2):
            random.seed(7)  # as a test might, in each of two test processes
            draws.append(tuple(free_port() for _ in range(3)))
    finally:
        random.setstate(state)
    assert draws[0] != draws[1], "the same ports after the same global seed"
