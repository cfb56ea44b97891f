"""The protocol's error table, produced by the simulator, arrives as the listed ccxt classes."""

from __future__ import annotations

import ccxt
import pytest

from venues.binance.ccxt_factory import make_binanceusdm

BTC = "BTC/USDT:USDT"


def _long(ex):
    ex.create_order(BTC, "market", "buy", 0.01)


def _stop(ex, **kw):
    params = {"stopPrice": 59000, "reduceOnly": True}
    params.update(kw)
    return ex.create_order(BTC, "market", "sell", None if kw.get("closePosition") else 0.01,
                           None, params)


def would_trigger(ex, ctl):
    _long(ex)
    _stop(ex, stopPrice=60500)


def reduce_only(ex, ctl):
    ex.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})


def min_notional(ex, ctl):
    ex.create_order(BTC, "market", "buy", 0.001)


def margin(ex, ctl):
    ex.set_leverage(1, BTC)
    ex.create_order(BTC, "market", "buy", 1.0)


def conditional_on_order_endpoint(ex, ctl):
    ex.fapiPrivatePostOrder({"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
                             "quantity": "0.010", "stopPrice": "59000"})


def close_position_twice(ex, ctl):
    _stop(ex, closePosition=True, reduceOnly=False)
    _stop(ex, closePosition=True, reduceOnly=False, stopPrice=58000)


def duplicate_client_id(ex, ctl):
    _long(ex)
    _stop(ex, clientOrderId="dup-1")
    _stop(ex, clientOrderId="dup-1", stopPrice=58000)


def unknown_order_cancel(ex, ctl):
    ex.cancel_order("123", BTC)


def unknown_order_fetch(ex, ctl):
    ex.fetch_order("123", BTC, {"trigger": True})


def stale_timestamp(ex, ctl):
    ex.fapiPrivateV3GetAccount({"timestamp": ex.milliseconds() - 60_000, "recvWindow": 5000})


def bad_signature(ex, ctl):
    ex.secret = "not-the-secret"
    ex.fetch_balance()


def bad_api_key(ex, ctl):
    ex.apiKey = "wrong"
    ex.fetch_balance()


def injected_429(ex, ctl):
    ctl.fail_next("GET", "/fapi/v3/account", code=-1003, status=429, msg="Too many requests.")
    ex.fetch_balance()


def injected_503(ex, ctl):
    ctl.fail_next("GET", "/fapi/v3/account", code=-1001, status=503, msg="Service Unavailable.")
    ex.fetch_balance()


CASES = [
    (would_trigger, -2021, ccxt.OrderImmediatelyFillable),
    (reduce_only, -2022, ccxt.InvalidOrder),
    (min_notional, -4164, ccxt.InvalidOrder),
    (margin, -2019, ccxt.InsufficientFunds),
    (conditional_on_order_endpoint, -4120, ccxt.InvalidOrder),
    (close_position_twice, -4130, ccxt.ExchangeError),
    (duplicate_client_id, -4116, ccxt.InvalidOrder),
    (unknown_order_cancel, -2011, ccxt.OrderNotFound),
    (unknown_order_fetch, -2013, ccxt.OrderNotFound),
    (stale_timestamp, -1021, ccxt.InvalidNonce),
    (bad_signature, -1022, ccxt.AuthenticationError),
    (bad_api_key, -2015, ccxt.AuthenticationError),
    (injected_429, None, ccxt.DDoSProtection),
    (injected_503, -1001, ccxt.OperationFailed),  # ccxt maps the body code first
]


@pytest.mark.parametrize("action,code,exc", CASES, ids=[c[0].__name__ for c in CASES])
def test_error_maps_to_ccxt_exception(ccxt_sync, sim_control, action, code, exc):
    with pytest.raises(exc) as ei:
        action(ccxt_sync, sim_control)
    if code is not None:
        assert f'"code": {code}' in str(ei.value)


def test_factory_rejects_a_base_url_with_a_path():
    with pytest.raises(ValueError):
        make_binanceusdm("http://127.0.0.1:1/fapi", "k", "s")


def test_factory_keeps_the_api_paths(sim):
    ex = make_binanceusdm(sim.url, "k", "s")
    assert ex.urls["api"]["fapiPrivateV3"] == sim.url + "/fapi/v3"
    assert ex.options["fetchCurrencies"] is False
    assert ex.exceptions["exact"]["-2021"] is ccxt.OrderImmediatelyFillable
