"""Unmodified ccxt.bybit (sync and async) against the simulator's Bybit v5 front over loopback."""

from __future__ import annotations

import asyncio

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from system.sim.client import SimControl
from tests.fixtures.sim import bybit_ccxt_config, point_ccxt_bybit

BTC = "BTC/USDT:USDT"
STOP = {"triggerPrice": 59000, "triggerDirection": "descending", "triggerBy": "MarkPrice",
        "reduceOnly": True, "closeOnTrigger": True, "clientOrderId": "pg-sl-1"}


def _meter(sim) -> dict:
    return SimControl(sim.url, timeout_secs=5.0).state()["unprotected"]


def test_markets_balance_and_positions(ccxt_bybit):
    m = ccxt_bybit.market(BTC)
    assert (m["id"], m["precision"]["price"], m["precision"]["amount"]) == (
        "BTCUSDT", 0.1, 0.001)
    assert m["limits"]["cost"]["min"] == 100 and m["linear"] and m["active"]
    usdt = ccxt_bybit.fetch_balance()["USDT"]
    assert (usdt["total"], usdt["free"], usdt["used"]) == (10000.0, 10000.0, 0.0)
    assert ccxt_bybit.fetch_positions() == []
    [flat] = ccxt_bybit.fetch_positions([BTC])
    assert flat["contracts"] == 0 and flat["side"] is None


def test_market_order_opens_a_position_and_reduce_only_closes_it(ccxt_bybit):
    o = ccxt_bybit.create_order(BTC, "market", "buy", 0.01)
    [pos] = ccxt_bybit.fetch_positions()
    assert (pos["symbol"], pos["contracts"], pos["side"], pos["entryPrice"]) == (
        BTC, 0.01, "long", 60000.0)
    filled = ccxt_bybit.fetch_order(o["id"], BTC, {"acknowledged": True})
    assert filled["status"] == "closed" and filled["filled"] == 0.01
    ccxt_bybit.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})
    assert ccxt_bybit.fetch_positions() == []
    with pytest.raises(ccxt.InvalidOrder, match="110017"):
        ccxt_bybit.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})


def test_conditional_stop_create_query_amend_cancel(ccxt_bybit, bybit_sim):
    ccxt_bybit.create_order(BTC, "market", "buy", 0.01)
    st = ccxt_bybit.create_order(BTC, "market", "sell", 0.01, None, STOP)
    [row] = ccxt_bybit.fetch_open_orders(BTC, None, None, {"trigger": True})
    assert (row["id"], row["clientOrderId"], row["triggerPrice"], row["status"]) == (
        st["id"], "pg-sl-1", 59000.0, "open")
    assert row["info"]["stopOrderType"] == "Stop" and row["reduceOnly"] is True
    edited = ccxt_bybit.edit_order(st["id"], BTC, "market", "sell", None, None,
                                   {"triggerPrice": 59500, "triggerBy": "MarkPrice"})
    assert edited["id"] == st["id"]
    moved = ccxt_bybit.fetch_order(st["id"], BTC, {"acknowledged": True, "trigger": True})
    assert moved["triggerPrice"] == 59500.0 and moved["status"] == "open"
    ccxt_bybit.cancel_order(st["id"], BTC)
    gone = ccxt_bybit.fetch_order(st["id"], BTC, {"acknowledged": True})
    assert gone["status"] == "canceled" and gone["info"]["orderStatus"] == "Deactivated"
    with pytest.raises(ccxt.OrderNotFound, match="110001"):
        ccxt_bybit.edit_order(st["id"], BTC, "market", "sell", None, None,
                              {"triggerPrice": 59600})
    with pytest.raises(ccxt.OrderNotFound, match="110001"):
        ccxt_bybit.cancel_order(st["id"], BTC)


def test_a_stop_that_fires_fills_and_keeps_its_order_id(ccxt_bybit, bybit_sim):
    ccxt_bybit.create_order(BTC, "market", "buy", 0.01)
    st = ccxt_bybit.create_order(BTC, "market", "sell", 0.01, None, STOP)
    SimControl(bybit_sim.url, timeout_secs=5.0).set_price("BTCUSDT", "58900")
    done = ccxt_bybit.fetch_order(st["id"], BTC, {"acknowledged": True})
    assert (done["status"], done["filled"], done["info"]["orderStatus"]) == (
        "closed", 0.01, "Filled")
    assert ccxt_bybit.fetch_positions() == []
    assert _meter(bybit_sim)["coverage_lost_total_ms"] == 0


def test_wrong_side_trigger_and_missing_direction_are_refused(ccxt_bybit):
    ccxt_bybit.create_order(BTC, "market", "buy", 0.01)
    with pytest.raises(ccxt.InvalidOrder, match="110093"):
        ccxt_bybit.create_order(BTC, "market", "sell", 0.01, None,
                                {**STOP, "triggerPrice": 61000})
    with pytest.raises(ccxt.InvalidOrder, match="110072"):
        ccxt_bybit.create_order(BTC, "market", "sell", 0.01, None, STOP)
        ccxt_bybit.create_order(BTC, "market", "sell", 0.01, None, STOP)


def test_trading_stop_attaches_stops_that_follow_the_position(ccxt_bybit, bybit_sim):
    ccxt_bybit.create_order(BTC, "market", "buy", 0.01)
    ccxt_bybit.create_order(BTC, "market", "sell", 0, None, {
        "stopLossPrice": 59000, "tradingStopEndpoint": True, "positionIdx": 0,
        "slTriggerBy": "MarkPrice"})
    [pos] = ccxt_bybit.fetch_positions([BTC])
    assert pos["stopLossPrice"] == 59000.0
    ccxt_bybit.create_order(BTC, "market", "sell", 0, None, {
        "trailingAmount": "300", "trailingTriggerPrice": 61000})
    rows = {o["info"]["stopOrderType"]: o for o in ccxt_bybit.fetch_open_orders(BTC)}
    assert set(rows) == {"StopLoss", "TrailingStop"}
    assert rows["TrailingStop"]["triggerPrice"] == 61000.0  # its activation price
    ccxt_bybit.create_order(BTC, "market", "buy", 0.01)  # the attached stops grow with it
    assert {o["amount"] for o in ccxt_bybit.fetch_open_orders(BTC)} == {0.02}
    ccxt_bybit.create_order(BTC, "market", "sell", 0.02, None, {"reduceOnly": True})
    assert ccxt_bybit.fetch_open_orders(BTC) == []  # gone with the position
    meter = _meter(bybit_sim)
    assert meter["coverage_lost_total_ms"] == 0
    assert meter["per_symbol"]["BTCUSDT"]["count_by_kind"]["opened_uncovered"] == 1


def test_trading_stop_on_a_flat_position_is_refused(ccxt_bybit):
    with pytest.raises(ccxt.BadRequest, match="zero position"):
        ccxt_bybit.create_order(BTC, "market", "sell", 0, None, {
            "stopLossPrice": 59000, "tradingStopEndpoint": True, "positionIdx": 0})


def test_set_leverage_and_its_not_modified(ccxt_bybit):
    assert ccxt_bybit.set_leverage(5, BTC)["retCode"] == 0
    with pytest.raises(ccxt.BadRequest, match="110043"):
        ccxt_bybit.set_leverage(5, BTC)


def test_async_client_runs_the_same_flow(bybit_sim):
    s = bybit_sim.settings

    async def flow():
        ex = point_ccxt_bybit(ccxt_async.bybit(bybit_ccxt_config(s.api_key, s.api_secret)),
                              bybit_sim.url)
        try:
            await ex.load_markets()
            await ex.create_order(BTC, "market", "buy", 0.01)
            st = await ex.create_order(BTC, "market", "sell", 0.01, None, STOP)
            await ex.edit_order(st["id"], BTC, "market", "sell", None, None,
                                {"triggerPrice": 59200})
            got = await ex.fetch_order(st["id"], BTC, {"acknowledged": True, "trigger": True})
            await ex.cancel_order(st["id"], BTC)
            return got, await ex.fetch_positions(), await ex.fetch_balance()
        finally:
            await ex.close()

    got, positions, balance = asyncio.run(asyncio.wait_for(flow(), 20))
    assert got["triggerPrice"] == 59200.0 and got["clientOrderId"] == "pg-sl-1"
    assert [p["contracts"] for p in positions] == [0.01]
    assert balance["USDT"]["total"] < 10000.0  # the fee of the open


def test_ccxt_uta_probe_is_answered(bybit_sim):
    s = bybit_sim.settings
    cfg = bybit_ccxt_config(s.api_key, s.api_secret)
    del cfg["options"]["enableUnifiedAccount"], cfg["options"]["enableUnifiedMargin"]
    ex = point_ccxt_bybit(ccxt.bybit(cfg), bybit_sim.url)
    ex.load_markets()
    assert ex.is_unified_enabled() == [False, True]  # /v5/user/query-api uta 1, account/info 6
    assert ex.fetch_balance()["USDT"]["total"] == 10000.0
