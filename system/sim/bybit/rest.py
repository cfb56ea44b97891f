"""The Bybit v5 REST routes the simulator serves: handler, signing and limit class.

Limit classes (rate-limit.mdx, linear default): "order" 10/s per endpoint (create, amend,
cancel, trading-stop, set-leverage, switch-mode), "read" 50/s per endpoint; public routes
count only against the IP limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from system.sim.bybit import rest_market as rm
from system.sim.bybit import rest_orders as ro
from system.sim.bybit import rest_position as rp


@dataclass(frozen=True, slots=True)
class BRoute:
    """One (method, path) of Bybit's v5 API."""

    handler: Callable
    """(sim, BParams) -> the reply's `result`; raises BybitError / SimError."""
    signed: bool
    """Needs X-BAPI-API-KEY / -TIMESTAMP / -RECV-WINDOW / -SIGN."""
    kind: str = "read"
    """Per-UID limit class: order | read (signed routes only)."""


ROUTES: dict[tuple[str, str], BRoute] = {
    ("GET", "/v5/market/time"): BRoute(rm.h_time, False),
    ("GET", "/v5/market/instruments-info"): BRoute(rm.h_instruments, False),
    ("GET", "/v5/market/tickers"): BRoute(rm.h_tickers, False),
    ("GET", "/v5/account/info"): BRoute(rm.h_account_info, True),
    ("GET", "/v5/user/query-api"): BRoute(rm.h_query_api, True),
    ("GET", "/v5/account/wallet-balance"): BRoute(rm.h_wallet, True),
    ("GET", "/v5/position/list"): BRoute(rp.h_positions, True),
    ("POST", "/v5/position/trading-stop"): BRoute(rp.h_trading_stop, True, "order"),
    ("POST", "/v5/position/set-leverage"): BRoute(rp.h_set_leverage, True, "order"),
    ("POST", "/v5/position/switch-mode"): BRoute(rp.h_switch_mode, True, "order"),
    ("POST", "/v5/order/create"): BRoute(ro.h_create, True, "order"),
    ("POST", "/v5/order/amend"): BRoute(ro.h_amend, True, "order"),
    ("POST", "/v5/order/cancel"): BRoute(ro.h_cancel, True, "order"),
    ("GET", "/v5/order/realtime"): BRoute(ro.h_realtime, True),
    ("GET", "/v5/order/history"): BRoute(ro.h_history, True),
}
