"""The kernel hands every actor that talks to the exchange the configured venue's adapter:
the pool and its workers (ExchangeSettings) and both streams (StreamSettings), picklable as
Thespian needs them."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

from system.config import load_config
from system.kernel import Kernel
from tests.fixtures.engine import REPO
from venues.binance import BinanceUsdm


def test_the_pool_and_the_streams_get_the_configured_venue_and_its_environment(tmp_path):
    kernel = Kernel(load_config(REPO / "config.yaml", [
        f"actor_system.log_file={tmp_path / 'actors.log'}"]))
    kernel.holder, kernel.external_url = SimpleNamespace(epoch=3), "http://127.0.0.1:9"

    init = kernel.supervisor_init()

    settings, streams = init.pool.settings, init.streams
    assert settings.venue == BinanceUsdm() and streams is not None
    assert streams.venue == BinanceUsdm()
    assert (settings.environment, settings.base_url) == ("simulator", "http://127.0.0.1:9")
    assert (streams.rest_url, streams.ws_url) == ("http://127.0.0.1:9", "ws://127.0.0.1:9")
    assert pickle.loads(pickle.dumps(init.pool)) == init.pool
    assert pickle.loads(pickle.dumps(streams)) == streams


def test_live_mode_names_the_venues_environment_and_leaves_its_hosts_to_ccxt(tmp_path):
    kernel = Kernel(load_config(REPO / "config.yaml", [
        "mode=live", "exchange.simulator.embedded=false", "exchange.venue=demo",
        f"actor_system.log_file={tmp_path / 'actors.log'}"]))
    kernel.holder = SimpleNamespace(epoch=3)

    init = kernel.supervisor_init()

    assert (init.pool.settings.environment, init.pool.settings.base_url) == ("demo", None)
    assert init.streams is not None and init.streams.ws_url == "wss://fstream.binancefuture.com"
