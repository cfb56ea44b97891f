"""Binance hosts and stream URLs: one stream base per environment, every path built in
venues/binance/hosts.py."""

from __future__ import annotations

import ast
from pathlib import Path

import binance_common.constants as sdk
import ccxt.pro
import pytest

from system.config import ConfigError, load_config
from venues.binance import hosts as venues
from venues.binance.gateway import build_client

ACTORS = Path(__file__).resolve().parents[4] / "actors"


@pytest.mark.parametrize(("venue", "rest", "stream"), [
    ("live", sdk.DERIVATIVES_TRADING_USDS_FUTURES_REST_API_PROD_URL,
     sdk.DERIVATIVES_TRADING_USDS_FUTURES_WS_STREAMS_PROD_URL),
    ("demo", sdk.DERIVATIVES_TRADING_USDS_FUTURES_REST_API_DEMO_URL, None),
    ("testnet", sdk.DERIVATIVES_TRADING_USDS_FUTURES_REST_API_TESTNET_URL,
     sdk.DERIVATIVES_TRADING_USDS_FUTURES_WS_STREAMS_TESTNET_URL),
])
def test_venue_hosts_are_the_ones_binances_own_sdk_names(venue, rest, stream):
    hosts = venues.BINANCE_HOSTS[venue]
    assert hosts.rest_url == rest
    if stream is not None:
        assert hosts.stream_base == stream


def test_demo_stream_host_is_the_one_ccxt_uses_since_binances_sdk_names_none():
    assert not hasattr(sdk, "DERIVATIVES_TRADING_USDS_FUTURES_WS_STREAMS_DEMO_URL")
    ccxt_demo = ccxt.pro.binanceusdm().urls["demo"]["ws"]["linear"]
    assert venues.BINANCE_HOSTS["demo"].stream_base == ccxt_demo.removesuffix("/ws")


@pytest.mark.parametrize("venue", venues.VENUES)
def test_ccxts_own_venue_switch_lands_on_the_same_rest_host(venue):
    client = build_client(venue=venue, base_url=None, api_key="k", secret="s", timeout_ms=1000)
    for key in ("fapiPublic", "fapiPrivate", "fapiPrivateV3"):
        assert client.urls["api"][key].startswith(venues.BINANCE_HOSTS[venue].rest_url + "/fapi/")


def test_a_base_url_moves_every_usdm_endpoint_of_any_venue_to_that_host():
    client = build_client(venue="demo", base_url="http://127.0.0.1:9", api_key="k",
                          secret="s", timeout_ms=1000)
    assert client.urls["api"]["fapiPrivate"] == "http://127.0.0.1:9/fapi/v1"
    assert client.urls["api"]["fapiPrivateV3"] == "http://127.0.0.1:9/fapi/v3"
    assert client.options["enableDemoTrading"] is True


def test_stream_urls_are_the_current_entry_points_on_the_one_base():
    base = "wss://fstream.binance.com"
    assert venues.market_stream_url(base) == "wss://fstream.binance.com/market/stream"
    assert venues.user_stream_url(base, "k/y+z") == \
        "wss://fstream.binance.com/private/ws?listenKey=k%2Fy%2Bz"
    assert venues.mark_price_stream("BTCUSDT") == "btcusdt@markPrice@1s"


def test_a_rest_override_without_a_stream_override_streams_from_the_same_server():
    hosts = venues.resolve("live", rest_url="http://127.0.0.1:5000")
    assert (hosts.rest_url, hosts.stream_base) == ("http://127.0.0.1:5000", "ws://127.0.0.1:5000")
    hosts = venues.resolve("demo", stream_url="wss://demo-fstream.binance.com")
    assert (hosts.rest_url, hosts.stream_base) == ("https://demo-fapi.binance.com",
                                                   "wss://demo-fstream.binance.com")


@pytest.mark.parametrize(("override", "message"), [
    ("exchange.venue=mainnet", "exchange.venue: 'mainnet' is not allowed"),
    ("exchange.rest_url=https://fapi.binance.com/fapi/v1", "exchange.rest_url: "),
    ("exchange.rest_url=ws://127.0.0.1:5", "exchange.rest_url: "),
    ("exchange.stream_url=wss://fstream.binance.com/ws", "exchange.stream_url: "),
    ("exchange.stream_url=https://fstream.binance.com", "exchange.stream_url: "),
])
def test_a_bad_venue_or_base_is_refused_naming_the_key(tmp_path, override, message):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("mode: paper\n")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_config(cfg, [override])


def _code_strings(path: Path) -> list[str]:
    """String literals of a module that are values, not docstrings or bare comments."""
    tree = ast.parse(path.read_text())
    docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) and id(n) not in docs]


def test_no_actor_spells_a_stream_or_api_path():
    paths = ("/ws", "/stream", "/market", "/private", "/public", "/fapi", "wss://", "https://")
    found = [(p.name, s) for p in sorted(ACTORS.rglob("*.py")) for s in _code_strings(p)
             if any(x in s for x in paths)]
    assert found == []
