"""Ticks as datagrams (actors/tick_inbox.py): real Unix sockets in this process.

What a shard sends arrives whole and in order; junk and strangers are counted, never
applied; a send the kernel does not take (a full queue, an inbox that is gone) says so, so
the shard can send that tick through Thespian instead; and an older tick never replaces a
newer one.
"""

from __future__ import annotations

import os
import socket
from decimal import Decimal

import msgpack
import pytest

from actors.tick_inbox import TickFrameError, TickInbox, TickOutbox, decode, encode, newer
from venue.events import MarkPrice


def _tick(i: int, price: str = "64000.10") -> MarkPrice:
    return MarkPrice("BTCUSDT", Decimal(price), 1_700_000_000_000 + i,
                     received_mono=1000.0 + i)


@pytest.fixture
def pair():
    inbox, outbox = TickInbox(), TickOutbox()
    yield inbox, outbox
    inbox.close()
    outbox.close()


def test_a_tick_survives_the_datagram_exactly():
    tick = _tick(3, "0.000012345678")
    back = decode(encode(tick))
    assert back == tick  # every field, msg_id and engine_ms included
    assert back.price == Decimal("0.000012345678") and isinstance(back.price, Decimal)


def test_sent_ticks_are_drained_oldest_first(pair):
    inbox, outbox = pair
    assert all(outbox.send(inbox.name, _tick(i)) for i in range(5))
    assert [t.event_ms for t in inbox.drain()] == [_tick(i).event_ms for i in range(5)]
    assert inbox.drain() == [] and inbox.rejected == 0 and outbox.sent == 5


@pytest.mark.parametrize("junk, why", [
    (b"\xc1\xc1\xc1", "not msgpack"),
    (msgpack.packb({"price": "1"}), "not a version 1 tick"),
    (msgpack.packb([2, "BTCUSDT", "1", 1, 1.0, 1, "id"]), "not a version 1 tick"),
    (msgpack.packb([1, "BTCUSDT", 64000, 1, 1.0, 1, "id"]), "wrong type"),
    (msgpack.packb([1, "BTCUSDT", "abc", 1, 1.0, 1, "id"]), "not a number"),
    (msgpack.packb([1, "BTCUSDT", "-5", 1, 1.0, 1, "id"]), "not a positive number"),
    (msgpack.packb([1, "BTCUSDT", "NaN", 1, 1.0, 1, "id"]), "not a positive number"),
])
def test_a_datagram_that_is_no_tick_is_counted_and_the_good_ones_still_arrive(pair, junk, why):
    inbox, outbox = pair
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as raw:
        raw.sendto(junk, inbox.name)
    outbox.send(inbox.name, _tick(1))
    assert [t.event_ms for t in inbox.drain()] == [_tick(1).event_ms]
    assert inbox.rejected == 1 and why in (inbox.last_rejection or "")
    with pytest.raises(TickFrameError):
        decode(junk)


def test_a_send_to_an_inbox_that_is_gone_is_not_taken(pair):
    inbox, outbox = pair
    name = inbox.name
    inbox.close()
    assert outbox.send(name, _tick(1)) is False
    assert outbox.not_taken == 1 and outbox.sent == 0


def test_a_full_inbox_refuses_at_once_and_what_it_took_is_intact(pair):
    inbox, outbox = pair
    taken = [i for i in range(200) if outbox.send(inbox.name, _tick(i))]
    assert 0 < len(taken) < 200, "the kernel's queue never filled"  # a busy actor
    assert outbox.not_taken == 200 - len(taken)
    assert [t.event_ms for t in inbox.drain()] == [_tick(i).event_ms for i in taken]
    assert outbox.send(inbox.name, _tick(500)) is True  # drained: room again


def test_the_inbox_name_is_abstract_and_unique():
    a, b = TickInbox(), TickInbox()
    try:
        assert a.name.startswith("\0") and a.name != b.name
    finally:
        a.close()
        b.close()


def test_an_older_tick_never_replaces_a_newer_one():
    assert newer(_tick(5), 1004.0) and newer(_tick(5), 1005.0)
    assert not newer(_tick(3), 1004.0)
    # A tick not from a stream (a test's, received_mono 0) always applies.
    assert newer(MarkPrice("BTCUSDT", Decimal("1"), 1), 1004.0)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to send as another user")
def test_a_tick_from_another_user_is_rejected(pair):
    inbox, _ = pair
    pid = os.fork()
    if pid == 0:  # the child becomes nobody and sends a well-formed tick
        code = 0
        try:
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as raw:
                raw.sendto(encode(_tick(1)), inbox.name)
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert inbox.drain() == []
    assert inbox.rejected == 1 and "from uid 65534" in (inbox.last_rejection or "")


def test_the_symbol_actor_applies_only_ticks_newer_than_the_last_it_applied():
    from actors.symbol_ticks import TickIntake

    class Intake(TickIntake):
        def __init__(self) -> None:
            self.applied: list[int] = []

        def on_tick(self, tick: MarkPrice) -> None:
            self.applied.append(tick.event_ms)

    intake = Intake()
    for i in (1, 3, 2, 4, 4):  # 2 arrives late (it went through Thespian, 3 as a datagram)
        intake.take_tick(_tick(i))
    assert intake.applied == [_tick(i).event_ms for i in (1, 3, 4, 4)]
