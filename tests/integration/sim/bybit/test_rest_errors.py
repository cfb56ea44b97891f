"""Bybit front refusals over loopback: signing, clock, retCodes, 10006, the 403 IP limit, faults.

Raw requests signed by hand (the signed string is Bybit's: ts + key + recvWindow + payload) on
a ManualClock, so windows turn exactly when the test says; ccxt and pybit for what they raise.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json

import ccxt
import pytest
import requests
from pybit.exceptions import FailedRequestError
from pybit.unified_trading import HTTP

from system.clock import ManualClock
from system.sim.client import SimControl
from system.sim.server import SimServer
from tests.fixtures.sim import BYBIT_TEST_SETTINGS, bybit_ccxt_config, point_ccxt_bybit

LIMITED = dataclasses.replace(BYBIT_TEST_SETTINGS, bybit_order_limit_per_sec=2,
                              bybit_read_limit_per_sec=3, bybit_ip_limit_per_5s=8,
                              bybit_ip_ban_secs=600)


class Raw:
    """Hand-signed Bybit v5 requests; the timestamp comes from the simulator's clock."""

    def __init__(self, url: str, clock: ManualClock, key="paper-key", secret="paper-secret"):
        self.url, self.clock, self.key, self.secret = url, clock, key, secret

    def call(self, method: str, path: str, params: dict | None = None, *, ts_shift_ms=0,
             secret: str | None = None, signed=True) -> requests.Response:
        params = params or {}
        payload = (json.dumps(params) if method == "POST"
                   else "&".join(f"{k}={v}" for k, v in params.items()))
        ts = str(self.clock.now_ms() + ts_shift_ms)
        sign = hmac.new((secret or self.secret).encode(),
                        f"{ts}{self.key}5000{payload}".encode(), hashlib.sha256).hexdigest()
        headers = {"X-BAPI-API-KEY": self.key, "X-BAPI-TIMESTAMP": ts,
                   "X-BAPI-RECV-WINDOW": "5000", "X-BAPI-SIGN": sign,
                   "Content-Type": "application/json"} if signed else {}
        url = self.url + path + ("" if method == "POST" or not payload else "?" + payload)
        return requests.request(method, url, data=payload if method == "POST" else None,
                                headers=headers, timeout=5)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def limited(clock):
    server = SimServer(LIMITED, clock=clock)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def raw(limited, clock) -> Raw:
    return Raw(limited.url, clock)


def _code(r: requests.Response) -> int:
    return r.json()["retCode"]


def test_signature_key_and_clock_refusals(raw):
    ok = raw.call("GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"})
    assert ok.status_code == 200 and _code(ok) == 0
    bad = raw.call("GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"},
                   secret="wrong")
    assert (bad.status_code, _code(bad)) == (200, 10004)
    assert bad.json()["retMsg"].startswith("error sign! origin_string[")
    stale = raw.call("GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"},
                     ts_shift_ms=-6000)
    assert _code(stale) == 10002 and "recv_window[5000]" in stale.json()["retMsg"]
    ahead = raw.call("GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"},
                     ts_shift_ms=1500)
    assert _code(ahead) == 10002
    raw.key = "not-our-key"
    assert _code(raw.call("GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"})) \
        == 10003


def test_the_signature_covers_the_raw_body_as_sent(raw):
    body = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market",
            "qty": "0.01"}
    r = raw.call("POST", "/v5/order/create", body)  # json.dumps spacing, like pybit
    assert _code(r) == 0 and r.json()["result"]["orderId"]


def test_ccxt_raises_authentication_error_and_invalid_nonce(bybit_sim):
    s = bybit_sim.settings
    ex = point_ccxt_bybit(ccxt.bybit(bybit_ccxt_config(s.api_key, "wrong")), bybit_sim.url)
    with pytest.raises(ccxt.AuthenticationError, match="10004"):
        ex.fetch_balance()
    ex = point_ccxt_bybit(ccxt.bybit(bybit_ccxt_config(s.api_key, s.api_secret)),
                          bybit_sim.url)
    ex.options["recvWindow"] = 5000
    ex.nonce = lambda: ex.milliseconds() - 60_000  # a client clock a minute behind
    with pytest.raises(ccxt.InvalidNonce, match="10002"):
        ex.fetch_balance()


def test_per_endpoint_limit_10006_with_the_limit_headers(raw, clock):
    order = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market",
             "qty": "0.002"}
    first = raw.call("POST", "/v5/order/create", order)
    assert _code(first) == 0
    assert (first.headers["X-Bapi-Limit"], first.headers["X-Bapi-Limit-Status"]) == ("2", "1")
    assert int(first.headers["X-Bapi-Limit-Reset-Timestamp"]) == (
        clock.now_ms() // 1000 + 1) * 1000
    assert _code(raw.call("POST", "/v5/order/create", order)) == 0
    third = raw.call("POST", "/v5/order/create", order)
    assert (third.status_code, _code(third), third.json()["retMsg"]) == (
        200, 10006, "Too many visits!")
    assert third.headers["X-Bapi-Limit-Status"] == "0"
    # Each endpoint has its own counter: a cancel is still admitted this second.
    assert _code(raw.call("POST", "/v5/order/cancel", {
        "category": "linear", "symbol": "BTCUSDT", "orderLinkId": "none"})) == 110001
    clock.advance(1000)
    assert _code(raw.call("POST", "/v5/order/create", order)) == 0


def test_past_the_ip_limit_403_until_the_ban_ends(raw, clock, limited):
    for _ in range(8):
        assert raw.call("GET", "/v5/market/time", signed=False).status_code == 200
    r = raw.call("GET", "/v5/market/time", signed=False)
    assert r.status_code == 403
    clock.advance(5000)  # a new window, but the ban holds
    assert raw.call("GET", "/v5/market/time", signed=False).status_code == 403
    h = HTTP(api_key="paper-key", api_secret="paper-secret", timeout=5, max_retries=1)
    h.endpoint = limited.url
    with pytest.raises(FailedRequestError) as exc:
        h.get_server_time()
    assert exc.value.status_code == 403
    assert SimControl(limited.url).rate_limits()["ips"]["127.0.0.1"]["banned_until_ms"] > 0
    clock.advance(600_000)
    assert raw.call("GET", "/v5/market/time", signed=False).status_code == 200


def test_injected_failure_and_timeout_on_the_bybit_front(raw, limited):
    control = SimControl(limited.url)
    control.fail_next("POST", "/v5/order/create", code=10016, status=200, msg="Server error.")
    order = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market",
             "qty": "0.002"}
    r = raw.call("POST", "/v5/order/create", order)
    assert (r.status_code, _code(r), r.json()["retMsg"]) == (200, 10016, "Server error.")
    assert control.state()["positions"] == []  # refused before the engine
    control.timeout_next("POST", "/v5/order/create", hold_ms=300)
    with pytest.raises(requests.exceptions.RequestException):
        requests.post(limited.url + "/v5/order/create", timeout=1, data="{}")


def test_parameter_and_engine_refusals_are_retcodes(raw):
    assert _code(raw.call("GET", "/v5/order/realtime", {"category": "linear"})) == 10001
    bad_symbol = raw.call("POST", "/v5/order/create", {
        "category": "linear", "symbol": "NOPEUSDT", "side": "Buy", "orderType": "Market",
        "qty": "1"})
    assert _code(bad_symbol) == 10001
    link = raw.call("POST", "/v5/order/create", {
        "category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market",
        "qty": "0.001", "orderLinkId": "has.a.dot"})
    assert _code(link) == 10001
    assert raw.call("GET", "/v5/nothing", signed=False).status_code == 404
