"""The venue registry (venues/__init__.py) and what an adapter promises the engine: it is
found by its config name, cheap (no exchange library loaded), picklable (it travels inside
init messages) and states its capabilities and limits."""

from __future__ import annotations

import pickle
import subprocess
import sys
from decimal import Decimal

import pytest

import venues
from system.config import ExchangeConfig
from venue.interface import Capabilities, RateLimits, Venue
from venue.requests import FetchSymbol, PlaceStop, StopRef
from venues.binance import BinanceUsdm


def test_the_configs_exchange_name_finds_its_adapter():
    adapter = venues.adapter(ExchangeConfig().name)

    assert isinstance(adapter, BinanceUsdm) and isinstance(adapter, Venue)
    assert venues.names() == ("binanceusdm", "bybit")


def test_an_unknown_exchange_name_is_refused_naming_the_ones_there_are():
    with pytest.raises(venues.UnknownVenue, match=r"'kraken' is not one of binanceusdm, bybit"):
        venues.adapter("kraken")


def test_every_adapter_is_registered_under_its_own_name_and_states_what_it_can_do():
    for name, cls in venues.ADAPTERS.items():
        assert cls.name == name
        assert isinstance(cls.capabilities, Capabilities)
        assert isinstance(cls.limits, RateLimits)
        assert cls.environments


def test_an_adapter_survives_pickling_as_an_equal_small_object():
    adapter = venues.adapter("binanceusdm")

    data = pickle.dumps(adapter)

    assert pickle.loads(data) == adapter and len(data) < 200


def test_loading_the_registry_and_parsing_a_frame_does_not_import_ccxt():
    # The stream actors and the supervisor hold the venue; only exchange workers may pay
    # ccxt's ~64 MB.
    code = ("import sys, venues; v = venues.adapter('binanceusdm'); "
            "v.parse_frame('{\"e\":\"TRADE_LITE\"}'); v.market_stream_url('ws://h'); "
            "print('ccxt' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_binances_capabilities_are_the_ones_posguard_relies_on():
    caps = BinanceUsdm.capabilities

    assert caps.native_trailing and caps.close_position_stop and caps.stop_history
    assert not caps.amend_in_place
    assert caps.trailing_callback_pct == ("0.1", "10", "0.1")


@pytest.mark.parametrize(("client_id", "ok"), [
    ("pg-12-BTCUSDT-sl-3", True),
    ("a" * 36, True),
    ("a" * 37, False),           # over Binance's 36
    ("", False),
    ("pg 1", False),             # a space is outside ^[.A-Z:/a-z0-9_-]
    ("pg-1-BTC/USDT:x.y_z", True),
])
def test_binances_client_id_rule_is_its_documented_pattern(client_id, ok):
    assert BinanceUsdm.capabilities.client_id_ok(client_id) is ok


def test_binances_request_weights_and_counting_windows():
    limits = BinanceUsdm.limits
    stop = PlaceStop("BTCUSDT", "SELL", Decimal("0.01"), "pg-1-BTCUSDT-sl-1", "STOP_MARKET",
                     Decimal("58800"), "MARK_PRICE")
    refs = (StopRef("c1", None, "STOP_MARKET"), StopRef("c2", "9", "STOP_MARKET"))

    assert limits.order_windows_secs == (10.0, 60.0) and limits.weight_window_secs == 60.0
    assert (limits.weight_code, limits.orders_code) == (-1003, -1015)
    assert limits.weight_of(stop) == 0
    assert limits.weight_of(FetchSymbol("BTCUSDT", refs)) == 7 + 2 * 6


def test_the_mark_price_subscription_is_one_request_for_every_symbol():
    frame = BinanceUsdm().mark_price_subscription(False, ["BTCUSDT", "ETHUSDT"], 7)

    assert frame == ('{"method": "UNSUBSCRIBE", "params": ["btcusdt@markPrice@1s", '
                     '"ethusdt@markPrice@1s"], "id": 7}')
