"""What the launcher's start progress reads from the supervisor's status: how many markets
the exchange workers loaded, and which symbols the supervisor recovers from the store."""

from __future__ import annotations

from types import SimpleNamespace

from actors.messages import MarketsLoaded, SupervisorInit, WorkerIdle
from persistence.factory import StoreFactory, attach, open_instance
from system.clock import SystemClock
from system.config import load_config
from venues.binance.gateway import Gateway
from tests.fakes.ccxt_client import FakeClient
from tests.fixtures.engine import REPO
from tests.unit.actors.test_exchange_pool import PoolHarness
from tests.unit.actors.test_supervisor_lifecycle import CONFIG, Harness
from tests.unit.actors.test_supervisor_table import _Addr
from venues.binance.adapter import BinanceUsdm


def test_a_gateways_warm_up_reports_how_many_markets_it_loaded():
    assert Gateway(FakeClient()).warm_up() == 1  # type: ignore[arg-type]


def test_the_pool_passes_a_warm_ups_market_count_up_to_the_supervisor():
    h = PoolHarness(workers=1)

    h.pool.receiveMsg_WorkerIdle(WorkerIdle("warm-up", markets=8), "w0")

    assert ("supervisor", MarketsLoaded(8)) in h.sent


def test_an_ordinary_idle_is_not_taken_for_a_market_count():
    h = PoolHarness(workers=1)

    h.idle("w0", None, rid="r1")

    assert not any(isinstance(m, MarketsLoaded) for _, m in h.sent)


def test_the_status_carries_the_market_count_once_known():
    h = Harness()
    assert h.sup._status().markets is None

    h.tell(MarketsLoaded(8), _Addr(1))

    assert h.sup._status().markets == 8


def test_the_status_names_the_symbols_recovered_from_the_store_once_it_was_read(tmp_path):
    config = load_config(REPO / "config.yaml", [f"store.sqlite_path={tmp_path / 's.sqlite3'}"])
    lock, holder = open_instance(config.store_target(), SystemClock())
    store = attach(config.store_target(), holder.epoch, SystemClock())
    for sym, live in (("ETHUSDT", True), ("BTCUSDT", True), ("XRPUSDT", False)):
        store.append(sym, expected_seq=0, kind="adopted", payload={}, state={"v": 1}, live=live,
                     correlation_id="c")
    store.close()
    h = Harness(initialised=False)
    del h.sup._recover  # the real one: it reads the store
    assert h.sup._status().recovering is None
    pool = SimpleNamespace(settings=SimpleNamespace(base_url=None, venue=BinanceUsdm()))
    try:
        h.tell(SupervisorInit(holder.epoch, StoreFactory(config.store_target()),
                              pool, CONFIG.protection, CONFIG.supervisor,  # type: ignore[arg-type]
                              None, 0, 1, "paper", (), clock=SystemClock()),
               _Addr(0))
    finally:
        lock.release()

    assert h.sup._status().recovering == ("BTCUSDT", "ETHUSDT")
