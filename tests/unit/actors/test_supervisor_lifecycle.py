"""The supervisor's own life: before its init, while it exits, and the books it keeps.

No actor system: the handlers are called through the dispatcher, and `send`, `createActor`
and `wakeupAfter` are recorded (addresses are equality-only stand-ins, like Thespian's).
"""

from __future__ import annotations

import itertools
import logging
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from thespian.actors import ActorExitRequest, ChildActorExited, WakeupMessage

from actors.child_watch import LostExits
from actors.messages import (
    ChildFailing,
    ClosePosition,
    CommandResult,
    Housekeeping,
    OpenPosition,
    Ready,
    ReconcileRequest,
    RestartSymbol,
    ShutdownRequest,
    Started,
    StateQuery,
    StreamConnected,
    SupervisorInit,
    SymbolInit,
    SymbolView,
    TimingsQuery,
    Where,
    WorkerGone,
)
from actors.supervisor import Supervisor
from system.clock import ManualClock
from system.config import load_config
from tests.fakes.memory_stores import MemoryStores
from tests.fixtures.engine import REPO
from tests.unit.actors.test_supervisor_table import _Addr
from venues.binance.adapter import BinanceUsdm

CLI = _Addr(999)
CONFIG = load_config(REPO / "config.yaml")


class Harness:
    """A Supervisor whose sends, creations and timers are recorded."""

    def __init__(self, initialised: bool = True, streams: bool = False,
                 restarts: tuple[tuple[str, str | None, int], ...] = ()) -> None:
        self.sent: list[tuple[Any, Any]] = []
        self.created: list[tuple[Any, _Addr]] = []
        self.timers: list[Any] = []
        self.fail_create = False
        self.n = itertools.count(1)
        sup = Supervisor()
        sup.send = lambda to, msg: self.sent.append((to, msg))  # type: ignore[method-assign]
        sup.createActor = self._create  # type: ignore[method-assign]
        sup.wakeupAfter = lambda delay, payload=None: self.timers.append(  # type: ignore
            payload)
        sup.handleDeadLetters = lambda **kw: None  # type: ignore[method-assign]
        sup._recover = lambda: None  # type: ignore[method-assign]
        self.sup = sup
        if initialised:
            sup.receiveMessage(self.init(streams, restarts), _Addr(0))

    @staticmethod
    def init(streams: bool, restarts: tuple[tuple[str, str | None, int], ...]
             ) -> SupervisorInit:
        pool = SimpleNamespace(settings=SimpleNamespace(base_url=None, venue=BinanceUsdm()))
        return SupervisorInit(1, MemoryStores(), pool, CONFIG.protection,  # type: ignore
                              CONFIG.supervisor, object() if streams else None, 0, 1, "paper",
                              restarts, clock=ManualClock())

    def _create(self, cls: Any, **kw: Any) -> _Addr:
        if self.fail_create:
            raise RuntimeError("cannot create an actor now")
        addr = _Addr(next(self.n))
        self.created.append((cls, addr))
        return addr

    def tell(self, msg: Any, sender: Any = CLI) -> None:
        self.sup.receiveMessage(msg, sender)

    def kind_address(self, kind: str) -> Any:
        return next(e.address for e in self.sup.others if e.kind == kind)

    def running(self, symbol: str) -> Any:
        """Create `symbol`'s actor and have it report Ready; its address."""
        self.tell(Where(symbol, create=True))
        child = self.sup.routes.get(symbol)
        assert child is not None and child.address is not None
        self.tell(Ready(symbol, 1, "RECONCILING", 4242), child.address)
        return child.address

    def inits(self) -> list[SymbolInit]:
        return [m for _, m in self.sent if isinstance(m, SymbolInit)]

    def replies(self) -> list[Any]:
        return [m for to, m in self.sent if to == CLI]


def _view(symbol: str, state: str) -> SymbolView:
    return SymbolView(symbol, state, "long", "0.010", "60000", "60000", "58800", "1", "pg-1",
                      False, None, 3, None, 0, 4242)


# --------------------------------------------------------------------------- before the init


def test_an_uninitialised_supervisor_refuses_every_command_with_starting_and_stores_nothing():
    h = Harness(initialised=False)
    commands = [OpenPosition("ETHUSDT", "long", Decimal("0.1"), "c-1"), ClosePosition("ETHUSDT"),
                ReconcileRequest("ETHUSDT", "operator"), RestartSymbol("ETHUSDT"),
                Where("ETHUSDT", create=True), StateQuery("ETHUSDT"), TimingsQuery("ETHUSDT"),
                ShutdownRequest("posguard shutdown (CLI)")]

    for msg in commands:
        h.tell(msg)

    replies = h.replies()
    assert len(replies) == len(commands)
    for msg, reply in zip(commands, replies, strict=True):
        detail = getattr(reply, "detail", "")
        assert "starting" in detail and "try again" in detail, (msg, reply)
        assert getattr(reply, "ok", None) is not True and getattr(reply, "address", None) is None
    assert h.sup.routes.children == {}
    assert h.created == [] and not h.sup.stopping


def test_after_its_init_a_supervisor_that_refused_commands_serves_them():
    h = Harness(initialised=False)
    h.tell(OpenPosition("ETHUSDT", "long", Decimal("0.1"), "c-1"))
    h.tell(h.init(False, ()), _Addr(0))

    h.tell(OpenPosition("ETHUSDT", "long", Decimal("0.1"), "c-2"))

    child = h.sup.routes.get("ETHUSDT")
    assert child is not None and child.address is not None
    assert [i.symbol for i in h.inits()] == ["ETHUSDT"]


def test_a_failed_actor_creation_stores_no_entry_and_later_reconnects_send_to_no_one():
    h = Harness()
    h.fail_create = True

    with pytest.raises(RuntimeError):  # the handler itself (the guarded receive would end
        # the supervisor: tests/unit/actors/test_lifecycle.py)
        h.sup.receiveMsg_OpenPosition(OpenPosition("ETHUSDT", "long", Decimal("0.1"), "c-1"),
                                      CLI)
    h.tell(StreamConnected("user", 2))

    assert h.sup.routes.get("ETHUSDT") is None
    assert [to for to, _ in h.sent if to is None] == []


# --------------------------------------------------------------------------- exiting


def test_after_an_actor_exit_request_no_child_exit_respawns_anything():
    h = Harness(streams=True)
    symbol = h.running("BTCUSDT")
    pool, user = h.kind_address("exchange_pool"), h.kind_address("user_stream")
    created, timers = len(h.created), len(h.timers)

    h.tell(ActorExitRequest(), _Addr(0))
    for addr in (symbol, pool, user):
        h.tell(ChildActorExited(addr), _Addr(0))

    assert len(h.created) == created, "a child was created while the supervisor exits"
    assert h.timers[timers:] == [], "a respawn was scheduled while the supervisor exits"
    assert [m for _, m in h.sent if isinstance(m, ActorExitRequest)] == []
    assert h.sup.routes.alive() == []


def test_a_respawn_timer_that_fires_after_the_exit_request_creates_nothing():
    h = Harness()
    symbol = h.running("BTCUSDT")
    h.tell(ChildActorExited(symbol), _Addr(0))
    respawn = h.timers[-1]
    h.tell(ActorExitRequest(), _Addr(0))
    created = len(h.created)

    h.tell(WakeupMessage(timedelta(seconds=0), respawn), _Addr(0))

    assert len(h.created) == created


# --------------------------------------------------------------------------- bookkeeping


def test_the_symbol_actors_answer_to_the_supervisors_reconcile_is_taken_silently(caplog):
    h = Harness()
    symbol = h.running("BTCUSDT")

    with caplog.at_level(logging.INFO, logger="posguard.supervisor"):
        h.tell(CommandResult("BTCUSDT", "abc", "accepted", "reconciling", 3), symbol)

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_the_last_exit_reason_clears_once_the_restarted_actor_is_settled():
    h = Harness()
    first = h.running("BTCUSDT")
    h.tell(ChildFailing("BTCUSDT", "store write failed"), first)
    h.tell(ChildActorExited(first), _Addr(0))
    h.tell(WakeupMessage(timedelta(0), h.timers[-1]), _Addr(0))
    child = h.sup.routes.get("BTCUSDT")
    h.tell(Ready("BTCUSDT", 3, "RECONCILING", 4243), child.address)
    h.tell(_view("BTCUSDT", "RECONCILING"), child.address)
    assert "store write failed" in (h.sup.routes.get("BTCUSDT").entry().last_exit_reason or "")

    h.tell(_view("BTCUSDT", "PROTECTED"), child.address)

    entry = h.sup.routes.get("BTCUSDT").entry()
    assert entry.last_exit_reason is None
    assert entry.restarts == 1


def test_restart_counters_carried_by_the_launcher_seed_a_recreated_supervisor():
    h = Harness(streams=True, restarts=(("symbol", "BTCUSDT", 2), ("user_stream", None, 1),
                                        ("exchange_pool", None, 3)))

    h.running("BTCUSDT")
    h.running("ETHUSDT")

    by_key = {(e.kind, e.symbol): e.restarts for e in h.sup._status().actors}
    assert by_key[("symbol", "BTCUSDT")] == 2
    assert by_key[("symbol", "ETHUSDT")] == 0
    assert by_key[("user_stream", None)] == 1
    assert by_key[("exchange_pool", None)] == 3
    assert by_key[("market_stream", None)] == 0


def test_symbol_actors_restarted_because_the_pool_died_are_journaled_with_that_cause():
    h = Harness()
    symbol = h.running("BTCUSDT")
    pool = h.kind_address("exchange_pool")
    h.tell(ChildFailing(None, "gateway crashed"), pool)
    h.tell(ChildActorExited(pool), _Addr(0))
    assert (symbol, ActorExitRequest()) in [(to, m) for to, m in h.sent
                                            if isinstance(m, ActorExitRequest)]

    h.tell(ChildActorExited(symbol), _Addr(0))

    reason = h.inits()[-1].reason
    assert "exchange pool" in reason and "gateway crashed" in reason, reason
    assert "operator" not in reason
    entries = {e.kind: e for e in h.sup._status().actors}
    assert entries["exchange_pool"].restarts == 1


def test_a_symbol_actor_restarted_after_it_died_is_journaled_with_its_exit_reason():
    h = Harness()
    symbol = h.running("BTCUSDT")
    h.tell(ChildFailing("BTCUSDT", "store write failed"), symbol)
    h.tell(ChildActorExited(symbol), _Addr(0))

    h.tell(WakeupMessage(timedelta(0), h.timers[-1]), _Addr(0))

    assert "store write failed" in h.inits()[-1].reason


def test_an_operator_restart_is_journaled_as_one():
    h = Harness()
    symbol = h.running("BTCUSDT")
    h.tell(RestartSymbol("BTCUSDT"))

    h.tell(ChildActorExited(symbol), _Addr(0))

    assert h.inits()[-1].reason == "operator restart"
    assert h.sup.routes.get("BTCUSDT").last_exit_reason == "operator restart"


def test_a_dead_workers_pid_is_dropped_when_the_pool_reports_it_gone():
    h = Harness()
    pool = h.kind_address("exchange_pool")
    for pid in (101, 102):
        h.tell(Started("exchange_worker", pid), pool)

    h.tell(WorkerGone(101, "exit notice"), pool)

    workers = [e.pid for e in h.sup._status().actors if e.kind == "exchange_worker"]
    assert workers == [102]



def test_an_exit_request_to_a_supervisor_outside_an_actor_process_arms_no_process_end():
    # The exit timer ends its process (actors/supervisor.py _end_after): in a unit test's
    # own process it would end the test run, silently, with exit code 0.
    import threading

    from actors.supervisor import EXIT_TIMER_NAME
    h = Harness()

    h.tell(ActorExitRequest(), _Addr(0))

    assert [t for t in threading.enumerate() if t.name == EXIT_TIMER_NAME] == []


def test_a_child_dead_without_an_exit_notice_is_replaced_on_housekeeping():
    # Thespian merges the notices of children dying together (all 8 shards SIGKILLed: 7 came).
    h = Harness(streams=True)
    h.sup.lost_exits = LostExits(grace_secs=0.0)
    shard, user = h.kind_address("market_stream"), h.kind_address("user_stream")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=30)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        h.tell(Started("market_stream", dead.pid), shard)
        h.tell(Started("user_stream", live.pid), user)
        h.tell(WakeupMessage(timedelta(seconds=1), Housekeeping()), _Addr(0))

        shards = [e for e in h.sup.others if e.kind == "market_stream"]
        assert [e.address for e in shards] != [shard] and len(shards) == 1, shards
        assert shards[0].restarts == 1 and h.sup.shards == [shards[0].address]
        assert h.kind_address("user_stream") == user  # alive: left alone
        # The real notice, late: nothing more is replaced.
        h.tell(ChildActorExited(shard), _Addr(0))
        assert [e.address for e in h.sup.others if e.kind == "market_stream"] == \
            [shards[0].address]
    finally:
        live.kill()
        live.wait(timeout=10)


# --------------------------------------------------------------------------- whose message


def test_a_symbol_actors_report_is_taken_only_from_that_symbols_current_actor():
    # Thespian's TCP addresses are host:port, and a port freed by a dead actor can be given
    # to a new actor of another symbol: a report still on its way from the dead one then
    # comes from the new one's address. The supervisor matches the symbol it names, never
    # the address alone.
    h = Harness()
    eth, btc = h.running("ETHUSDT"), h.running("BTCUSDT")
    h.tell(_view("BTCUSDT", "PROTECTED"), btc)
    h.tell(_view("ETHUSDT", "PROTECTED"), eth)

    h.tell(_view("ETHUSDT", "CLOSING"), btc)   # names ETHUSDT, from BTCUSDT's actor
    h.tell(Ready("ETHUSDT", 9, "RECONCILING", 1111, tick_inbox="\0elsewhere"), btc)
    h.tell(ChildFailing("ETHUSDT", "crashed on X"), btc)

    routes = h.sup.routes
    assert (routes.get("BTCUSDT").view.symbol, routes.get("BTCUSDT").view.state) == \
        ("BTCUSDT", "PROTECTED")
    assert routes.get("ETHUSDT").view.state == "PROTECTED"
    assert routes.get("BTCUSDT").tick_inbox is None and routes.get("ETHUSDT").tick_inbox is None
    assert routes.get("BTCUSDT").last_exit_reason is None
    assert routes.get("ETHUSDT").last_exit_reason is None


def test_a_symbol_actors_reports_from_its_own_address_are_taken():
    h = Harness()
    eth = h.running("ETHUSDT")

    h.tell(_view("ETHUSDT", "CLOSING"), eth)
    h.tell(ChildFailing("ETHUSDT", "crashed on X"), eth)

    child = h.sup.routes.get("ETHUSDT")
    assert child.view.state == "CLOSING" and child.last_exit_reason == "crashed on X"
