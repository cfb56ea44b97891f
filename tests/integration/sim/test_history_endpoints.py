"""allAlgoOrders, userTrades, algoOpenOrders, client ids, futures permission, over HTTP."""

from __future__ import annotations

import dataclasses

import pytest

from tests.fixtures.sim import TEST_SETTINGS
from tests.integration.sim.rawhttp import Raw

BTC = "BTCUSDT"
DAY_MS = 86_400_000


@pytest.fixture
def raw(sim) -> Raw:
    return Raw(sim.url)


def _long(raw, qty="0.010"):
    return raw.ok("POST", "/fapi/v1/order", {"symbol": BTC, "side": "BUY", "type": "MARKET",
                                              "quantity": qty})


def _stop(raw, trigger="59000", cid=None, **extra):
    p = {"symbol": BTC, "algoType": "CONDITIONAL", "side": "SELL", "type": "STOP_MARKET",
         "quantity": "0.010", "triggerPrice": trigger, "reduceOnly": "true", **extra}
    if cid:
        p["clientAlgoId"] = cid
    return raw.ok("POST", "/fapi/v1/algoOrder", p)


def test_all_algo_orders_lists_cancelled_finished_and_expired_orders(raw, sim_control):
    _long(raw)
    cancelled = _stop(raw, "58000", "c-1")
    raw.ok("DELETE", "/fapi/v1/algoOrder", {"clientAlgoId": "c-1"})
    finished = _stop(raw, "59000", "f-1")
    expired = _stop(raw, "58500", "e-1")  # nothing left to reduce when it fires
    sim_control.set_price(BTC, "58400")
    resting = _stop(raw, "57000", "r-1", reduceOnly="false", quantity="0.010")

    rows = raw.ok("GET", "/fapi/v1/allAlgoOrders", {"symbol": BTC})

    assert [(r["clientAlgoId"], r["algoStatus"]) for r in rows] == [
        ("c-1", "CANCELED"), ("f-1", "FINISHED"), ("e-1", "EXPIRED"), ("r-1", "NEW")]
    fin = rows[1]
    assert fin["algoId"] == finished["algoId"] and fin["actualOrderId"] != ""
    assert fin["actualPrice"] == "58400.00" and fin["triggerTime"] > 0
    assert rows[0]["actualOrderId"] == "" and rows[0]["triggerTime"] == 0
    assert rows[2]["algoId"] == expired["algoId"] and rows[3]["algoId"] == resting["algoId"]
    assert cancelled["algoId"] == rows[0]["algoId"]


def test_all_algo_orders_pages_by_algo_id_and_limit(raw):
    ids = [_stop(raw, str(50000 + i * 100), f"p-{i}", reduceOnly="false")["algoId"]
           for i in range(5)]

    latest = raw.ok("GET", "/fapi/v1/allAlgoOrders", {"symbol": BTC, "limit": 2})
    from_id = raw.ok("GET", "/fapi/v1/allAlgoOrders", {"symbol": BTC, "algoId": ids[1],
                                                        "limit": 3})

    assert [r["algoId"] for r in latest] == ids[3:]
    assert [r["algoId"] for r in from_id] == ids[1:4]


@pytest.mark.parametrize("params,code", [
    ({}, -1102),
    ({"symbol": BTC, "limit": 0}, -1130),
    ({"symbol": BTC, "limit": 1001}, -1130),
    ({"symbol": BTC, "startTime": 2000, "endTime": 1000}, -1023),
    ({"symbol": BTC, "startTime": 0, "endTime": 7 * DAY_MS + 1}, -1127),
    ({"symbol": "NOPEUSDT"}, -1121),
])
def test_all_algo_orders_parameters_are_checked(raw, params, code):
    assert raw.code("GET", "/fapi/v1/allAlgoOrders", params) == code


def test_user_trades_by_order_from_id_and_limit(raw, sim_control):
    first = _long(raw)
    _long(raw, "0.020")
    stop = _stop(raw, "59000")
    sim_control.set_price(BTC, "58990")
    child = raw.ok("GET", "/fapi/v1/algoOrder", {"algoId": stop["algoId"]})["actualOrderId"]

    every = raw.ok("GET", "/fapi/v1/userTrades", {"symbol": BTC})
    of_stop = raw.ok("GET", "/fapi/v1/userTrades", {"symbol": BTC, "orderId": child})
    from_second = raw.ok("GET", "/fapi/v1/userTrades", {"symbol": BTC,
                                                         "fromId": every[1]["id"], "limit": 1})

    assert [t["orderId"] for t in every] == [first["orderId"], every[1]["orderId"],
                                             int(child)]
    assert [(t["price"], t["qty"], t["realizedPnl"]) for t in of_stop] == [
        ("58990.00", "0.010", "-10.10000000")]
    assert [t["id"] for t in from_second] == [every[1]["id"]]
    assert raw.ok("GET", "/fapi/v1/userTrades", {"symbol": "ETHUSDT"}) == []


@pytest.mark.parametrize("params,code", [
    ({}, -1102),
    ({"symbol": BTC, "fromId": 1, "startTime": 1}, -1128),
    ({"symbol": BTC, "limit": 5000}, -1130),
    ({"symbol": BTC, "startTime": 0, "endTime": 8 * DAY_MS}, -1127),
])
def test_user_trades_parameters_are_checked(raw, params, code):
    assert raw.code("GET", "/fapi/v1/userTrades", params) == code


def test_cancel_all_algo_open_orders_of_one_symbol(raw):
    _stop(raw, "58000", "a", reduceOnly="false")
    _stop(raw, "57000", "b", reduceOnly="false")
    eth = raw.ok("POST", "/fapi/v1/algoOrder", {
        "symbol": "ETHUSDT", "algoType": "CONDITIONAL", "side": "SELL", "type": "STOP_MARKET",
        "quantity": "0.010", "triggerPrice": "2900"})

    reply = raw.ok("DELETE", "/fapi/v1/algoOpenOrders", {"symbol": BTC})

    assert reply == {"code": 200, "msg": "The operation of cancel all open order is done."}
    assert [a["algoId"] for a in raw.ok("GET", "/fapi/v1/openAlgoOrders")] == [eth["algoId"]]
    assert raw.code("DELETE", "/fapi/v1/algoOpenOrders", {}) == -1102


def test_algo_order_is_found_and_cancelled_by_client_id_without_symbol(raw):
    a = _stop(raw, "58000", "pg-2-BTCUSDT-stop-7", reduceOnly="false")

    got = raw.ok("GET", "/fapi/v1/algoOrder", {"clientAlgoId": "pg-2-BTCUSDT-stop-7"})
    gone = raw.ok("DELETE", "/fapi/v1/algoOrder", {"algoId": a["algoId"]})

    assert got["algoId"] == a["algoId"] and gone["msg"] == "success"
    assert raw.code("DELETE", "/fapi/v1/algoOrder", {"algoId": a["algoId"]}) == -2011
    assert raw.code("GET", "/fapi/v1/algoOrder", {"algoId": 1}) == -2013
    assert raw.code("GET", "/fapi/v1/algoOrder", {}) == -1102


@pytest.mark.parametrize("path,name,extra", [
    ("/fapi/v1/order", "newClientOrderId", {"type": "MARKET", "quantity": "0.010"}),
    ("/fapi/v1/algoOrder", "clientAlgoId", {"algoType": "CONDITIONAL", "type": "STOP_MARKET",
                                            "quantity": "0.010", "triggerPrice": "70000"}),
])
@pytest.mark.parametrize("cid", ["has space", "x" * 37, "semi;colon", "ünicode"])
def test_client_ids_outside_binances_rule_are_refused_with_minus_1100(raw, path, name, extra,
                                                                       cid):
    r = raw.call("POST", path, {"symbol": BTC, "side": "BUY", name: cid, **extra})

    assert r.status == 400 and r.body["code"] == -1100
    assert r.body["msg"] == (f"Illegal characters found in parameter '{name}'; legal range "
                             "is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")


def test_price_protect_is_accepted_and_echoed(raw):
    a = _stop(raw, "58000", reduceOnly="false", priceProtect="TRUE")

    assert a["priceProtect"] is True
    assert raw.ok("GET", "/fapi/v1/algoOrder", {"algoId": a["algoId"]})["priceProtect"] is True


class TestWithoutFuturesPermission:
    """A key without futures permission: -2015 on every keyed endpoint, public ones serve."""

    @pytest.fixture
    def sim_settings(self):
        return dataclasses.replace(TEST_SETTINGS, futures_trading_enabled=False)

    @pytest.mark.parametrize("method,path,signed", [
        ("GET", "/fapi/v3/account", True), ("POST", "/fapi/v1/order", True),
        ("GET", "/fapi/v1/accountConfig", True), ("POST", "/fapi/v1/listenKey", False)])
    def test_keyed_endpoints_answer_minus_2015(self, raw, method, path, signed):
        r = raw.call(method, path, {"symbol": BTC}, signed=signed)

        assert (r.status, r.body) == (401, {"code": -2015, "msg": "Invalid API-key, IP, or "
                                                                  "permissions for action."})

    def test_public_endpoints_still_answer(self, raw):
        assert raw.ok("GET", "/fapi/v1/time", signed=False)["serverTime"] > 0


def test_list_rows_follow_the_sdk_and_the_sim_state_keeps_the_trailing_parameters(
        raw, sim_control):
    _long(raw)
    raw.ok("POST", "/fapi/v1/algoOrder", {
        "symbol": BTC, "algoType": "CONDITIONAL", "side": "SELL",
        "type": "TRAILING_STOP_MARKET", "quantity": "0.010", "callbackRate": "0.5",
        "activatePrice": "60600", "reduceOnly": "true"})

    (row,) = raw.ok("GET", "/fapi/v1/openAlgoOrders", {"symbol": BTC})
    (truth,) = sim_control.state()["open_algo_orders"]

    # CurrentAllAlgoOpenOrdersResponse declares neither field; the simulator's truth has both.
    assert "callbackRate" not in row and "activatePrice" not in row
    assert (truth["callbackRate"], truth["activatePrice"]) == ("0.5", "60600.00")
