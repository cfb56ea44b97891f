"""ws-fapi (/ws-fapi/v1): algoOrder.place / algoOrder.cancel from websocket-client and the SDK."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest
from binance_sdk_derivatives_trading_usds_futures.websocket_api import models as WM

from system.sim.latency import Latency
from system.sim.probe import Probe
from system.sim.server import SimServer
from tests.fixtures.sim import TEST_SETTINGS
from tests.integration.sim.rawhttp import Raw
from tests.integration.sim.wsutil import connect, read_until, ws_url

BTC = "BTC/USDT:USDT"


def _signed(params: dict, key="paper-key", secret="paper-secret") -> dict:
    p = {**params, "apiKey": key, "timestamp": int(time.time() * 1000)}
    text = urlencode(sorted(p.items()))
    return {**p, "signature": hmac.new(secret.encode(), text.encode(),
                                       hashlib.sha256).hexdigest()}


def _call(ws, rid: str, method: str, params: dict) -> dict:
    ws.send(json.dumps({"id": rid, "method": method, "params": params}))
    return read_until(ws, lambda m: m.get("id") == rid, timeout=5)[-1]


STOP = {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL",
        "type": "STOP_MARKET", "triggerPrice": "59000", "closePosition": "true"}


@pytest.fixture
def wsapi(sim, ccxt_sync):
    ccxt_sync.create_order(BTC, "market", "buy", 0.01)  # a position for the stop to close
    ws = connect(sim.url, "/ws-fapi/v1")
    yield ws
    ws.close()


def _aliases(model) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()
            if name != "additional_properties"}


def test_place_then_cancel_over_one_socket_is_the_order_rest_sees(sim, wsapi):
    placed = _call(wsapi, "a1", "algoOrder.place", _signed({**STOP, "clientAlgoId": "ws-1"}))

    assert (placed["id"], placed["status"]) == ("a1", 200)
    result = placed["result"]
    assert result["clientAlgoId"] == "ws-1" and result["algoStatus"] == "NEW"
    assert set(placed) == _aliases(WM.NewAlgoOrderResponse)
    assert set(result) <= _aliases(WM.NewAlgoOrderResponseResult)
    assert all(set(r) == _aliases(WM.CancelOrderResponseRateLimitsInner)
               for r in placed["rateLimits"])
    assert {(r["rateLimitType"], r["interval"]) for r in placed["rateLimits"]} == {
        ("REQUEST_WEIGHT", "MINUTE"), ("ORDERS", "SECOND"), ("ORDERS", "MINUTE")}
    seen = Raw(sim.url).call("GET", "/fapi/v1/algoOrder", {"clientAlgoId": "ws-1"})
    assert seen.status == 200 and seen.body["algoId"] == result["algoId"]

    cancelled = _call(wsapi, "c1", "algoOrder.cancel", _signed({"clientAlgoId": "ws-1"}))

    assert cancelled["status"] == 200 and cancelled["id"] == "c1"
    assert set(cancelled) == _aliases(WM.CancelAlgoOrderResponse)
    assert cancelled["result"] == {"algoId": result["algoId"], "clientAlgoId": "ws-1",
                                   "code": "200", "msg": "success"}
    assert [r["rateLimitType"] for r in cancelled["rateLimits"]] == ["REQUEST_WEIGHT"]
    assert Raw(sim.url).call("GET", "/fapi/v1/openAlgoOrders").body == []


def test_refusals_are_error_replies_with_the_request_id(wsapi):
    bad_sig = {**_signed(STOP), "signature": "0" * 64}
    wrong_key = _signed(STOP, key="other-key")
    unknown = _call(wsapi, "u", "algoOrder.cancel", _signed({"clientAlgoId": "nope"}))

    assert _call(wsapi, "s", "algoOrder.place", bad_sig)["error"]["code"] == -1022
    r = _call(wsapi, "k", "algoOrder.place", wrong_key)
    assert (r["status"], r["error"]["code"]) == (401, -2015)
    assert unknown["status"] == 400 and "result" not in unknown
    m = _call(wsapi, "m", "order.teleport", {})
    assert m["status"] == 400 and m["error"]["code"] == -1000


def test_rate_limits_are_left_out_when_the_client_asks(wsapi):
    r = _call(wsapi, "q", "algoOrder.place",
              _signed({**STOP, "returnRateLimits": "false"}))

    assert r["status"] == 200 and "rateLimits" not in r


def test_the_binance_sdk_places_and_cancels_over_ws_fapi(sim, ccxt_sync):
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        ConfigurationWebSocketAPI,
        DerivativesTradingUsdsFutures,
    )
    ccxt_sync.create_order(BTC, "market", "buy", 0.01)
    config = ConfigurationWebSocketAPI(api_key="paper-key", api_secret="paper-secret",
                                       stream_url=ws_url(sim.url, "/ws-fapi/v1"))
    client = DerivativesTradingUsdsFutures(config_ws_api=config)

    async def run():
        conn = await asyncio.wait_for(client.websocket_api.create_connection(), 5)
        try:
            placed = await asyncio.wait_for(conn.new_algo_order(
                algo_type="CONDITIONAL", symbol="BTCUSDT", side="SELL", type="STOP_MARKET",
                trigger_price=59000.0, close_position="true", client_algo_id="sdk-1"), 5)
            cancelled = await asyncio.wait_for(conn.cancel_algo_order(
                client_algo_id="sdk-1"), 5)
        finally:
            await conn.close_connection(close_session=True)
        return placed, cancelled

    placed, cancelled = asyncio.run(run())

    assert placed.data().result.client_algo_id == "sdk-1"
    assert placed.data().result.trigger_price == "59000.00"
    assert [r.rateLimitType for r in placed.rate_limits][:1] == ["REQUEST_WEIGHT"]
    assert cancelled.data().result.msg == "success"


def test_each_request_pays_one_stream_delay_each_way_on_a_kept_alive_socket():
    delay = 0.060
    settings = dataclasses.replace(TEST_SETTINGS, latency=Latency(
        rest_rtt_ms=2 * delay * 1000, stream_delay_ms=delay * 1000))
    with SimServer(settings) as server:
        Raw(server.url).call("POST", "/fapi/v1/order", {
            "symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"})
        ws = connect(server.url, "/ws-fapi/v1")
        try:
            server.call(lambda s: setattr(s, "probe", Probe()))
            sent = time.monotonic()
            r = _call(ws, "d", "algoOrder.place", _signed({**STOP, "clientAlgoId": "lat-1"}))
            replied = time.monotonic()
            [placed] = server.call(lambda s: s.probe.take())["placements"]
        finally:
            ws.close()

    assert r["status"] == 200
    assert placed["t_mono"] - sent >= delay
    assert replied - placed["t_mono"] >= delay
    assert replied - sent < 2 * delay + 0.150
