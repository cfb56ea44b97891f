"""The actor tests' store factory (tests/fakes/memory_stores.py) keeps accounts apart too."""

from __future__ import annotations

from system.clock import ManualClock
from tests.fakes.memory_stores import MemoryStores


def _opened(stores: MemoryStores, symbol: str) -> None:
    stores(stores.epoch, ManualClock()).append(symbol, expected_seq=0, kind="opened",
                                               payload={}, state={}, live=True,
                                               correlation_id="c1")


def test_stores_for_another_account_share_the_database_but_not_the_journal():
    main = MemoryStores(epoch=2)
    by = main.for_account("by")

    _opened(by, "BTCUSDT")

    assert (by.account, by.epoch, by.db) == ("by", 2, main.db)
    assert (main.kinds("BTCUSDT"), by.kinds("BTCUSDT")) == ([], ["opened"])
    store = main(2, ManualClock())
    assert (store.live_symbols(), store.live_accounts()) == ([], {"by": ["BTCUSDT"]})
