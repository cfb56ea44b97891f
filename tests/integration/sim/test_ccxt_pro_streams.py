"""Unmodified ccxt.pro.binanceusdm on the simulator's streams: orders, positions, mark price.

ccxt 4.5.90 builds its stream URLs from `urls['api']['ws']['linear']` (`.../ws`): market data
on `/market/ws` + SUBSCRIBE, the user stream on `/private/ws?listenKey=K` (ccxt/pro/binance.py
get_ws_url / get_private_ws_url). REST goes through venues/binance/ccxt_factory's recipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time

import ccxt.pro as ccxtpro
import pytest

from venues.binance.ccxt_factory import URL_KEYS, make_binanceusdm
from tests.integration.sim.wsutil import ws_url
from tests.waiting import wait_for

BTC = "BTC/USDT:USDT"
WAIT_SECS = 5.0


def _pro(sim):
    """ccxt.pro.binanceusdm with the factory's REST URLs and the simulator's stream base."""
    rest = make_binanceusdm(sim.url, sim.settings.api_key, sim.settings.api_secret)
    ex = ccxtpro.binanceusdm({"apiKey": sim.settings.api_key,
                              "secret": sim.settings.api_secret, "timeout": 5000,
                              "options": {"fetchCurrencies": False}})
    for key in URL_KEYS:
        ex.urls["api"][key] = rest.urls["api"][key]
    ex.exceptions = rest.exceptions
    ex.urls["api"]["ws"]["linear"] = ws_url(sim.url, "/ws")
    return ex


async def _until(predicate, what: str) -> None:
    """Poll `predicate` (in a thread: it may do blocking HTTP, and the event loop must go on
    serving ccxt's websockets meanwhile) until true."""
    await asyncio.to_thread(wait_for, predicate, WAIT_SECS, what, 0.02)


async def _settle(watch, snapshot, done, what: str) -> list:
    """Until `done(snapshot())` holds, letting `watch()` take in the next events; a copy.

    ccxt's watch resolves on the next message only, so a burst that lands between two calls
    would leave it waiting: the cache is looked at first, and each watch is bounded briefly.
    Copied because ccxt updates its cached dicts in place as later events arrive.
    """
    end = time.monotonic() + WAIT_SECS
    while True:
        got = copy.deepcopy(list(snapshot()))
        if done(got):
            return got
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}; got {got}")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(watch(), 0.2)


@pytest.fixture
def pro(sim):
    """(ccxt.pro client, its own event loop); the client is closed on teardown."""
    ex = _pro(sim)
    loop = asyncio.new_event_loop()
    yield ex, loop
    loop.run_until_complete(asyncio.wait_for(ex.close(), WAIT_SECS))
    loop.close()


def _user_connected(control):
    return lambda: control.state()["user_stream"]["connections"] >= 1


def test_watch_orders_sees_an_order_placed_and_a_stop_fired(pro, sim_control):
    ex, loop = pro

    def orders():
        return ex.orders or []

    async def run():
        await ex.load_markets()
        first = asyncio.ensure_future(ex.watch_orders(BTC))
        await _until(_user_connected(sim_control), "the private stream connection")
        market = await ex.create_order(BTC, "market", "buy", 0.01)
        stop = await ex.create_order(BTC, "market", "sell", 0.01, None,
                                     {"stopPrice": 59000, "reduceOnly": True})
        await asyncio.wait_for(first, WAIT_SECS)
        got = await _settle(lambda: ex.watch_orders(BTC), orders, lambda s: any(
            o["id"] == stop["id"] for o in s) and any(
            o["id"] == market["id"] and o["status"] == "closed" for o in s),
            "the fill and the stop's ALGO_UPDATE NEW")
        await asyncio.to_thread(sim_control.set_price, "BTCUSDT", 58900)
        fired = await _settle(lambda: ex.watch_orders(BTC), orders, lambda s: any(
            o["info"].get("ot") == "STOP_MARKET" and o["status"] == "closed" for o in s)
            and any(o["id"] == stop["id"] and o["info"]["X"] == "FINISHED" for o in s),
            "the stop's child order filling")
        return market, stop, got, fired

    market, stop, got, fired = loop.run_until_complete(asyncio.wait_for(run(), 4 * WAIT_SECS))

    [filled] = [o for o in got if o["id"] == market["id"]]
    assert (filled["status"], filled["filled"], filled["side"]) == ("closed", 0.01, "buy")
    assert filled["symbol"] == BTC and filled["average"] == 60000.0
    [placed] = [o for o in got if o["id"] == stop["id"]]
    assert (placed["status"], placed["triggerPrice"], placed["reduceOnly"]) == (
        "open", 59000.0, True)
    [child] = [o for o in fired if o["info"].get("ot") == "STOP_MARKET"]
    assert (child["status"], child["filled"], child["side"]) == ("closed", 0.01, "sell")
    assert child["clientOrderId"] == placed["clientOrderId"]
    assert child["id"] == fired_algo(fired, stop["id"])["info"]["ai"]


def test_watch_positions_follows_the_open_and_the_stop_closing_it(pro, sim_control):
    ex, loop = pro

    def positions():
        return (ex.positions or {}).get("linear") or []

    async def run():
        await ex.load_markets()
        # The first call answers from a REST snapshot; the next one opens the stream.
        snapshot = await asyncio.wait_for(ex.watch_positions([BTC]), WAIT_SECS)
        pending = asyncio.ensure_future(ex.watch_positions([BTC]))
        await _until(_user_connected(sim_control), "the private stream connection")
        await ex.create_order(BTC, "market", "buy", 0.01)
        await asyncio.wait_for(pending, WAIT_SECS)
        opened = await _settle(lambda: ex.watch_positions([BTC]), positions, lambda s: any(
            p["contracts"] == 0.01 for p in s), "the position opening")
        await ex.create_order(BTC, "market", "sell", None, None,
                              {"stopPrice": 59000, "closePosition": True})
        await asyncio.to_thread(sim_control.set_price, "BTCUSDT", 58900)
        closed = await _settle(lambda: ex.watch_positions([BTC]), positions, lambda s: any(
            p["contracts"] == 0 for p in s), "the stop closing it")
        return snapshot, opened, closed

    snapshot, opened, closed = loop.run_until_complete(asyncio.wait_for(run(), 4 * WAIT_SECS))

    assert snapshot == []
    p = [x for x in opened if x["contracts"] == 0.01][-1]
    assert (p["symbol"], p["side"], p["entryPrice"], p["marginMode"]) == (
        BTC, "long", 60000.0, "cross")
    assert [x for x in closed if x["contracts"] == 0][-1]["symbol"] == BTC


def fired_algo(orders: list, algo_id: str) -> dict:
    """The last update of the algo order `algo_id` among `orders`."""
    return [o for o in orders if o["id"] == algo_id][-1]


def test_watch_mark_price_uses_the_market_entry_point(pro, sim, sim_control):
    ex, loop = pro

    async def run():
        await ex.load_markets()
        first = await asyncio.wait_for(ex.watch_mark_price(BTC), WAIT_SECS)
        await asyncio.to_thread(sim_control.set_price, "BTCUSDT", 61000)
        mark = await asyncio.to_thread(sim.call, lambda s: s._mark("BTCUSDT"))
        end = time.monotonic() + WAIT_SECS
        tick = first
        while tick["markPrice"] != float(mark):
            assert time.monotonic() < end, f"no tick at {mark}: {tick}"
            tick = await asyncio.wait_for(ex.watch_mark_price(BTC), WAIT_SECS)
        return first, tick, list(ex.clients)

    first, tick, urls = loop.run_until_complete(asyncio.wait_for(run(), 3 * WAIT_SECS))

    assert first["symbol"] == BTC and first["info"]["e"] == "markPriceUpdate"
    assert tick["markPrice"] > 60000
    # ccxt numbers its market connections: <base>/market/ws/<n>
    assert [u.rsplit("/", 1)[0] for u in urls] == [ws_url(sim.url, "/market/ws")]
