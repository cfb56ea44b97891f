"""Binance's own SDK against the simulator's streams: every event it emits, in the SDK's models.

The SDK client (binance-sdk-derivatives-trading-usds-futures 18.1.0) connects exactly as it
connects to Binance: `<base>/market/stream`, `<base>/public/stream`, `<base>/private/stream`,
SUBSCRIBE of `<symbol>@markPrice@1s` on /market and of the listenKey on /private. Its models
parse leniently (sdk_shapes.py), so the raw frames are held to the models' declared fields too.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from binance_common.configuration import ConfigurationWebSocketStreams
from binance_sdk_derivatives_trading_usds_futures.websocket_streams import models as M
from binance_sdk_derivatives_trading_usds_futures.websocket_streams.websocket_streams import (
    DerivativesTradingUsdsFuturesWebSocketStreams,
)
from pydantic import BaseModel

from tests.integration.sim import sdk_shapes
from tests.integration.sim.wsutil import connect, read_for, read_until, ws_url

BTC = "BTC/USDT:USDT"
WAIT_SECS = 5.0
REQUIRED = {("ORDER_TRADE_UPDATE", "NEW"), ("ORDER_TRADE_UPDATE", "TRADE"),
            ("TRADE_LITE", ""), ("ACCOUNT_UPDATE", "ORDER"), ("ACCOUNT_CONFIG_UPDATE", ""),
            ("listenKeyExpired", "")} | {("ALGO_UPDATE", x) for x in (
                "NEW", "CANCELED", "TRIGGERING", "TRIGGERED", "FINISHED", "EXPIRED")}


def _kind(e: dict) -> tuple[str, str]:
    if e["e"] == "ORDER_TRADE_UPDATE":
        return e["e"], e["o"]["x"]
    if e["e"] == "ALGO_UPDATE":
        return e["e"], e["o"]["X"]
    if e["e"] == "ACCOUNT_UPDATE":
        return e["e"], e["a"]["m"]
    return e["e"], ""


def _every_event(ex, control) -> None:
    """Drive the account through every event type the simulator emits (sync ccxt)."""
    ex.set_leverage(10, BTC)                                       # ACCOUNT_CONFIG_UPDATE
    ex.create_order(BTC, "market", "buy", 0.02)                    # OTU NEW/TRADE, TRADE_LITE
    s = ex.create_order(BTC, "market", "sell", 0.01, None, {"stopPrice": 55000,
                                                           "reduceOnly": True})
    ex.cancel_order(s["id"], BTC, {"trigger": True})               # ALGO NEW, CANCELED
    ex.create_order(BTC, "market", "sell", 0.01, None, {"stopPrice": 59500,
                                                       "reduceOnly": True})
    ex.create_order(BTC, "market", "sell", 0.02, None, {"reduceOnly": True})  # now flat
    control.set_price("BTCUSDT", 59400)   # the stop fires with nothing left: EXPIRED
    ex.create_order(BTC, "market", "buy", 0.01)
    ex.create_order(BTC, "market", "sell", 0.01, None,
                    {"trailingPercent": 1, "reduceOnly": True})    # tracks from 59400 at once
    control.set_price("BTCUSDT", 58700)   # 1 % under the peak: TRIGGERING ... FINISHED
    control.expire_listen_key()           # listenKeyExpired


async def _queue_until(q: asyncio.Queue, done) -> list:
    out = []
    while True:
        out.append(await asyncio.wait_for(q.get(), WAIT_SECS))
        if done(out[-1]):
            return out


@pytest.fixture
def sdk_client(sim):
    """The SDK's stream client on the simulator's stream base, connected on its own loop."""
    loop = asyncio.new_event_loop()
    cfg = ConfigurationWebSocketStreams(stream_url=ws_url(sim.url, ""), reconnect_attempts=1)
    client = DerivativesTradingUsdsFuturesWebSocketStreams(cfg)
    loop.run_until_complete(asyncio.wait_for(client.create_connection(), WAIT_SECS))
    yield client, loop
    loop.run_until_complete(asyncio.wait_for(client.close_connection(close_session=True),
                                             WAIT_SECS))
    loop.close()


def test_the_sdk_opens_market_public_and_private_stream_connections(sdk_client, sim_control):
    client, _ = sdk_client

    assert sorted(c.url_path for c in client.connections) == ["market", "private", "public"]
    assert sim_control.state()["user_stream"]["connections"] == 1
    assert sim_control.state()["market_stream_connections"] == 2


def test_the_sdk_parses_every_user_event_into_its_model(sim, sdk_client, ccxt_sync,
                                                        sim_control):
    client, loop = sdk_client
    key = ccxt_sync.fapiPrivatePostListenKey()["listenKey"]
    raw = connect(sim.url, f"/private/stream?listenKey={key}")
    parsed: asyncio.Queue = asyncio.Queue()

    async def run():
        handle = await client.user_data(listenKey=key)
        handle.on("message", parsed.put_nowait)
        await asyncio.sleep(0.6)  # the SDK sends SUBSCRIBE after SUBSCRIBE_MESSAGE_DELAY 0.5 s
        await asyncio.to_thread(_every_event, ccxt_sync, sim_control)
        return await _queue_until(parsed, lambda m: isinstance(
            m.actual_instance, M.ListenKeyExpired))

    try:
        models = loop.run_until_complete(asyncio.wait_for(run(), 4 * WAIT_SECS))
        frames = read_until(raw, lambda f: f["data"]["e"] == "listenKeyExpired")
    finally:
        raw.close()

    events = [f["data"] for f in frames]
    assert {f["stream"] for f in frames} == {key}
    assert {_kind(e) for e in events} >= REQUIRED, REQUIRED - {_kind(e) for e in events}
    assert len(models) == len(events)
    for model, event in zip(models, events, strict=True):
        inst = model.actual_instance
        assert isinstance(inst, BaseModel), f"the SDK fell back to the raw payload: {event}"
        assert type(inst) is sdk_shapes.USER_EVENT_MODELS[event["e"]]
        assert event["E"] == inst.E
    assert [p for e in events for p in sdk_shapes.user_event_problems(e)] == []
    trailing = [e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"
                and e["o"]["ot"] == "TRAILING_STOP_MARKET"]
    assert trailing, "the trailing child's AP/cr were held to the model"


def test_the_sdk_parses_the_mark_price_streams_into_their_models(sim, sdk_client):
    client, loop = sdk_client
    raw = connect(sim.url, "/market/stream?streams=btcusdt@markPrice@1s/!markPrice@arr@1s")
    single: asyncio.Queue = asyncio.Queue()
    every: asyncio.Queue = asyncio.Queue()

    async def run():
        one = await client.mark_price_stream(symbol="BTCUSDT", update_speed="1s")
        one.on("message", single.put_nowait)
        arr = await client.mark_price_stream_for_all_market(update_speed="1s")
        arr.on("message", every.put_nowait)
        return (await asyncio.wait_for(single.get(), WAIT_SECS),
                await asyncio.wait_for(every.get(), WAIT_SECS))

    try:
        one, arr = loop.run_until_complete(asyncio.wait_for(run(), 3 * WAIT_SECS))
        frames = read_for(raw, 0.3)
    finally:
        raw.close()

    assert isinstance(one, M.MarkPriceStreamResponse)
    assert (one.e, one.s, one.st) == ("markPriceUpdate", "BTCUSDT", 1)
    assert one.ap == one.p and one.additional_properties == {}
    assert all(isinstance(r, M.MarkPriceStreamForAllMarketResponseInner) for r in arr)
    by = {f["stream"]: f["data"] for f in frames}
    assert sdk_shapes.problems(by["btcusdt@markPrice@1s"], M.MarkPriceStreamResponse,
                               discriminator=False) == []
    inner = M.MarkPriceStreamForAllMarketResponseInner
    assert [p for r in by["!markPrice@arr@1s"]
            for p in sdk_shapes.problems(r, inner, discriminator=False)] == []


def test_the_models_alone_would_accept_anything():
    # Why the key check exists: every field Optional, unknown keys kept aside.
    assert M.TradeLite.model_validate({}).E is None
    assert M.AlgoUpdateO.from_dict({"bogus": 1}).additional_properties == {"bogus": 1}


GOOD_LITE = {"e": "TRADE_LITE", "E": 1, "T": 1, "s": "BTCUSDT", "q": "0.010", "p": "0",
             "m": False, "c": "x", "S": "BUY", "L": "60000.00", "l": "0.010", "t": 7, "i": 9}


@pytest.mark.parametrize("mutate,needle", [
    (lambda f: f.pop("t"), "missing ['t']"),
    (lambda f: f.update(tid=f.pop("t")), "['tid']"),
    (lambda f: f.update(t="7"), "Input should be a valid integer"),
    (lambda f: f.update(m=0), "Input should be a valid boolean"),
    (lambda f: f.update(L=None), "L: null"),
])
def test_the_shape_check_fails_on_a_missing_renamed_or_mistyped_field(mutate, needle):
    assert sdk_shapes.user_event_problems(dict(GOOD_LITE)) == []
    bad = json.loads(json.dumps(GOOD_LITE))
    mutate(bad)

    found = sdk_shapes.user_event_problems(bad)

    assert any(needle in p for p in found), found


def test_the_shape_check_applies_the_models_conditions_recursively():
    algo = {"e": "ALGO_UPDATE", "T": 1, "E": 1, "o": {k: "x" for k in sdk_shapes.aliases(
        M.AlgoUpdateO)}}
    assert any("not in AlgoUpdateO" in p and "'ia'" in p
               for p in sdk_shapes.key_problems(algo, M.AlgoUpdate, "ALGO_UPDATE",
                                                frozenset({"e"})))
    account = {"e": "ACCOUNT_UPDATE", "E": 1, "T": 1, "a": {
        "m": "ORDER", "B": [{"a": "USDT", "wb": "1", "cw": "1"}], "P": []}}
    assert sdk_shapes.user_event_problems(account) == ["ACCOUNT_UPDATE.a.B[0]: missing ['bc']"]
