"""Fork preparation (actors/forking.py): run before every symbol actor is created, and it
leaves the child nothing to import and the parent's objects frozen (issue 15, memory).

The supervisor runs without an actor system: createActor and sends are recorded."""

from __future__ import annotations

import gc
import itertools
import json
import subprocess
import sys
import textwrap
from types import SimpleNamespace
from typing import Any

import pytest

import actors.supervisor_children as children
from actors import forking
from actors.messages import SupervisorInit
from actors.supervisor import Supervisor
from actors.symbol import SymbolActor
from persistence.factory import open_instance
from system.clock import ManualClock
from system.config import load_config
from tests.fakes.memory_stores import MemoryStores
from tests.fixtures.engine import REPO
from tests.unit.actors.test_supervisor_table import _Addr
from venues.binance.adapter import BinanceUsdm

CONFIG = load_config(REPO / "config.yaml")


def supervisor(events: list[Any]) -> Supervisor:
    n = itertools.count(100)
    sup = Supervisor()

    def create(cls: Any, **kw: Any) -> _Addr:
        events.append(("create", cls))
        return _Addr(next(n))
    sup.send = lambda to, msg: None  # type: ignore[method-assign]
    sup.createActor = create  # type: ignore[method-assign]
    sup.wakeupAfter = lambda delay, payload=None: None  # type: ignore[method-assign]
    sup.handleDeadLetters = lambda **kw: None  # type: ignore[method-assign]
    sup._recover = lambda: None  # type: ignore[method-assign]
    pool = SimpleNamespace(settings=SimpleNamespace(base_url=None, venue=BinanceUsdm()))
    sup.receiveMessage(SupervisorInit(1, MemoryStores(), pool, CONFIG.protection,
                                      CONFIG.supervisor, None, 60, 1, "paper",
                                      clock=ManualClock()), _Addr(0))
    return sup


def test_every_symbol_actor_is_created_right_after_the_fork_is_prepared(monkeypatch):
    events: list[Any] = []
    monkeypatch.setattr(children, "prepare_fork", lambda: events.append(("prepare", None)))
    sup = supervisor(events)
    events.clear()  # the pool and streams: not symbol actors

    for sym in ("BTCUSDT", "ETHUSDT"):
        sup._ensure(sym, "test")
    child = sup.routes.get("BTCUSDT")
    child.respawn_reason = "operator restart"
    sup._spawn(child, "again")  # a restart forks a new process too

    assert events == [("prepare", None), ("create", SymbolActor)] * 3


@pytest.fixture
def unfrozen():
    yield
    gc.unfreeze()


def test_prepare_freezes_the_parents_objects_and_imports_what_the_child_would(
        monkeypatch, unfrozen):
    monkeypatch.delenv(forking.PREP_ENV, raising=False)
    gc.unfreeze()
    forking.prepare_fork()
    assert gc.get_freeze_count() > 0
    assert all(name in sys.modules for name in forking.AFTER_FORK_IMPORTS)


def test_the_measurement_knob_can_turn_each_step_off(monkeypatch, unfrozen):
    gc.unfreeze()
    monkeypatch.setenv(forking.PREP_ENV, "")
    forking.prepare_fork()
    assert gc.get_freeze_count() == 0
    monkeypatch.setenv(forking.PREP_ENV, "imports, freeze, bogus")
    assert forking.steps() == ("imports", "freeze")
    monkeypatch.delenv(forking.PREP_ENV)
    assert forking.steps() == ("imports", "collect", "freeze")


# What a symbol actor does with its store after the fork (SQLite): attach, load, append.
CHILD_WORK = textwrap.dedent("""
    import json, sys
    from types import SimpleNamespace
    import actors.supervisor, actors.symbol           # what the admin pre-imports
    from actors.forking import prepare_fork
    from system.clock import ManualClock
    cfg = SimpleNamespace(backend="sqlite", sqlite_path=sys.argv[1], postgres_dsn=None)
    from persistence.factory import StoreFactory
    factory = StoreFactory(cfg)
    if sys.argv[2] == "prepared":
        prepare_fork()
    before = set(sys.modules)
    store = factory(int(sys.argv[3]), ManualClock())
    store.load("BTCUSDT")
    store.append("BTCUSDT", expected_seq=0, kind="opened", payload={"q": "1.5"},
                 state={"state": "FLAT"}, live=True, correlation_id="c", created_at_ms=1)
    store.close()
    print(json.dumps(sorted(set(sys.modules) - before)))
""")


def _imported_by_store_work(tmp_path: Any, mode: str) -> list[str]:
    path = str(tmp_path / "s.sqlite3")
    cfg = SimpleNamespace(backend="sqlite", sqlite_path=path, postgres_dsn=None)
    lock, holder = open_instance(cfg, ManualClock())  # the launcher's part, in this process
    lock.release()
    out = subprocess.run([sys.executable, "-c", CHILD_WORK, path, mode, str(holder.epoch)],
                         cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_after_the_preparation_a_symbol_actors_store_work_imports_nothing(tmp_path):
    assert _imported_by_store_work(tmp_path / "a", "bare") != []  # the check can fail
    assert _imported_by_store_work(tmp_path / "b", "prepared") == []
