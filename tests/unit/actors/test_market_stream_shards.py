"""The market stream as shards: the supervisor's side (creation, each shard's part of the
table, a dead shard replaced at its index) and the shard's side (what it subscribes, after a
restart or a reconnect, and how fast it may send control frames).

No actor system and no exchange: the supervisor's sends and creations are recorded (as in
test_supervisor_lifecycle), and the shard's WebSocket is a stand-in that records frames.
"""

from __future__ import annotations

import json
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from thespian.actors import ActorExitRequest, ChildActorExited, WakeupMessage

from actors.market_shards import shard_of
from actors.market_stream import (
    CONTROL_PER_SEC,
    IN_FLIGHT_MAX_SECS,
    MarketStreamActor,
    SyncDue,
)
from actors.messages import (
    Housekeeping,
    ShutdownRequest,
    StreamStatus,
    Subscriptions,
    SupervisorInit,
)
from system.clock import ManualClock
from tests.fakes.memory_stores import MemoryStores
from tests.unit.actors.test_stream_received_mono import _captured
from tests.unit.actors.test_supervisor_lifecycle import CONFIG, Harness, _Addr
from tests.unit.venues.binance.test_events import MARK
from venues.binance.adapter import BinanceUsdm

SHARDS = 3
SYMBOLS = [f"SYM{i:04d}USDT" for i in range(1, 31)]


class ShardedHarness(Harness):
    """A supervisor whose streams are one user stream and SHARDS market shards."""

    def __init__(self) -> None:
        super().__init__(streams=True)

    @staticmethod
    def init(streams: bool, restarts: tuple) -> SupervisorInit:
        pool = SimpleNamespace(settings=SimpleNamespace(base_url=None, venue=BinanceUsdm()))
        return SupervisorInit(1, MemoryStores(), pool, CONFIG.protection,  # type: ignore
                              CONFIG.supervisor, SimpleNamespace(market_shards=SHARDS), 0, 1,
                              "paper", restarts, clock=ManualClock())

    def shards(self) -> list[Any]:
        return [e.address for e in self.sup.others if e.kind == "market_stream"]

    def tables_to(self, addr: Any) -> list[tuple[str, ...]]:
        return [tuple(s for s, _ in m.routes) for to, m in self.sent
                if to == addr and isinstance(m, Subscriptions)]

    def housekeeping(self) -> None:
        self.tell(WakeupMessage(None, Housekeeping()), _Addr(0))


def _expected(index: int, symbols: list[str]) -> tuple[str, ...]:
    return tuple(s for s in symbols if shard_of(s, SHARDS) == index)


def test_the_supervisor_makes_one_user_stream_and_one_actor_per_market_shard():
    h = ShardedHarness()

    assert len(h.shards()) == SHARDS
    assert sum(1 for e in h.sup.others if e.kind == "user_stream") == 1


def test_each_shard_is_sent_only_its_own_symbols_and_the_user_stream_all():
    h = ShardedHarness()
    for s in SYMBOLS:
        h.running(s)

    h.housekeeping()

    for i, addr in enumerate(h.shards()):
        assert h.tables_to(addr)[-1] == _expected(i, SYMBOLS)
    assert h.tables_to(h.sup.user)[-1] == tuple(SYMBOLS)


def test_a_new_symbol_sends_a_table_only_to_the_shard_that_carries_it():
    h = ShardedHarness()
    for s in SYMBOLS[:-1]:
        h.running(s)
    h.housekeeping()
    before = {i: len(h.tables_to(a)) for i, a in enumerate(h.shards())}

    h.running(SYMBOLS[-1])
    h.housekeeping()

    grown = [i for i, a in enumerate(h.shards()) if len(h.tables_to(a)) > before[i]]
    assert grown == [shard_of(SYMBOLS[-1], SHARDS)]


def test_a_dead_shard_is_recreated_at_its_index_and_handed_its_symbols_at_once():
    h = ShardedHarness()
    for s in SYMBOLS:
        h.running(s)
    h.housekeeping()
    dead = h.shards()[1]
    others = [a for a in h.shards() if a != dead]
    sent_to_others = sum(len(h.tables_to(a)) for a in others)

    h.tell(ChildActorExited(dead), _Addr(0))

    new = [a for a in h.shards() if a not in others]
    assert len(new) == 1 and new[0] != dead and len(h.shards()) == SHARDS
    assert h.tables_to(new[0]) == [_expected(1, SYMBOLS)], "no wait for the housekeeping"
    assert h.sup.shards[1] == new[0]
    assert sum(len(h.tables_to(a)) for a in others) == sent_to_others, "others untouched"
    assert next(e for e in h.sup.others if e.address == new[0]).restarts == 1


def test_the_shards_show_as_one_market_stream_with_their_subscriptions_summed():
    h = ShardedHarness()
    shards = h.shards()
    for i, addr in enumerate(shards[:-1]):
        h.tell(StreamStatus("market", "connected", 5, 0, 0, 1_000, None, 10 + i, 100 + i), addr)

    assert h.sup._status().streams[-1].state == "connecting", "one shard has not reported"

    h.tell(StreamStatus("market", "connected", 5, 0, 0, 1_000, None, 7, 102), shards[-1])

    market = [s for s in h.sup._status().streams if s.kind == "market"]
    assert len(market) == 1
    assert (market[0].state, market[0].subscriptions, market[0].frames) == \
        ("connected", 10 + 11 + 7, 15)
    assert sorted(e.pid for e in h.sup.others if e.kind == "market_stream") == [100, 101, 102]


def test_a_shard_exit_while_stopping_is_not_replaced():
    h = ShardedHarness()
    h.sup.stopping = True
    dead = h.shards()[0]

    h.tell(ChildActorExited(dead), _Addr(0))

    assert len(h.created) == 1 + 1 + SHARDS, "pool, user stream, shards: nothing new"


@pytest.mark.parametrize("stop", [ShutdownRequest("launcher"), ActorExitRequest()],
                         ids=["drain", "exit without a drain"])
def test_once_stopping_every_shard_unsubscribes_everything_and_stays_so(stop):
    h = ShardedHarness()
    for s in SYMBOLS:
        h.running(s)
    h.housekeeping()

    h.tell(stop, _Addr(0))
    h.sup.subs_dirty = True  # e.g. a symbol actor exited meanwhile
    h.housekeeping()

    for addr in h.shards():
        assert h.tables_to(addr)[-1] == (), "no symbol gets ticks while posguard stops"
    assert h.tables_to(h.sup.user)[-1] == tuple(SYMBOLS), \
        "the user stream still delivers what settles requests in flight"


# --------------------------------------------------------------------------- the shard


class _RecordingWs:
    """A connected WebSocket stand-in: records every frame sent."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.sock = None

    def send(self, text: str) -> None:
        self.sent.append(json.loads(text))


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _shard() -> tuple[MarketStreamActor, _RecordingWs, list[Any], _Clock]:
    actor = MarketStreamActor()
    _captured(actor)
    timers: list[Any] = []
    actor.wakeupAfter = lambda delay, payload=None: timers.append((delay, payload))  # type: ignore
    clock = _Clock()
    actor.clock = clock
    ws = _RecordingWs()
    actor.ws = ws  # type: ignore[assignment]
    return actor, ws, timers, clock


def _params(frame: dict) -> list[str]:
    return sorted(frame["params"])


def test_a_shard_subscribes_exactly_its_part_in_one_request():
    actor, ws, _, _ = _shard()
    part = tuple((s, f"addr-{s}") for s in SYMBOLS[:5])

    actor.receiveMsg_Subscriptions(Subscriptions(part), "supervisor")

    assert [f["method"] for f in ws.sent] == ["SUBSCRIBE"]
    assert _params(ws.sent[0]) == sorted(f"{s.lower()}@markPrice@1s" for s in SYMBOLS[:5])
    assert actor.subscriptions() == 5


def test_after_a_reconnect_the_shard_subscribes_its_whole_part_again():
    actor, ws, _, clock = _shard()
    actor.receiveMsg_Subscriptions(Subscriptions(tuple((s, 1) for s in SYMBOLS[:4])), "sup")
    clock.t += 2

    actor.subscribed = set()  # a new connection has no subscriptions (open_socket)
    fresh = _RecordingWs()
    actor.ws = fresh  # type: ignore[assignment]
    actor.on_connected()

    assert [f["method"] for f in fresh.sent] == ["SUBSCRIBE"]
    assert len(fresh.sent[0]["params"]) == 4


def test_control_frames_never_exceed_the_budget_in_any_second_and_the_rest_follows():
    actor, ws, timers, clock = _shard()
    sent_at: list[float] = []
    for n in range(1, 13):  # a table that changes far faster than once a second
        before = len(ws.sent)
        actor.receiveMsg_Subscriptions(Subscriptions(tuple((s, 1) for s in SYMBOLS[:n])), "sup")
        sent_at += [clock.t] * (len(ws.sent) - before)
        clock.t += 0.05

    for t in sent_at:
        assert sum(1 for u in sent_at if t <= u < t + 1.0) <= CONTROL_PER_SEC
    assert actor.subscriptions() < 12, "the budget held some changes back"
    assert len(timers) == 1 and isinstance(timers[0][1], SyncDue), "one timer, not one each"

    clock.t += timers[0][0].total_seconds()
    actor.receiveMsg_WakeupMessage(WakeupMessage(timers[0][0], timers[0][1]), "self")

    assert actor.subscriptions() == 12


def test_ticks_go_only_to_the_routed_actors_of_this_shard():
    actor, _, _, _ = _shard()
    routed = {"SYM0001USDT": "a1"}
    actor.routes = dict(routed)
    received: list[tuple[Any, Any]] = []
    actor.send = lambda to, msg: received.append((to, msg))  # type: ignore[method-assign]
    for sym in ("SYM0001USDT", "SYM0002USDT"):
        actor.on_text(json.dumps({**MARK, "s": sym}), 1.0)

    actor.after_drain()

    assert [(to, m.symbol) for to, m in received] == [("a1", "SYM0001USDT")]


class _Transport:
    """Stands in for Thespian's ActorManager: records the intents a shard hands it."""

    def __init__(self) -> None:
        self.intents: list[Any] = []

    def _send_intent(self, intent: Any) -> None:
        self.intents.append(intent)


@pytest.fixture
def tracked(monkeypatch):
    """A shard as in an actor process: its ticks go to the transport with callbacks."""
    monkeypatch.setattr("actors.market_stream.in_actor_process", lambda actor: True)
    actor, _, _, clock = _shard()
    transport = _Transport()
    actor._myRef = transport  # type: ignore[attr-defined]
    actor.routes = {"SYM0001USDT": "a1", "SYM0002USDT": "a2"}
    return actor, transport, clock


def _drain(actor: MarketStreamActor, symbol: str, price: str) -> None:
    actor.on_text(json.dumps({**MARK, "s": symbol, "p": price}), 1.0)
    actor.after_drain()


def _sent(transport: _Transport) -> list[tuple[Any, str, str]]:
    return [(i.targetAddr, i.message.symbol, str(i.message.price)) for i in transport.intents]


def test_one_tick_per_symbol_in_flight_and_the_latest_follows_when_it_is_delivered(tracked):
    actor, transport, _ = tracked
    _drain(actor, "SYM0001USDT", "1.01")
    _drain(actor, "SYM0001USDT", "1.02")  # the first is still in the transport
    _drain(actor, "SYM0001USDT", "1.03")
    _drain(actor, "SYM0002USDT", "2.00")  # another actor is not held back

    assert _sent(transport) == [("a1", "SYM0001USDT", "1.01"), ("a2", "SYM0002USDT", "2.00")]

    actor._tick_done(None, transport.intents[0])  # delivered (or failed: the same)

    assert _sent(transport)[-1] == ("a1", "SYM0001USDT", "1.03"), "the latest, 1.02 never"
    actor._tick_done(None, transport.intents[-1])
    assert len(transport.intents) == 3, "nothing held: nothing more sent"


def test_a_tick_the_transport_never_reports_on_does_not_hold_the_symbol_forever(tracked):
    actor, transport, clock = tracked
    _drain(actor, "SYM0001USDT", "1.01")
    clock.t += IN_FLIGHT_MAX_SECS + 0.1

    _drain(actor, "SYM0001USDT", "1.02")

    assert [p for _, _, p in _sent(transport)] == ["1.01", "1.02"]


# --------------------------------------------------------------------------- ticks as datagrams


def test_a_shard_sends_ticks_to_a_symbols_inbox_and_through_thespian_when_it_cannot():
    """actors/tick_inbox.py: a symbol with an inbox gets its tick as a datagram; with none,
    or one the kernel refuses (gone), the tick goes through Thespian as before."""
    from actors.tick_inbox import TickInbox
    from venue.events import MarkPrice

    actor, _, _, _ = _shard()
    sent = _captured(actor)
    inbox, gone = TickInbox(), TickInbox()
    gone_name = gone.name
    gone.close()
    try:
        a, b, c = SYMBOLS[:3]
        actor.receiveMsg_Subscriptions(Subscriptions(
            ((a, "addr-a"), (b, "addr-b"), (c, "addr-c")),
            inboxes=((a, inbox.name), (b, gone_name))), "supervisor")
        ticks = {s: MarkPrice(s, Decimal("10.5"), 7, received_mono=50.0) for s in (a, b, c)}
        actor.latest.update(ticks)
        actor.after_drain()

        assert inbox.drain() == [ticks[a]]
        # b's inbox is gone, c has none: both through Thespian, to their actors' addresses.
        assert sorted((to, m.symbol) for to, m in sent if isinstance(m, MarkPrice)) == \
            [("addr-b", b), ("addr-c", c)]
        assert actor.outbox is not None and actor.outbox.not_taken == 1  # b's, tried once
    finally:
        inbox.close()


def test_a_supervisor_without_streams_flushes_its_tables_without_cutting_them_into_shards():
    """No shards (streams not started): a changed table is not split over zero shards."""
    h = Harness(streams=False)
    h.running(SYMBOLS[0])
    h.sup.subs_dirty = True

    h.tell(WakeupMessage(None, Housekeeping()), _Addr(0))

    assert h.sup.dying is None, h.sup.dying
    assert h.sup.subs_dirty is False and h.sup.shards == []
