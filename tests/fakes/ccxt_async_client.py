"""A scripted stand-in for ccxt.async_support.binanceusdm: what AsyncGateway calls.

Scripted like tests/fakes/ccxt_client.FakeClient (`on(method, outcome, headers)`, popped in
call order), plus what only concurrency shows: with `holding`, every call waits at its own
gate until the test opens it (`release(i)`, `release_all()`, in any order), so many calls
are in flight at once and their responses can come back in any order. As real ccxt does, a
response's headers reach `on_rest_response` (per response) and `last_response_headers`
(whatever response came last), then the call yields to the loop once (ccxt leaves its
`async with` there) before it returns or raises; a scripted outcome with
no headers is a call that got no response at all (a network error).
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.fakes.ccxt_client import MARKET


class FakeAsyncClient:
    """Scripted async ccxt client."""

    def __init__(self, *, holding: bool = False) -> None:
        self.markets = {MARKET["symbol"]: MARKET}
        self.markets_by_id = {"BTCUSDT": [MARKET]}
        self.last_response_headers: Any = None
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.holding = holding
        self.gates: list[asyncio.Future[None]] = []
        """One per call made while holding, in call order."""
        self.closed = False
        self._script: dict[str, list[tuple[Any, dict[str, str] | None]]] = {}

    def on(self, method: str, outcome: Any, headers: dict[str, str] | None = None,
           times: int = 1) -> FakeAsyncClient:
        """Script the next `times` calls of `method`."""
        self._script.setdefault(method, []).extend([(outcome, headers)] * times)
        return self

    def names(self) -> list[str]:
        """The methods called, in order."""
        return [name for name, _ in self.calls]

    def release(self, i: int) -> None:
        """Let the i-th held call's response arrive (call on the loop)."""
        if not self.gates[i].done():
            self.gates[i].set_result(None)

    def release_all(self) -> None:
        """Let every held call's response arrive (call on the loop)."""
        for i in range(len(self.gates)):
            self.release(i)

    def on_rest_response(self, code: Any, reason: Any, url: Any, method: Any, headers: Any,
                         body: Any, request_headers: Any, request_body: Any) -> Any:
        return body.strip()

    async def _do(self, name: str, *args: Any) -> Any:
        self.calls.append((name, args))
        queue = self._script.get(name)
        assert queue, f"unscripted call {name}{args}"
        outcome, headers = queue.pop(0)
        if self.holding:
            gate = asyncio.get_running_loop().create_future()
            self.gates.append(gate)
            await gate
        if headers is not None:
            self.on_rest_response(200, "OK", f"https://fapi/{name}", "GET", headers, " {} ",
                                  {}, None)
        self.last_response_headers = headers
        # ccxt then leaves `async with session.request(...)` (an await) before it returns or
        # raises: other responses may land meanwhile, and last_response_headers with them.
        await asyncio.sleep(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def load_markets(self, reload: bool = False) -> dict[str, Any]:
        return self.markets

    async def fetch_positions(self, symbols: Any = None, params: Any = None) -> Any:
        return await self._do("fetch_positions", symbols)

    async def fetch_open_orders(self, symbol: Any = None, since: Any = None, limit: Any = None,
                                params: Any = None) -> Any:
        return await self._do("fetch_open_orders", symbol, params or {})

    async def fetch_order(self, id: Any, symbol: Any = None, params: Any = None) -> Any:
        return await self._do("fetch_order", id, symbol, params or {})

    async def fetch_my_trades(self, symbol: Any = None, since: Any = None, limit: Any = None,
                              params: Any = None) -> Any:
        return await self._do("fetch_my_trades", symbol, since, limit, params or {})

    async def create_order(self, *args: Any) -> Any:
        return await self._do("create_order", *args)

    async def cancel_order(self, *args: Any) -> Any:
        return await self._do("cancel_order", *args)

    async def fapiPublicGetExchangeInfo(self, params: Any = None) -> Any:  # noqa: N802
        return await self._do("fapiPublicGetExchangeInfo")

    async def fapiPrivateGetOpenAlgoOrders(self, params: Any = None) -> Any:  # noqa: N802
        return await self._do("fapiPrivateGetOpenAlgoOrders")

    async def close(self) -> None:
        self.closed = True
