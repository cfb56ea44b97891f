"""The supervisor's side of the sweep's stop check (issue 13): one account-wide read at most
every reconcile.stop_check_min_interval_secs, a StopCheck to each running actor, and a
quarantined symbol whose position has no stop resting is alerted and restarted.

No actor system: handlers are called through the dispatcher; sends, creations and timers are
recorded (addresses are equality-only stand-ins, like Thespian's)."""

from __future__ import annotations

import itertools
import logging
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from actors.child_status import ChildStatus
from actors.messages import (
    AccountSnapshot,
    ExchangeReply,
    FetchAccount,
    FetchPositions,
    PositionInfo,
    StopCheck,
    SupervisorInit,
    SymbolInit,
)
from actors.supervisor import Supervisor
from system.clock import ManualClock
from system.config import load_config
from tests.fakes.machine import stop_info
from tests.fakes.memory_stores import MemoryStores
from tests.fixtures.engine import REPO
from tests.unit.actors.test_supervisor_table import _Addr
from venues.binance.adapter import BinanceUsdm

D = Decimal
CONFIG = load_config(REPO / "config.yaml")


def supervisor(min_interval_secs: float = 10.0) -> tuple[Supervisor, list[tuple[Any, Any]]]:
    sent: list[tuple[Any, Any]] = []
    n = itertools.count(100)
    sup = Supervisor()
    sup.send = lambda to, msg: sent.append((to, msg))  # type: ignore[method-assign]
    sup.createActor = lambda cls, **kw: _Addr(next(n))  # type: ignore[method-assign]
    sup.wakeupAfter = lambda delay, payload=None: None  # type: ignore[method-assign]
    sup.handleDeadLetters = lambda **kw: None  # type: ignore[method-assign]
    sup._recover = lambda: None  # type: ignore[method-assign]
    pool = SimpleNamespace(settings=SimpleNamespace(base_url=None, venue=BinanceUsdm()))
    sup.receiveMessage(SupervisorInit(1, MemoryStores(), pool, CONFIG.protection,
                                      CONFIG.supervisor, None, 60, 1, "paper",
                                      stop_check_min_interval_secs=min_interval_secs,
                                      clock=ManualClock()),
                       _Addr(0))
    return sup, sent


def test_the_stop_check_read_goes_at_most_once_per_min_interval():
    sup, _ = supervisor(min_interval_secs=3600)
    assert [type(sup._sweep_op()) for _ in range(3)] == [FetchAccount, FetchPositions,
                                                         FetchPositions]

    sup, _ = supervisor(min_interval_secs=1)
    sup._sweep_op()
    sup.last_stop_check -= 2  # as if that sweep were 2 s ago
    assert type(sup._sweep_op()) is FetchAccount


def test_each_running_actor_is_sent_what_the_exchange_shows_for_it():
    sup, sent = supervisor()
    child = sup.routes.add("BTCUSDT")
    child.address, child.status = _Addr(7), ChildStatus.RUNNING
    ours = stop_info("pg-1-BTCUSDT-sl-2", "58800")
    snap = AccountSnapshot((PositionInfo("BTCUSDT", D("0.010"), D("60000")),), (ours,), 123)

    sup.receiveMessage(ExchangeReply("r", FetchAccount(), snap, None), _Addr(50))

    checks = [(to, m) for to, m in sent if isinstance(m, StopCheck)]
    assert checks == [(_Addr(7), StopCheck("BTCUSDT", D("0.010"), (ours,), 123,
                                           msg_id=checks[0][1].msg_id,
                                           engine_ms=checks[0][1].engine_ms))]


def test_a_quarantined_symbol_whose_position_has_no_stop_is_alerted_and_restarted(caplog):
    sup, sent = supervisor()
    child = sup.routes.add("BTCUSDT")
    child.status, child.quarantine_reason = ChildStatus.QUARANTINED, "restarted 3 times within 30 s"
    snap = AccountSnapshot((PositionInfo("BTCUSDT", D("0.010"), D("60000")),), (), 123)

    with caplog.at_level(logging.CRITICAL, "posguard.supervisor"):
        sup.receiveMessage(ExchangeReply("r", FetchAccount(), snap, None), _Addr(50))

    assert "ALERT BTCUSDT QUARANTINED and UNPROTECTED" in caplog.text
    inits = [m for _, m in sent if isinstance(m, SymbolInit)]
    assert [(i.symbol, i.reason) for i in inits] == [
        ("BTCUSDT", "sweep: quarantined with no stop on the exchange")]
    assert child.address is not None
