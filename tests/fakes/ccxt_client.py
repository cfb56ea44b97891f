"""A scripted stand-in for ccxt.binanceusdm: just what venues/binance/gateway.Gateway calls.

Each call pops the next scripted (outcome, headers) of its method: the outcome is returned
(or raised, if it is an exception) and the headers become `last_response_headers`, as ccxt
sets them before raising. Calls are recorded with their arguments.
"""

from __future__ import annotations

from typing import Any

MARKET = {"symbol": "BTC/USDT:USDT", "id": "BTCUSDT", "info": {"symbol": "BTCUSDT", "filters": [
    {"filterType": "PRICE_FILTER", "tickSize": "0.10"},
    {"filterType": "LOT_SIZE", "stepSize": "0.001", "minQty": "0.001"}]}}


class FakeClient:
    """Scripted ccxt client; script with `on(method, outcome, headers)`."""

    def __init__(self) -> None:
        self.markets = {MARKET["symbol"]: MARKET}
        self.markets_by_id = {"BTCUSDT": [MARKET]}
        self.last_response_headers: Any = None
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._script: dict[str, list[tuple[Any, dict[str, str] | None]]] = {}

    def on(self, method: str, outcome: Any, headers: dict[str, str] | None = None,
           times: int = 1) -> FakeClient:
        """Script the next `times` calls of `method`."""
        self._script.setdefault(method, []).extend([(outcome, headers)] * times)
        return self

    def names(self) -> list[str]:
        """The methods called, in order."""
        return [name for name, _ in self.calls]

    def _do(self, name: str, *args: Any) -> Any:
        self.calls.append((name, args))
        queue = self._script.get(name)
        assert queue, f"unscripted call {name}{args}"
        outcome, headers = queue.pop(0)
        self.last_response_headers = headers
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def load_markets(self, reload: bool = False) -> dict[str, Any]:
        return self.markets

    def fetch_positions(self, symbols: Any = None, params: Any = None) -> Any:
        return self._do("fetch_positions", symbols)

    def fetch_open_orders(self, symbol: Any = None, since: Any = None, limit: Any = None,
                          params: Any = None) -> Any:
        return self._do("fetch_open_orders", symbol, params or {})

    def fetch_order(self, id: Any, symbol: Any = None, params: Any = None) -> Any:
        return self._do("fetch_order", id, symbol, params or {})

    def fetch_my_trades(self, symbol: Any = None, since: Any = None, limit: Any = None,
                        params: Any = None) -> Any:
        return self._do("fetch_my_trades", symbol, since, limit, params or {})

    def create_order(self, *args: Any) -> Any:
        return self._do("create_order", *args)

    def cancel_order(self, *args: Any) -> Any:
        return self._do("cancel_order", *args)

    def fapiPublicGetExchangeInfo(self, params: Any = None) -> Any:  # noqa: N802 - ccxt's name
        return self._do("fapiPublicGetExchangeInfo")
