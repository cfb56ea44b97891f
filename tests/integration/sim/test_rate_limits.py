"""Rate limits over HTTP: live counters in headers, 429 + Retry-After, 418 bans, -1015.

The simulator runs on a ManualClock so the fixed windows turn exactly when the test says.
"""

from __future__ import annotations

import dataclasses

import pytest

from system.clock import ManualClock
from system.sim.client import SimControl
from system.sim.rest import ROUTES
from system.sim.server import SimServer
from system.sim.settings import SimSettings
from tests.integration.sim.rawhttp import Raw

BTC = "BTCUSDT"
SETTINGS = SimSettings(walk_interval_ms=3_600_000, request_weight_per_min=20,
                       orders_per_10s=3, orders_per_min=5, backoff_violations_before_ban=2)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()  # starts on a whole minute


@pytest.fixture
def limited(clock):
    server = SimServer(SETTINGS, clock=clock)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def raw(limited, clock) -> Raw:
    return Raw(limited.url, clock=clock)


def _order(raw, side="BUY"):
    return raw.call("POST", "/fapi/v1/order", {"symbol": BTC, "side": side, "type": "MARKET",
                                                "quantity": "0.002"})


def test_every_reply_carries_the_used_weight_and_orders_their_counts(raw):
    t = raw.call("GET", "/fapi/v1/time", signed=False)
    acc = raw.call("GET", "/fapi/v3/account")
    bad = raw.call("GET", "/fapi/v3/positionRisk", signed=False)  # -1102/-2014: still counted
    missing = raw.call("GET", "/fapi/v9/nothing", signed=False)
    order = _order(raw)

    assert [r.headers["x-mbx-used-weight-1m"] for r in (t, acc, bad, missing)] == [
        "1", "6", "11", "11"]
    assert order.status == 200 and order.headers["x-mbx-used-weight-1m"] == "11"  # weight 0
    assert (order.headers["x-mbx-order-count-10s"], order.headers["x-mbx-order-count-1m"]) == (
        "1", "1")
    assert "x-mbx-order-count-10s" not in acc.headers


def test_weight_depends_on_whether_a_symbol_is_named(raw):
    raw.call("GET", "/fapi/v1/openAlgoOrders", {"symbol": BTC})
    all_symbols = raw.call("GET", "/fapi/v1/openAlgoOrders")

    assert all_symbols.status == 429 and all_symbols.headers["x-mbx-used-weight-1m"] == "41"


def test_past_the_weight_limit_429_with_retry_after_then_served_after_the_wait(raw, clock):
    for _ in range(4):
        assert raw.call("GET", "/fapi/v3/account").status == 200  # 4 x 5 = 20
    clock.advance(15_000)

    r = raw.call("GET", "/fapi/v1/ping", signed=False)

    assert (r.status, r.headers["retry-after"], r.body["code"]) == (429, "45", -1003)
    assert r.body["msg"].startswith("Too many requests; current limit of IP(127.0.0.1) is 20")
    clock.advance(45_000)
    assert raw.call("GET", "/fapi/v1/ping", signed=False).status == 200


def test_a_client_that_keeps_sending_inside_retry_after_is_banned_with_418(raw, clock,
                                                                         limited):
    for _ in range(4):
        raw.call("GET", "/fapi/v3/account")
    assert raw.call("GET", "/fapi/v1/ping", signed=False).status == 429
    assert raw.call("GET", "/fapi/v1/ping", signed=False).status == 429  # 1st violation

    ban = raw.call("GET", "/fapi/v1/ping", signed=False)  # 2nd: banned

    assert (ban.status, ban.headers["retry-after"], ban.body["code"]) == (418, "120", -1003)
    assert "banned until" in ban.body["msg"]
    clock.advance(61_000)  # a fresh minute does not lift a ban
    assert raw.call("GET", "/fapi/v1/time", signed=False).status == 418
    ctl = SimControl(limited.url)
    assert ctl.rate_limits()["ips"]["127.0.0.1"]["bans"] == 1
    clock.advance(60_000)
    assert raw.call("GET", "/fapi/v1/time", signed=False).status == 200


def test_orders_past_the_10s_limit_are_429_minus_1015_and_cost_no_ban(raw, clock):
    for _ in range(3):
        assert _order(raw).status == 200
    clock.advance(2_000)

    r = _order(raw)

    assert (r.status, r.body["code"], r.headers["retry-after"]) == (429, -1015, "8")
    assert r.headers["x-mbx-order-count-10s"] == "3"  # the refused order is not counted
    clock.advance(8_000)
    assert _order(raw, "SELL").status == 200
    assert _order(raw, "SELL").status == 200  # the 1-minute limit (5) is now reached
    minute = _order(raw, "SELL")
    assert minute.status == 429 and "5 orders per 1 MINUTE" in minute.body["msg"]


def test_control_reads_and_resets_the_counters(raw, limited):
    ctl = SimControl(limited.url)
    raw.call("GET", "/fapi/v3/account")
    _order(raw)

    seen = ctl.rate_limits()
    after = ctl.reset_rate_limits()

    assert seen["ips"]["127.0.0.1"]["used_weight_1m"] == 5
    assert seen["orders"] == {"count_10s": 1, "count_1m": 1}
    assert seen["limits"]["request_weight_per_min"] == 20
    assert after["ips"] == {} and after["orders"] == {"count_10s": 0, "count_1m": 0}
    assert ctl.state()["rate_limits"]["ips"] == {}


def test_every_route_has_binances_weight():
    weights = {k: (r.weight, r.weight_all) for k, r in ROUTES.items()}

    assert weights[("GET", "/fapi/v3/positionRisk")] == (5, None)
    assert weights[("GET", "/fapi/v1/openOrders")] == (1, 40)
    assert weights[("GET", "/fapi/v1/positionSide/dual")] == (30, None)
    assert weights[("POST", "/fapi/v1/algoOrder")] == (0, None)
    assert {k for k, r in ROUTES.items() if r.order} == {("POST", "/fapi/v1/order"),
                                                         ("POST", "/fapi/v1/algoOrder")}


def test_the_shared_test_settings_are_not_throttled():
    from tests.fixtures.sim import TEST_SETTINGS
    assert min(TEST_SETTINGS.request_weight_per_min, TEST_SETTINGS.orders_per_10s,
               TEST_SETTINGS.orders_per_min) >= 10**9
    assert dataclasses.replace(TEST_SETTINGS).orders_per_min == TEST_SETTINGS.orders_per_min


def test_exchange_info_publishes_the_limits_the_simulator_enforces(raw):
    limits = {(r["rateLimitType"], r["interval"], r["intervalNum"]): r["limit"]
              for r in raw.call("GET", "/fapi/v1/exchangeInfo", signed=False).body["rateLimits"]}
    assert limits == {("REQUEST_WEIGHT", "MINUTE", 1): 20, ("ORDERS", "MINUTE", 1): 5,
                      ("ORDERS", "SECOND", 10): 3}


def test_exchange_info_follows_the_settings_whose_defaults_are_binances(sim):
    import json
    import urllib.request
    with urllib.request.urlopen(sim.url + "/fapi/v1/exchangeInfo", timeout=5) as r:
        rows = json.load(r)["rateLimits"]
    published = {(r["rateLimitType"], r["intervalNum"]): r["limit"] for r in rows}
    expected = {("REQUEST_WEIGHT", 1): sim.settings.request_weight_per_min,
                ("ORDERS", 1): sim.settings.orders_per_min,
                ("ORDERS", 10): sim.settings.orders_per_10s}
    assert published == expected
    assert SimSettings().request_weight_per_min == 2400
    assert (SimSettings().orders_per_10s, SimSettings().orders_per_min) == (300, 1200)
