"""The Binance REST routes the simulator serves: handler, security and request weight.

Weights are Binance's (the SDK's method docstrings, binance-sdk-derivatives-trading-usds-
futures 18.1.0): order placement weighs 0 on the IP limit and 1 on each order limit.
Handlers live in rest_account, rest_orders and rest_history; they are pure of aiohttp.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from system.sim import rest_account as ra
from system.sim import rest_history as rh
from system.sim import rest_orders as ro


@dataclass(frozen=True, slots=True)
class Route:
    """One (method, path) of the REST API."""

    handler: Callable
    """(sim, Params) -> JSON reply; raises SimError."""
    auth: str
    """none | key (X-MBX-APIKEY only) | signed (key + timestamp + HMAC signature)."""
    weight: int
    """IP request weight (with `symbol` when the weight depends on it)."""
    weight_all: int | None = None
    """Weight when `symbol` is omitted, where Binance charges more for all symbols."""
    order: bool = False
    """Counts against the account's order limits (X-MBX-ORDER-COUNT-10S / -1M)."""

    def weight_for(self, has_symbol: bool) -> int:
        """The request weight of one call."""
        return self.weight if has_symbol or self.weight_all is None else self.weight_all


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/fapi/v1/ping"): Route(ra.h_ping, "none", 1),
    ("GET", "/fapi/v1/time"): Route(ra.h_time, "none", 1),
    ("GET", "/fapi/v1/exchangeInfo"): Route(ra.h_exchange_info, "none", 1),
    ("GET", "/fapi/v1/premiumIndex"): Route(ra.h_premium_index, "none", 1, 10),
    ("GET", "/fapi/v2/account"): Route(ra.h_account_v2, "signed", 5),
    ("GET", "/fapi/v3/account"): Route(ra.h_account_v3, "signed", 5),
    ("GET", "/fapi/v2/positionRisk"): Route(ra.h_position_risk_v2, "signed", 5),
    ("GET", "/fapi/v3/positionRisk"): Route(ra.h_position_risk_v3, "signed", 5),
    ("GET", "/fapi/v1/leverageBracket"): Route(ra.h_leverage_bracket, "signed", 1),
    ("POST", "/fapi/v1/leverage"): Route(ra.h_set_leverage, "signed", 1),
    ("GET", "/fapi/v1/symbolConfig"): Route(ra.h_symbol_config, "signed", 5),
    ("GET", "/fapi/v1/accountConfig"): Route(ra.h_account_config, "signed", 5),
    ("GET", "/fapi/v1/positionSide/dual"): Route(ra.h_get_dual, "signed", 30),
    ("POST", "/fapi/v1/positionSide/dual"): Route(ra.h_set_dual, "signed", 1),
    ("POST", "/fapi/v1/order"): Route(ro.h_new_order, "signed", 0, order=True),
    ("GET", "/fapi/v1/order"): Route(ro.h_get_order, "signed", 1),
    ("DELETE", "/fapi/v1/order"): Route(ro.h_cancel_order, "signed", 1),
    ("GET", "/fapi/v1/openOrders"): Route(ro.h_open_orders, "signed", 1, 40),
    ("POST", "/fapi/v1/algoOrder"): Route(ro.h_new_algo, "signed", 0, order=True),
    ("GET", "/fapi/v1/algoOrder"): Route(ro.h_get_algo, "signed", 1),
    ("DELETE", "/fapi/v1/algoOrder"): Route(ro.h_cancel_algo, "signed", 1),
    ("GET", "/fapi/v1/openAlgoOrders"): Route(ro.h_open_algos, "signed", 1, 40),
    ("DELETE", "/fapi/v1/algoOpenOrders"): Route(ro.h_cancel_all_algos, "signed", 1),
    ("GET", "/fapi/v1/allAlgoOrders"): Route(rh.h_all_algo_orders, "signed", 5),
    ("GET", "/fapi/v1/userTrades"): Route(rh.h_user_trades, "signed", 5),
    ("POST", "/fapi/v1/listenKey"): Route(ra.h_listen_key_new, "key", 1),
    ("PUT", "/fapi/v1/listenKey"): Route(ra.h_listen_key_keep, "key", 1),
    ("DELETE", "/fapi/v1/listenKey"): Route(ra.h_listen_key_delete, "key", 1),
}
