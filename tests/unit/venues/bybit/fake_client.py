"""A scripted stand-in for ccxt.bybit: just what venues/bybit/gateway.Gateway calls (the
implicit v5 methods and load_markets). Each call pops the next scripted (outcome, headers)
of its method: returned, or raised if it is an exception; the headers become
`last_response_headers`, as ccxt sets them before raising. Calls are recorded."""

from __future__ import annotations

from typing import Any

MARKET = {"symbol": "BTC/USDT:USDT", "id": "BTCUSDT", "linear": True, "swap": True,
          "info": {"symbol": "BTCUSDT", "priceFilter": {"tickSize": "0.10"},
                   "lotSizeFilter": {"qtyStep": "0.001", "minOrderQty": "0.001"}}}

METHODS = ("privatePostV5OrderCreate", "privatePostV5OrderAmend", "privatePostV5OrderCancel",
           "privatePostV5PositionTradingStop", "privateGetV5OrderRealtime",
           "privateGetV5OrderHistory", "privateGetV5PositionList")


def ok(result: Any) -> dict[str, Any]:
    """A v5 envelope of success."""
    return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": 1}


class FakeBybit:
    """Scripted ccxt.bybit; script with `on(method, outcome, headers)`."""

    def __init__(self) -> None:
        self.markets = {MARKET["symbol"]: MARKET}
        self.markets_by_id = {"BTCUSDT": [MARKET]}
        self.last_response_headers: Any = None
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._script: dict[str, list[tuple[Any, dict[str, str] | None]]] = {}

    def on(self, method: str, outcome: Any, headers: dict[str, str] | None = None,
           times: int = 1) -> FakeBybit:
        """Script the next `times` calls of `method`."""
        assert method in METHODS, method
        self._script.setdefault(method, []).extend([(outcome, headers)] * times)
        return self

    def names(self) -> list[str]:
        """The methods called, in order."""
        return [name for name, _ in self.calls]

    def body(self, index: int) -> dict[str, Any]:
        """The params (body or query) of the index-th call."""
        return self.calls[index][1][0]

    def load_markets(self, reload: bool = False) -> dict[str, Any]:
        return self.markets

    def __getattr__(self, name: str) -> Any:
        if name not in METHODS:
            raise AttributeError(name)

        def call(params: Any = None) -> Any:
            self.calls.append((name, (params,)))
            queue = self._script.get(name)
            assert queue, f"unscripted call {name}({params})"
            outcome, headers = queue.pop(0)
            self.last_response_headers = headers
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        return call
