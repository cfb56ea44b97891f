"""AsyncGateway (venues/binance/async_gateway.py) over a scripted async ccxt client
(tests/fakes/ccxt_async_client.py): many operations in flight at once on one loop, each with
the rate usage of its own responses, and exactly the blocking gateway's results, retries and
error translation (both drive venues/binance/operations.py)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from tests.fakes.ccxt_async_client import FakeAsyncClient
from tests.fakes.ccxt_client import FakeClient
from venue.errors import FailureKind, RateUsage
from venue.interface import ExchangeError, Outcome
from venue.requests import (
    CancelStop,
    FetchLimits,
    FetchPositions,
    FetchSymbol,
    LookupOrder,
    PlaceMarket,
    PlaceStop,
    StopRef,
)
from venues.binance.async_gateway import AsyncGateway
from venues.binance.gateway import Gateway

D = Decimal
STOP = PlaceStop("BTCUSDT", "SELL", D("0.010"), "pg-3-BTCUSDT-sl-2", "STOP_MARKET", D("58800"),
                 "MARK_PRICE")
CLOSE = PlaceMarket("BTCUSDT", "SELL", D("0.010"), "pg-3-BTCUSDT-cl-4", reduce_only=True)
ACCEPTED = {"info": {"algoId": 4000000002, "clientAlgoId": "pg-3-BTCUSDT-sl-2",
                     "orderType": "STOP_MARKET", "algoStatus": "NEW", "symbol": "BTCUSDT",
                     "quantity": "0.010", "triggerPrice": "58800", "reduceOnly": True}}


def lookup(n: int) -> LookupOrder:
    return LookupOrder("BTCUSDT", f"pg-3-BTCUSDT-sl-{n}", algo=True)


def found(n: int) -> dict:
    return {"info": {"algoId": n, "clientAlgoId": f"pg-3-BTCUSDT-sl-{n}", "algoStatus": "NEW",
                     "orderType": "STOP_MARKET", "symbol": "BTCUSDT"}}


async def _no_sleep(secs: float) -> None:
    return None


def agw(client: FakeAsyncClient, sleeps: list[float] | None = None) -> AsyncGateway:
    async def record(secs: float) -> None:
        if sleeps is not None:
            sleeps.append(secs)
    return AsyncGateway(client, sleep=record, now_ms=lambda: 1_000)


async def until(cond: Any, what: str, timeout: float = 5.0) -> None:
    """Let the loop run until `cond()` holds (the fake's gates are reached without I/O)."""
    async def poll() -> None:
        while not cond():
            await asyncio.sleep(0)
    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


# --------------------------------------------------------------------------- concurrency


def test_fifty_operations_are_in_flight_at_once_on_one_loop_and_each_gets_its_own_reply():
    async def scenario() -> tuple[list[Outcome], int]:
        client = FakeAsyncClient(holding=True)
        for n in range(50):
            client.on("fetch_order", found(n))
        gw = agw(client)
        tasks = [asyncio.ensure_future(gw.run(lookup(n))) for n in range(50)]
        await until(lambda: len(client.gates) == 50, "50 calls waiting at once")
        in_flight = sum(not t.done() for t in tasks)
        client.release_all()
        return list(await asyncio.gather(*tasks)), in_flight

    outcomes, in_flight = asyncio.run(scenario())

    assert in_flight == 50
    assert [o.result.client_id for o in outcomes] == [f"pg-3-BTCUSDT-sl-{n}" for n in range(50)]
    assert all(o.failure is None for o in outcomes)


def test_each_operation_reports_the_counters_of_its_own_response_whatever_came_last():
    # Three placements in flight; their responses arrive in reverse order, each before any
    # call returns, so the client's last_response_headers is the first one's for all three.
    async def scenario() -> list[Outcome]:
        client = FakeAsyncClient(holding=True)
        for n in range(3):
            client.on("create_order", ACCEPTED, {"X-MBX-ORDER-COUNT-10S": str(10 + n),
                                                 "X-MBX-USED-WEIGHT-1M": str(100 + n)})
        gw = agw(client)
        tasks = [asyncio.ensure_future(gw.run(STOP)) for _ in range(3)]
        await until(lambda: len(client.gates) == 3, "3 placements in flight")
        for i in (2, 1, 0):
            client.release(i)
        return list(await asyncio.gather(*tasks))

    outcomes = asyncio.run(scenario())

    assert [o.usage for o in outcomes] == [RateUsage(100, 10, None), RateUsage(101, 11, None),
                                           RateUsage(102, 12, None)]


def test_a_refusal_in_flight_beside_an_accepted_call_stays_with_the_refused_one():
    async def scenario() -> list[Outcome]:
        client = FakeAsyncClient(holding=True)
        client.on("create_order", ccxt.DDoSProtection(
            'binanceusdm 429 Too Many Requests {"code":-1015,"msg":"Too many new orders."}'),
            {"Retry-After": "3", "X-MBX-ORDER-COUNT-10S": "300"})
        client.on("fetch_order", found(1), {"X-MBX-USED-WEIGHT-1M": "7"})
        gw = agw(client)
        placing = asyncio.ensure_future(gw.run(STOP))
        reading = asyncio.ensure_future(gw.run(lookup(1)))
        await until(lambda: len(client.gates) == 2, "both in flight")
        client.release(0)
        await until(placing.done, "the placement refused")
        client.release(1)
        return [await placing, await reading]

    refused, read = asyncio.run(scenario())

    assert refused.failure is not None and refused.failure.kind is FailureKind.UNKNOWN_OUTCOME
    assert refused.usage == RateUsage(None, 300, None, 429, -1015, 3000)
    assert read.failure is None and read.usage == RateUsage(7, None, None)


# --------------------------------------------------------------------------- same as sync

FLAT = [("fetch_positions", [], {"X-MBX-USED-WEIGHT-1M": "5"}),
        ("fetch_open_orders", [], None), ("fetch_open_orders", [], None)]
SCENARIOS: list[tuple[str, Any, list[tuple[str, Any, dict | None]]]] = [
    ("placed", STOP, [("create_order", ACCEPTED, {"X-MBX-ORDER-COUNT-10S": "3"})]),
    ("close", CLOSE, [("create_order", {"info": {"orderId": 8, "status": "FILLED",
                                                 "avgPrice": "60000.1"}}, None)]),
    ("timeout placing", STOP, [("create_order", ccxt.RequestTimeout("timed out"), None)]),
    ("network placing", STOP, [("create_order", ccxt.NetworkError("reset"), None)]),
    ("duplicate id", STOP, [("create_order", ccxt.InvalidOrder(
        'binanceusdm {"code":-4116,"msg":"ClientOrderId is duplicated."}'), None)]),
    ("would trigger", STOP, [("create_order", ccxt.OrderImmediatelyFillable(
        'binanceusdm {"code":-2021,"msg":"Order would immediately trigger."}'), None)]),
    ("bad key", STOP, [("create_order", ccxt.AuthenticationError(
        'binanceusdm {"code":-2015,"msg":"Invalid API-key."}'), None)]),
    ("418", STOP, [("create_order", ccxt.DDoSProtection(
        "binanceusdm 418 I'm a teapot {}"), {"Retry-After": "120"})]),
    ("read retried then given up", FetchPositions(),
     [("fetch_positions", ccxt.NetworkError("reset"), None)] * 4),
    ("read retried then answered", lookup(1),
     [("fetch_order", ccxt.RequestTimeout("timed out"), None),
      ("fetch_order", found(1), {"X-MBX-USED-WEIGHT-1M": "9"})]),
    ("read 429 not retried", lookup(1), [("fetch_order", ccxt.DDoSProtection(
        'binanceusdm 429 Too Many Requests {"code":-1003,"msg":"Too much request weight."}'),
        {"Retry-After": "4", "X-MBX-USED-WEIGHT-1M": "2400"})]),
    ("lookup not found", lookup(1), [("fetch_order", ccxt.OrderNotFound(
        'binanceusdm {"code":-2013,"msg":"Order does not exist."}'), None)]),
    ("cancel gone", CancelStop("BTCUSDT", None, "pg-3-BTCUSDT-sl-2"), [
        ("cancel_order", ccxt.OrderNotFound('binanceusdm {"code":-2011,"msg":"Unknown."}'),
         None)]),
    ("unknown symbol", LookupOrder("XYZUSDT", "c", algo=False), []),
    ("limits", FetchLimits(), [("fapiPublicGetExchangeInfo", {"rateLimits": [
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300}]},
        None)]),
    ("flat with history", FetchSymbol("BTCUSDT", explain=(StopRef("pg-3-BTCUSDT-sl-2", "7",
                                                                  "STOP_MARKET"),)),
     [*FLAT, ("fetch_order", ccxt.OrderNotFound('binanceusdm {"code":-2013,"msg":"x"}'),
              None)]),
]


def _sync(op: Any, script: list) -> tuple[Any, Any, Any, list[str]]:
    client = FakeClient()
    for method, outcome, headers in script:
        client.on(method, outcome, headers)
    gw = Gateway(client, sleep=lambda s: None, now_ms=lambda: 1_000)  # type: ignore[arg-type]
    gw.begin_call()
    try:
        result, failure = gw.execute(op), None
    except ExchangeError as e:
        result, failure = None, e.failure
    return result, failure, gw.rate_usage(), client.names()


def _async(op: Any, script: list) -> tuple[Any, Any, Any, list[str]]:
    client = FakeAsyncClient()
    for method, outcome, headers in script:
        client.on(method, outcome, headers)
    out = asyncio.run(agw(client).run(op))
    return out.result, out.failure, out.usage, client.names()


@pytest.mark.parametrize(("name", "op", "script"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_the_async_gateway_answers_exactly_as_the_blocking_one(name, op, script):
    assert _async(op, script) == _sync(op, script)


def test_a_read_waits_its_backoff_on_the_loop_and_a_placement_never_retries():
    client = FakeAsyncClient().on("fetch_positions", ccxt.NetworkError("reset"), times=4)
    sleeps: list[float] = []
    out = asyncio.run(agw(client, sleeps).run(FetchPositions()))
    assert out.failure.kind is FailureKind.TEMPORARY and len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        assert 0.1 * 2 ** attempt <= delay <= 0.3 * 2 ** attempt

    client = FakeAsyncClient().on("create_order", ccxt.NetworkError("reset"))
    sleeps = []
    out = asyncio.run(agw(client, sleeps).run(STOP))
    assert out.failure.kind is FailureKind.UNKNOWN_OUTCOME and sleeps == []
    assert client.names() == ["create_order"]


def test_an_unknown_operation_is_a_type_error_not_a_call():
    client = FakeAsyncClient()
    with pytest.raises(TypeError, match="unknown exchange operation str"):
        asyncio.run(agw(client).run("FetchEverything"))
    assert client.calls == []


def test_warm_up_counts_the_markets_and_close_closes_the_client():
    client = FakeAsyncClient()
    gw = agw(client)

    async def scenario() -> int:
        n = await gw.warm_up()
        await gw.close()
        return n

    assert asyncio.run(scenario()) == 1 and client.closed
