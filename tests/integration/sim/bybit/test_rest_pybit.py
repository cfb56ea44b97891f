"""pybit's HTTP (unmodified, test-only oracle) against the simulator's Bybit v5 front."""

from __future__ import annotations

import dataclasses

import pytest
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

from system.sim.client import SimControl
from tests.fixtures.sim import BYBIT_TEST_SETTINGS


@pytest.fixture
def http(bybit_sim) -> HTTP:
    s = bybit_sim.settings
    h = HTTP(api_key=s.api_key, api_secret=s.api_secret, timeout=5, max_retries=1)
    h.endpoint = bybit_sim.url  # a plain attribute (bybit-linear.md)
    return h


def test_public_and_account_reads(http):
    [row] = http.get_instruments_info(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert row["priceFilter"]["tickSize"] == "0.10" and row["lotSizeFilter"]["qtyStep"] == "0.001"
    assert int(http.get_server_time()["result"]["timeSecond"]) > 0
    [acct] = http.get_wallet_balance(accountType="UNIFIED")["result"]["list"]
    assert acct["coin"][0]["walletBalance"] == "10000"
    assert http.get_positions(category="linear", settleCoin="USDT")["result"]["list"] == []


def test_conditional_stop_by_order_link_id(http):
    http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market",
                     qty="0.01")
    made = http.place_order(category="linear", symbol="BTCUSDT", side="Sell",
                            orderType="Market", qty="0.01", triggerPrice="59000",
                            triggerDirection=2, triggerBy="MarkPrice", reduceOnly=True,
                            closeOnTrigger=True, orderLinkId="pg-sl-2")["result"]
    assert made["orderLinkId"] == "pg-sl-2"
    http.amend_order(category="linear", symbol="BTCUSDT", orderLinkId="pg-sl-2",
                     triggerPrice="59400", qty="0.005")
    [row] = http.get_open_orders(category="linear", symbol="BTCUSDT",
                                 orderFilter="StopOrder")["result"]["list"]
    assert (row["orderId"], row["triggerPrice"], row["qty"], row["orderStatus"]) == (
        made["orderId"], "59400.00", "0.005", "Untriggered")
    assert (row["triggerDirection"], row["triggerBy"], row["stopOrderType"]) == (
        2, "MarkPrice", "Stop")
    http.cancel_order(category="linear", symbol="BTCUSDT", orderLinkId="pg-sl-2")
    with pytest.raises(InvalidRequestError) as exc:
        http.amend_order(category="linear", symbol="BTCUSDT", orderLinkId="pg-sl-2",
                         triggerPrice="59300")
    assert exc.value.status_code == 110001
    history = http.get_order_history(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert [r["orderStatus"] for r in history] == ["Deactivated", "Filled"]  # newest first


def test_trading_stop_shows_on_the_position_and_fires(http, bybit_sim):
    http.place_order(category="linear", symbol="ETHUSDT", side="Sell", orderType="Market",
                     qty="0.1")
    http.set_trading_stop(category="linear", symbol="ETHUSDT", tpslMode="Full",
                          positionIdx=0, stopLoss="3100", slTriggerBy="LastPrice")
    [pos] = http.get_positions(category="linear", symbol="ETHUSDT")["result"]["list"]
    assert (pos["side"], pos["size"], pos["stopLoss"]) == ("Sell", "0.100", "3100.00")
    with pytest.raises(InvalidRequestError) as exc:  # same value again
        http.set_trading_stop(category="linear", symbol="ETHUSDT", tpslMode="Full",
                              positionIdx=0, stopLoss="3100", slTriggerBy="LastPrice")
    assert exc.value.status_code == 34040
    SimControl(bybit_sim.url, timeout_secs=5.0).set_price("ETHUSDT", "3100.5")
    [pos] = http.get_positions(category="linear", symbol="ETHUSDT")["result"]["list"]
    assert (pos["side"], pos["size"], pos["stopLoss"]) == ("", "0", "0")
    [sl] = http.get_order_history(category="linear", symbol="ETHUSDT",
                                  orderFilter="tpslOrder")["result"]["list"]
    assert (sl["stopOrderType"], sl["orderStatus"], sl["cumExecQty"]) == (
        "StopLoss", "Filled", "0.100")


def test_set_leverage(http):
    assert http.set_leverage(category="linear", symbol="BTCUSDT", buyLeverage="10",
                             sellLeverage="10")["retCode"] == 0
    with pytest.raises(InvalidRequestError) as exc:
        http.set_leverage(category="linear", symbol="BTCUSDT", buyLeverage="10",
                          sellLeverage="10")
    assert exc.value.status_code == 110043


def test_open_orders_come_in_pages_of_limit_with_a_cursor(http):
    for sym, qty in (("BTCUSDT", "0.01"), ("ETHUSDT", "0.1")):
        http.place_order(category="linear", symbol=sym, side="Buy", orderType="Market",
                         qty=qty)
        for n in range(3):
            http.place_order(category="linear", symbol=sym, side="Sell", orderType="Market",
                             qty=qty, triggerPrice=str(1000 + n), triggerDirection=2,
                             reduceOnly=True, orderLinkId=f"{sym}-{n}")
    first = http.get_open_orders(category="linear", settleCoin="USDT", limit=4)["result"]
    assert len(first["list"]) == 4 and first["nextPageCursor"]
    rest = http.get_open_orders(category="linear", settleCoin="USDT", limit=4,
                                cursor=first["nextPageCursor"])["result"]
    assert len(rest["list"]) == 2 and rest["nextPageCursor"] == ""
    links = {r["orderLinkId"] for r in first["list"] + rest["list"]}
    assert len(links) == 6


@pytest.mark.parametrize("bybit_settings", [dataclasses.replace(
    BYBIT_TEST_SETTINGS, bybit_order_limit_per_sec=2)])
def test_pybit_waits_out_10006_by_the_reset_header(bybit_sim):
    s = bybit_sim.settings
    h = HTTP(api_key=s.api_key, api_secret=s.api_secret, timeout=5, max_retries=3)
    h.endpoint = bybit_sim.url
    made = [h.place_order(category="linear", symbol="BTCUSDT", side="Buy",
                          orderType="Market", qty="0.002", orderLinkId=f"r-{n}")
            for n in range(3)]
    assert all(m["retCode"] == 0 for m in made)
    times = [int(h.get_order_history(category="linear", symbol="BTCUSDT", orderLinkId=f"r-{n}")
                 ["result"]["list"][0]["createdTime"]) for n in range(3)]
    assert times[2] // 1000 > times[0] // 1000  # the third went in a later second
