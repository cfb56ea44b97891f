"""Binance USDT-M futures behind the Venue interface (venue/interface.py).

Everything here is cheap to import and to pickle: the adapter is a stateless frozen
dataclass that travels inside StreamSettings / ExchangeSettings to the actor processes.
ccxt is imported only by `open_gateway`, inside an exchange worker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from venue.hosts import VenueHosts
from venue.interface import AsyncGateway, Capabilities, Credentials, Gateway, RateLimits, Venue
from venue.requests import (
    CancelStop,
    FetchAccount,
    FetchLimits,
    FetchPositions,
    FetchSymbol,
    LookupOrder,
    PlaceMarket,
    PlaceStop,
)
from venues.binance import events, hosts, listen_key

CAPABILITIES = Capabilities(
    native_trailing=True,          # TRAILING_STOP_MARKET algo orders
    amend_in_place=False,          # algo orders cannot be modified: cancel and place anew
    close_position_stop=True,      # closePosition=true (posguard places reduce-only qty)
    client_id_max_len=36,          # newClientOrderId / clientAlgoId: ^[.A-Z:/a-z0-9_-]{1,36}$
    client_id_charset=".A-Z:/a-z0-9_-",
    trailing_callback_pct=("0.1", "10", "0.1"),  # callbackRate: 0.1..10 percent, one decimal
    stop_history=True,             # GET /fapi/v1/algoOrder + userTrades
)

LIMITS = RateLimits(
    order_windows_secs=(10.0, 60.0),   # X-MBX-ORDER-COUNT-10S and -1M
    weight_window_secs=60.0,           # X-MBX-USED-WEIGHT-1M
    weight_limit=2400,                 # published REQUEST_WEIGHT / min until exchangeInfo says
    weight_code=-1003,                 # 429 "too much request weight"
    orders_code=-1015,                 # 429 "too many new orders"
    default_ban_secs=120.0,            # a 418 without Retry-After: Binance's shortest ban
    # Request weight on the IP limit (Binance USD-M docs / the SDK's docstrings): placements
    # weigh 0 (they count on the order limits), a cancel or a single-order query 1,
    # positionRisk 5, open (algo) orders of one symbol 1 each, exchangeInfo 1; the sweep's
    # stop check (FetchAccount) adds openAlgoOrders without a symbol: 40. A FetchSymbol
    # that explains stops adds the algo order (1) and its trades (5) per stop.
    weights=((PlaceMarket, 0), (PlaceStop, 0), (CancelStop, 1), (LookupOrder, 1),
             (FetchSymbol, 7), (FetchPositions, 5), (FetchAccount, 45), (FetchLimits, 1)),
    default_weight=1,
    weight_per_explained_stop=6,
)


@dataclass(frozen=True, slots=True)
class BinanceUsdm(Venue):
    """Binance USDT-M futures: live, Demo Trading, the legacy testnet, or the simulator."""

    name: ClassVar[str] = "binanceusdm"
    environments: ClassVar[tuple[str, ...]] = hosts.VENUES
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    limits: ClassVar[RateLimits] = LIMITS

    def hosts(self, environment: str, rest_url: str = "", stream_url: str = "") -> VenueHosts:
        """The environment's hosts (venues/binance/hosts.py), overrides applied."""
        return hosts.resolve(environment, rest_url, stream_url)

    def parse_frame(self, raw: str | bytes, received_ms: int | None = None,
                    received_mono: float | None = None) -> list[Any]:
        """A user- or market-stream frame -> typed events (venues/binance/events.py)."""
        return events.parse_frame(raw, received_ms, received_mono)

    def market_stream_url(self, stream_base: str) -> str:
        """/market/stream on the stream base (mark prices SUBSCRIBEd on the connection)."""
        return hosts.market_stream_url(stream_base)

    def mark_price_subscription(self, subscribe: bool, symbols: list[str],
                                request_id: int) -> str:
        """One SUBSCRIBE / UNSUBSCRIBE of the symbols' 1 s mark-price streams (Binance counts
        control messages against a per-connection rate limit, hence one for all)."""
        params = [hosts.mark_price_stream(s) for s in symbols]
        return json.dumps({"method": "SUBSCRIBE" if subscribe else "UNSUBSCRIBE",
                           "params": params, "id": request_id})

    def user_stream_url(self, stream_base: str, key: str) -> str:
        """/private/ws?listenKey=<key> on the stream base."""
        return hosts.user_stream_url(stream_base, key)

    def open_user_stream(self, rest_url: str, api_key: str, timeout_secs: float) -> str:
        """POST a listenKey."""
        return listen_key.create(rest_url, api_key, timeout_secs)

    def keep_user_stream(self, rest_url: str, api_key: str, key: str,
                         timeout_secs: float) -> None:
        """PUT the listenKey (Binance extends the account's one live key: `key` unused)."""
        listen_key.keep_alive(rest_url, api_key, timeout_secs)

    def open_gateway(self, environment: str, base_url: str | None, credentials: Credentials,
                     timeout_ms: int) -> Gateway:
        """A Gateway over a new ccxt.binanceusdm (imports ccxt: exchange workers only)."""
        from venues.binance.gateway import Gateway as BinanceGateway
        from venues.binance.gateway import build_client
        return BinanceGateway(build_client(venue=environment, base_url=base_url,
                                           api_key=credentials.api_key,
                                           secret=credentials.secret, timeout_ms=timeout_ms))

    async def open_async_gateway(self, environment: str, base_url: str | None,
                                 credentials: Credentials, timeout_ms: int) -> AsyncGateway:
        """An AsyncGateway over a new ccxt.async_support.binanceusdm on the running loop
        (imports ccxt: exchange workers only)."""
        from venues.binance.async_gateway import open_async_gateway
        return await open_async_gateway(venue=environment, base_url=base_url,
                                        api_key=credentials.api_key, secret=credentials.secret,
                                        timeout_ms=timeout_ms)
