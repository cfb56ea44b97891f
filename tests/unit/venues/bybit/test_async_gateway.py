"""AsyncGateway (venues/bybit/async_gateway.py): the same programs over an awaitable client,
each operation's failure and rate-limit report in its Outcome."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from tests.unit.venues.bybit.fake_client import FakeBybit, ok
from venue.errors import FailureKind
from venue.requests import AmendStop, PlaceStop
from venues.bybit.async_gateway import AsyncGateway


class AsyncFake(FakeBybit):
    """FakeBybit whose implicit methods are awaitable, with ccxt's on_rest_response hook."""

    def on_rest_response(self, code: Any, reason: Any, url: Any, method: Any, headers: Any,
                         body: Any, request_headers: Any, request_body: Any) -> Any:
        return body

    def __getattr__(self, name: str) -> Any:
        sync = super().__getattr__(name)

        async def call(params: Any = None) -> Any:
            queue = self._script.get(name) or []
            headers = queue[0][1] if queue else None
            if headers is not None:
                self.on_rest_response(200, "OK", "u", "POST", headers, "", {}, "")
            return sync(params)
        return call

    async def close(self) -> None:
        self.closed = True


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout=10))


def test_an_amend_runs_with_its_own_rate_report():
    client = AsyncFake().on("privatePostV5OrderAmend", ok({"orderId": "1", "orderLinkId": "c"}),
                            {"X-Bapi-Limit": "10", "X-Bapi-Limit-Status": "9"})
    gw = AsyncGateway(client)

    out = run(gw.run(AmendStop("BTCUSDT", "1", "c", Decimal("59000"))))

    assert out.failure is None and out.result.trigger_price == Decimal("59000")
    assert out.usage is not None and out.usage.order_count_10s == 1
    run(gw.close())


def test_a_refused_placement_comes_back_in_the_outcome():
    body = json.dumps({"retCode": 110072, "retMsg": "OrderLinkedID is duplicate"})
    with pytest.raises(ccxt.BaseError) as caught:
        ccxt.bybit().handle_errors(200, "OK", "u", "POST", {}, body, json.loads(body), {}, "")
    client = AsyncFake().on("privatePostV5OrderCreate", caught.value)
    op = PlaceStop("BTCUSDT", "SELL", Decimal("1"), "c", "STOP_MARKET", Decimal("1"),
                   "MARK_PRICE")

    out = run(AsyncGateway(client).run(op))

    assert out.result is None and out.failure is not None
    assert out.failure.kind is FailureKind.UNKNOWN_OUTCOME and out.failure.code == 110072
