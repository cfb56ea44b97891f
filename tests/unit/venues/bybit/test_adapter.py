"""The Bybit adapter (venues/bybit/adapter.py): registered under its name, cheap and
picklable, its hosts, capabilities and limits, and the frames it sends on the sockets
(protocol/bybit-linear.md "Hosts", "Private WebSocket", "Public WebSocket", rate-limit.mdx)."""

from __future__ import annotations

import hashlib
import hmac
import json
import pickle
import subprocess
import sys
from decimal import Decimal

import pytest

import venues
from venue.hosts import VenueURLError
from venue.interface import Credentials
from venue.requests import AmendStop, FetchSymbol, PlaceStop, StopRef
from venues.bybit import Bybit
from venues.bybit.stream import ticker_subscriptions

D = Decimal


def test_the_registry_finds_bybit_by_its_name_and_it_pickles_small():
    adapter = venues.adapter("bybit")

    assert isinstance(adapter, Bybit) and "bybit" in venues.names()
    data = pickle.dumps(adapter)
    assert pickle.loads(data) == adapter and len(data) < 200


def test_parsing_a_frame_and_building_urls_does_not_import_ccxt():
    code = ("import sys, venues; from venue.interface import Credentials; "
            "v = venues.adapter('bybit'); "
            "v.parse_frame('{\"topic\":\"wallet\",\"data\":[]}'); "
            "v.market_stream_url('ws://h'); v.user_stream_greeting(Credentials('k', 's'), 1); "
            "print('ccxt' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(("env", "rest", "stream"), [
    ("live", "https://api.bybit.com", "wss://stream.bybit.com"),
    ("demo", "https://api-demo.bybit.com", "wss://stream-demo.bybit.com"),
    ("testnet", "https://api-testnet.bybit.com", "wss://stream-testnet.bybit.com"),
])
def test_each_environment_has_bybits_hosts(env, rest, stream):
    h = Bybit().hosts(env)

    assert (h.venue, h.rest_url, h.stream_base) == (env, rest, stream)


def test_demo_reads_market_data_from_mainnets_public_stream_and_trades_on_its_own():
    v = Bybit()
    base = v.hosts("demo").stream_base

    assert v.market_stream_url(base) == "wss://stream.bybit.com/v5/public/linear"
    assert v.user_stream_url(base, "") == "wss://stream-demo.bybit.com/v5/private"


def test_a_rest_override_serves_the_streams_too_and_a_bad_base_is_refused():
    v = Bybit()
    h = v.hosts("live", rest_url="http://127.0.0.1:8080")

    assert h.stream_base == "ws://127.0.0.1:8080"
    assert v.market_stream_url(h.stream_base) == "ws://127.0.0.1:8080/v5/public/linear"
    with pytest.raises(VenueURLError, match="exchange.rest_url"):
        v.hosts("live", rest_url="http://127.0.0.1:8080/v5")
    with pytest.raises(VenueURLError, match="kraken"):
        v.hosts("kraken")


def test_capabilities_are_bybits():
    caps = Bybit.capabilities

    assert caps.native_trailing and caps.amend_in_place and caps.stop_history
    assert caps.client_id_max_len == 36


@pytest.mark.parametrize(("client_id", "ok"), [
    ("pg-12-BTCUSDT-sl-3", True), ("a_b-C9", True), ("a" * 36, True), ("a" * 37, False),
    ("", False), ("pg.1", False), ("pg:1", False), ("pg/1", False), ("pg 1", False),
])
def test_client_ids_are_bybits_order_link_id_charset(client_id, ok):
    assert Bybit.capabilities.client_id_ok(client_id) is ok


def test_limits_count_per_second_with_the_10006_code_and_the_403_ban():
    lim = Bybit.limits
    stop = PlaceStop("BTCUSDT", "SELL", D("0.01"), "c", "STOP_MARKET", D("1"), "MARK_PRICE")

    assert lim.order_windows_secs == (1.0, 60.0)
    assert (lim.orders_code, lim.weight_code, lim.ban_http_status) == (10006, None, 403)
    assert (lim.weight_window_secs, lim.weight_limit, lim.default_ban_secs) == (5.0, 600, 600.0)
    assert lim.order_ceiling == (8, 480) and lim.cancel_window == (1.0, 8)  # 2/s kept free
    assert lim.weight_of(stop) == 1
    assert lim.weight_of(AmendStop("BTCUSDT", "1", "c", D("2"))) == 1
    assert lim.weight_of(FetchSymbol("BTCUSDT", (StopRef("c", None, "STOP_MARKET"),))) == 4


def test_the_user_stream_has_no_session_key_to_open_or_keep():
    v = Bybit()

    assert v.open_user_stream("https://api.bybit.com", "k", 1.0) == ""
    assert v.keep_user_stream("https://api.bybit.com", "k", "", 1.0) is None
    assert Bybit.user_stream_keepalive is False and Bybit.heartbeat_secs == 20.0


def test_the_greeting_authenticates_with_the_secret_then_subscribes_the_private_topics():
    auth, sub = Bybit().user_stream_greeting(Credentials("KEY", "SECRET"), 1662350400000)

    a = json.loads(auth)
    expires = 1662350400000 + 10_000
    sign = hmac.new(b"SECRET", f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
    assert a["op"] == "auth" and a["args"] == ["KEY", expires, sign]
    assert json.loads(sub)["op"] == "subscribe"
    assert json.loads(sub)["args"] == ["position", "order", "execution", "wallet"]


def test_the_heartbeat_is_bybits_application_ping():
    assert json.loads(Bybit().heartbeat_frame(7)) == {"req_id": "7", "op": "ping"}


def test_mark_prices_are_one_tickers_subscription():
    frame = json.loads(Bybit().mark_price_subscription(True, ["BTCUSDT", "ETHUSDT"], 3))

    assert frame == {"req_id": "3", "op": "subscribe", "args": ["tickers.BTCUSDT",
                                                                "tickers.ETHUSDT"]}
    assert json.loads(Bybit().mark_price_subscription(False, ["BTCUSDT"], 4))["op"] == \
        "unsubscribe"


def test_subscriptions_past_the_21000_character_args_limit_are_split_or_refused():
    symbols = [f"SYM{i:05d}USDT" for i in range(1500)]  # 24 characters a topic

    frames = ticker_subscriptions(True, symbols, 10)

    assert len(frames) == 2
    assert all(len(json.dumps(json.loads(f)["args"])) <= 21_000 for f in frames)
    assert sum(len(json.loads(f)["args"]) for f in frames) == 1500
    assert [json.loads(f)["req_id"] for f in frames] == ["10", "11"]
    with pytest.raises(ValueError, match="21000-character"):
        Bybit().mark_price_subscription(True, symbols, 10)


@pytest.mark.parametrize(("env", "host"), [("live", "https://api.bybit.com"),
                                           ("demo", "https://api-demo.bybit.com"),
                                           ("testnet", "https://api-testnet.bybit.com")])
def test_the_client_is_ccxts_own_environment_switch(env, host):
    from venues.bybit.gateway import build_client

    client = build_client(venue=env, base_url=None, api_key="k", secret="s", timeout_ms=1000)

    assert client.implode_hostname(client.urls["api"]["private"]) == host
    assert client.enableRateLimit is True


def test_the_simulator_client_points_both_v5_keys_at_the_base_unthrottled():
    from venues.bybit.gateway import build_client

    client = build_client(venue="simulator", base_url="http://127.0.0.1:9", api_key="k",
                          secret="s", timeout_ms=1000)

    assert (client.urls["api"]["public"], client.urls["api"]["private"]) == \
        ("http://127.0.0.1:9", "http://127.0.0.1:9")
    assert client.enableRateLimit is False
    with pytest.raises(ValueError, match="unknown venue"):
        build_client(venue="mainnet", base_url=None, api_key="k", secret="s", timeout_ms=1)
