"""Every call of the protocol table through unmodified ccxt.binanceusdm, sync and async."""

from __future__ import annotations

import asyncio

import ccxt

BTC = "BTC/USDT:USDT"


def test_sync_ccxt_full_round(ccxt_sync, sim_control):
    ex = ccxt_sync
    assert BTC in ex.markets and "RSR/USDT:USDT" in ex.markets
    assert ex.markets[BTC]["precision"]["price"] == 0.1
    assert ex.fetch_time() > 0
    assert ex.fetch_balance()["USDT"]["free"] == 10000.0
    assert ex.set_leverage(5, BTC)["leverage"] == 5
    o = ex.create_order(BTC, "market", "buy", 0.01)
    # POST /fapi/v1/order carries no avgPrice (the SDK's NewOrderResponse, since 14.0.0):
    # the fill price is read back with GET /fapi/v1/order.
    assert o["status"] == "closed" and o["filled"] == 0.01 and o["average"] is None
    pos = ex.fetch_positions()
    assert [(p["symbol"], p["side"], p["contracts"]) for p in pos] == [(BTC, "long", 0.01)]
    got = ex.fetch_order(o["id"], BTC)
    assert got["status"] == "closed" and got["average"] == 60000.0
    sl = ex.create_order(BTC, "market", "sell", 0.01, None,
                         {"stopPrice": 59000, "reduceOnly": True})
    assert sl["status"] == "open" and sl["triggerPrice"] == 59000.0
    tr = ex.create_order(BTC, "market", "sell", 0.01, None,
                         {"trailingPercent": 1, "trailingTriggerPrice": 60100,
                          "reduceOnly": True})
    cp = ex.create_order(BTC, "market", "sell", None, None,
                         {"stopPrice": 58000, "closePosition": True})
    open_trig = ex.fetch_open_orders(BTC, params={"trigger": True})
    assert sorted(x["id"] for x in open_trig) == sorted([sl["id"], tr["id"], cp["id"]])
    assert ex.fetch_open_orders(BTC) == []
    assert ex.fetch_order(tr["id"], BTC, {"trigger": True})["status"] == "open"
    ex.cancel_order(cp["id"], BTC, {"trigger": True})
    ex.cancel_order(tr["id"], BTC, {"trigger": True})
    assert ex.fetch_order(cp["id"], BTC, {"trigger": True})["status"] == "canceled"
    sim_control.set_price("BTCUSDT", 58900)
    assert ex.fetch_order(sl["id"], BTC, {"trigger": True})["status"] == "closed"
    assert ex.fetch_positions() == []
    state = sim_control.state()
    assert state["open_algo_orders"] == [] and len(state["fills"]) == 2


def test_sync_cancel_of_a_working_plain_order(ccxt_sync, sim_control):
    sim_control.partial_fill("ETHUSDT", 0.5, 60_000)
    o = ccxt_sync.create_order("ETH/USDT:USDT", "market", "buy", 0.1)
    assert o["status"] == "open" and o["filled"] == 0.05
    assert [x["id"] for x in ccxt_sync.fetch_open_orders("ETH/USDT:USDT")] == [o["id"]]
    c = ccxt_sync.cancel_order(o["id"], "ETH/USDT:USDT")
    assert c["status"] == "canceled"


def test_async_ccxt_full_round(ccxt_async, sim_control):
    async def scenario():
        ex = ccxt_async
        try:
            await ex.load_markets()
            bal = await ex.fetch_balance()
            await ex.set_leverage(10, BTC)
            o = await ex.create_order(BTC, "market", "sell", 0.02)
            sl = await ex.create_order(BTC, "market", "buy", 0.02, None,
                                       {"stopPrice": 61000, "reduceOnly": True})
            tr = await ex.create_order(BTC, "market", "buy", 0.02, None,
                                       {"trailingPercent": 2, "reduceOnly": True})
            trig = await ex.fetch_open_orders(BTC, params={"trigger": True})
            plain = await ex.fetch_open_orders(BTC)
            got = await ex.fetch_order(sl["id"], BTC, {"trigger": True})
            await ex.cancel_order(tr["id"], BTC, {"trigger": True})
            pos = await ex.fetch_positions()
            try:
                await ex.create_order(BTC, "market", "buy", 0.02, None,
                                      {"stopPrice": 59000, "reduceOnly": True})
            except ccxt.OrderImmediatelyFillable as e:
                err = e
            return bal, o, trig, plain, got, pos, err
        finally:
            await ex.close()

    bal, o, trig, plain, got, pos, err = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert bal["USDT"]["total"] == 10000.0 and o["status"] == "closed"
    assert len(trig) == 2 and plain == [] and got["status"] == "open"
    assert [(p["side"], p["contracts"]) for p in pos] == [("short", 0.02)]
    assert "-2021" in str(err)
    assert [a["orderType"] for a in sim_control.state()["open_algo_orders"]] == ["STOP_MARKET"]
