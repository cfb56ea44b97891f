"""Unmodified ccxt.pro.bybit (4.5.90) on the Bybit simulator's private and public sockets.

ccxt.pro reads its socket URLs from `urls['api']['ws']` (bybit-linear.md "Pointing unmodified
clients at a local server": a UTA's private URL is always 'contract'); REST goes through the
same recipe as the `ccxt_bybit` fixture. Orders are made on the engine (server.call) so the
tests are about the streams; watch_positions' first call is ccxt's REST snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from decimal import Decimal

import ccxt.pro as ccxtpro
import pytest

from system.sim.engine_algos import AlgoRequest
from tests.fixtures.sim import bybit_ccxt_config, point_ccxt_bybit
from tests.integration.sim.wsutil import ws_url

pytestmark = pytest.mark.timeout(60)
BTC = "BTC/USDT:USDT"
WAIT_SECS = 5.0


def _pro(sim):
    s = sim.settings
    ex = point_ccxt_bybit(ccxtpro.bybit(bybit_ccxt_config(s.api_key, s.api_secret)), sim.url)
    ex.urls["api"]["ws"]["public"]["linear"] = ws_url(sim.url, "/v5/public/linear")
    ex.urls["api"]["ws"]["private"]["contract"] = ws_url(sim.url, "/v5/private")
    return ex


async def _settle(watch, snapshot, done, what: str):
    """Until `done(snapshot())` holds, letting `watch()` take in the next messages; a copy."""
    end = time.monotonic() + WAIT_SECS
    while True:
        got = copy.deepcopy(snapshot())
        if done(got):
            return got
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}; got {got}")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(watch(), 0.2)


async def _in_sim(sim, fn):
    return await asyncio.to_thread(sim.call, fn)


def test_watch_orders_and_positions_follow_a_stop_from_placement_to_fill(bybit_sim):
    async def run():
        ex = _pro(bybit_sim)
        try:
            await ex.load_markets()
            assert await ex.watch_positions() == []  # the REST snapshot: flat account
            watch_pos = asyncio.ensure_future(ex.watch_positions())
            watch_ord = asyncio.ensure_future(ex.watch_orders(BTC))
            await asyncio.sleep(0.3)  # both subscribed
            await _in_sim(bybit_sim, lambda sim: sim.engine.place_market(
                "BTCUSDT", "BUY", Decimal("0.010"), "open-1", False))
            opened = await asyncio.wait_for(watch_pos, WAIT_SECS)
            assert opened[0]["symbol"] == BTC and opened[0]["contracts"] == 0.01
            assert opened[0]["side"] == "long"
            await asyncio.wait_for(watch_ord, WAIT_SECS)
            a = await _in_sim(bybit_sim, lambda sim: sim.engine.place_algo(AlgoRequest(
                "BTCUSDT", "SELL", "STOP_MARKET", Decimal("0.010"), Decimal("59000.0"),
                True, False, "sl-1", working_type="MARK_PRICE", trigger_direction=2)))

            def stop_orders():
                return [o for o in (ex.orders or []) if o["clientOrderId"] == "sl-1"]
            resting = await _settle(lambda: ex.watch_orders(BTC), stop_orders,
                                    lambda got: got and got[-1]["status"] == "open",
                                    "the stop resting")
            assert resting[-1]["triggerPrice"] == 59000.0
            assert resting[-1]["reduceOnly"] is True and resting[-1]["side"] == "sell"
            await _in_sim(bybit_sim, lambda sim: sim.engine.set_price(
                "BTCUSDT", Decimal("58900")))
            done = await _settle(lambda: ex.watch_orders(BTC), stop_orders,
                                 lambda got: got and got[-1]["status"] == "closed",
                                 "the stop filled")
            assert done[-1]["filled"] == 0.01
            assert done[-1]["id"] == resting[-1]["id"]
            from system.sim.bybit.ids import order_id
            assert done[-1]["id"] == order_id(a.algo_id)
            flat = await _settle(lambda: ex.watch_positions(), lambda: list(
                ex.positions or []), lambda got: any(p["symbol"] == BTC and not p[
                    "contracts"] for p in got), "the position flat")
            assert flat
        finally:
            await ex.close()
    asyncio.run(run())


def test_watch_ticker_reads_the_mark_from_snapshot_and_deltas(bybit_sim):
    async def run():
        ex = _pro(bybit_sim)
        try:
            await ex.load_markets()
            first = await asyncio.wait_for(ex.watch_ticker(BTC), WAIT_SECS)
            assert first["markPrice"] is not None and first["last"] is not None
            await _in_sim(bybit_sim, lambda sim: sim.engine.set_mark(
                "BTCUSDT", Decimal("60700.0")))
            moved = await _settle(lambda: ex.watch_ticker(BTC),
                                  lambda: ex.tickers.get(BTC, {}),
                                  lambda t: t.get("markPrice") == 60700.0, "the new mark")
            assert moved["last"] == first["last"]  # the delta merged into the snapshot
        finally:
            await ex.close()
    asyncio.run(run())


def test_ccxt_pro_fails_the_watch_on_a_server_close_and_the_next_watch_reconnects(
        bybit_sim):
    from system.sim.client import SimControl

    async def run():
        ex = _pro(bybit_sim)
        try:
            await ex.load_markets()
            pending = asyncio.ensure_future(ex.watch_orders(BTC))
            await asyncio.sleep(0.3)
            closed = await asyncio.to_thread(SimControl(bybit_sim.url).close_user_streams)
            assert closed["closed"] == 1
            with pytest.raises(Exception, match="closed"):
                await asyncio.wait_for(pending, WAIT_SECS)
            again = asyncio.ensure_future(ex.watch_orders(BTC))
            await asyncio.sleep(0.3)
            await _in_sim(bybit_sim, lambda sim: sim.engine.place_market(
                "BTCUSDT", "BUY", Decimal("0.010"), "after", False))
            got = await asyncio.wait_for(again, WAIT_SECS)
            assert got[-1]["clientOrderId"] == "after"
        finally:
            await ex.close()
    asyncio.run(run())


def test_a_stop_created_amended_and_cancelled_over_rest_shows_each_step_on_watch_orders(
        bybit_sim):
    async def run():
        ex = _pro(bybit_sim)
        try:
            await ex.load_markets()
            await ex.create_order(BTC, "market", "buy", 0.01)
            pending = asyncio.ensure_future(ex.watch_orders(BTC))
            await asyncio.sleep(0.3)
            placed = await ex.create_order(BTC, "market", "sell", 0.01, None, {
                "triggerPrice": 59000, "triggerDirection": "descending",
                "triggerBy": "MarkPrice", "reduceOnly": True, "closeOnTrigger": True,
                "clientOrderId": "sl-rest-1"})
            await asyncio.wait_for(pending, WAIT_SECS)

            def mine():
                return [o for o in (ex.orders or []) if o["id"] == placed["id"]]
            await _settle(lambda: ex.watch_orders(BTC), mine,
                          lambda got: got and got[-1]["triggerPrice"] == 59000.0, "placed")
            await ex.edit_order(placed["id"], BTC, "market", "sell", None, None,
                                {"triggerPrice": "59500.0", "triggerBy": "MarkPrice"})
            amended = await _settle(lambda: ex.watch_orders(BTC), mine,
                                    lambda got: got and got[-1]["triggerPrice"] == 59500.0,
                                    "amended")
            assert amended[-1]["status"] == "open"
            assert amended[-1]["clientOrderId"] == "sl-rest-1"
            await ex.cancel_order(placed["id"], BTC)
            gone = await _settle(lambda: ex.watch_orders(BTC), mine,
                                 lambda got: got and got[-1]["status"] == "canceled",
                                 "cancelled")
            assert gone[-1]["id"] == placed["id"]
        finally:
            await ex.close()
    asyncio.run(run())
