"""A REST fault can be aimed at the requests carrying one parameter: on Bybit one path
(POST /v5/order/create) places both market orders and conditional stops."""

from __future__ import annotations

import ccxt
import pytest

from system.sim.client import SimControl
from tests.fixtures.sim import BYBIT_TEST_SETTINGS, bybit_ccxt_config, point_ccxt_bybit

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def bybit(bybit_sim):
    ex = ccxt.bybit(bybit_ccxt_config(BYBIT_TEST_SETTINGS.api_key, BYBIT_TEST_SETTINGS.api_secret))
    point_ccxt_bybit(ex, bybit_sim.url)
    ex.load_markets()
    return ex


def _create(ex, **extra):
    return ex.privatePostV5OrderCreate({"category": "linear", "symbol": "BTCUSDT",
                                        "side": "Buy", "orderType": "Market", "qty": "0.010",
                                        **extra})


def test_a_fault_with_a_parameter_skips_requests_without_it_and_hits_the_next_with_it(
        bybit_sim, bybit):
    control = SimControl(bybit_sim.url)
    control.fail_next("POST", "/v5/order/create", code=10016, status=200, msg="Server error.",
                      with_param="triggerPrice")

    opened = _create(bybit)  # a market order: no triggerPrice, not hit
    assert opened["retCode"] == 0
    assert control.state()["faults"]["http"][0]["with_param"] == "triggerPrice"

    with pytest.raises(ccxt.ExchangeError, match="10016"):
        _create(bybit, side="Sell", triggerPrice="50000", triggerDirection=2, reduceOnly=True,
                orderLinkId="pg-main-1-BTCUSDT-sl-2")
    assert control.state()["faults"]["http"] == []
