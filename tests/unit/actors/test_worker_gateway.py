"""An exchange worker (actors/exchange_worker.ExchangeWorker) gets its Gateway from the venue
adapter in its settings: the simulator's keys in paper mode, the environment's in live mode;
it warms up once and reports the market count. Handlers called directly, sends recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from actors.exchange_worker import ExchangeWorker
from actors.messages import ExchangeSettings, Started, WorkerIdle, WorkerInit
from venue.interface import Credentials
from venues.binance import BinanceUsdm


class _Gateway:
    async def warm_up(self) -> int:
        return 3

    async def close(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class _RecordingVenue(BinanceUsdm):
    """Binance, except that opening a gateway is recorded instead of building ccxt."""

    opened: list[Any]

    async def open_async_gateway(self, environment: str, base_url: str | None,
                                 credentials: Credentials, timeout_ms: int) -> Any:
        self.opened.append((environment, base_url, credentials, timeout_ms))
        return _Gateway()


def _init(worker: ExchangeWorker, settings: ExchangeSettings) -> list[tuple[Any, Any]]:
    sent: list[tuple[Any, Any]] = []
    worker.send = lambda to, msg: sent.append((to, msg))  # type: ignore[method-assign]
    worker.watch_parent = lambda parent: None  # type: ignore[method-assign]
    try:
        worker.receiveMsg_WorkerInit(WorkerInit(settings), "pool")
    finally:
        worker.stop_io()  # its event loop thread
    return sent


def test_a_paper_worker_opens_its_gateway_on_the_simulator_with_the_simulators_keys():
    opened: list[Any] = []
    settings = ExchangeSettings("http://127.0.0.1:5", "simulator", "pk", "ps", "K", "S", 1500,
                                venue=_RecordingVenue(opened))

    sent = _init(ExchangeWorker(), settings)

    assert opened == [("simulator", "http://127.0.0.1:5", Credentials("pk", "ps"), 1500)]
    (_, started), (_, ready) = sent
    assert isinstance(started, Started) and ready == WorkerIdle("warm-up", markets=3)


def test_a_live_worker_reads_its_keys_from_the_environment_variables_named(monkeypatch):
    monkeypatch.setenv("MY_KEY", "live-key")
    monkeypatch.setenv("MY_SECRET", "live-secret")
    opened: list[Any] = []
    settings = ExchangeSettings(None, "demo", "pk", "ps", "MY_KEY", "MY_SECRET", 10_000,
                                venue=_RecordingVenue(opened))

    _init(ExchangeWorker(), settings)

    assert opened == [("demo", None, Credentials("live-key", "live-secret"), 10_000)]


def test_a_live_worker_without_its_keys_fails_naming_the_variable(monkeypatch):
    monkeypatch.delenv("MY_KEY", raising=False)
    settings = ExchangeSettings(None, "live", "pk", "ps", "MY_KEY", "MY_SECRET", 10_000,
                                venue=_RecordingVenue([]))

    with pytest.raises(KeyError, match="MY_KEY"):
        _init(ExchangeWorker(), settings)
