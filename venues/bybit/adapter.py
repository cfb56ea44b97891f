"""Bybit v5 USDT perpetuals (category=linear, one-way) behind the Venue interface.

Cheap to import and to pickle, as venues/binance/adapter.py: a stateless frozen dataclass;
ccxt is imported only by the gateway factories, inside an exchange worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from venue.hosts import VenueHosts
from venue.interface import AsyncGateway, Capabilities, Credentials, Gateway, RateLimits, Venue
from venue.requests import (
    AmendStop,
    CancelStop,
    FetchAccount,
    FetchLimits,
    FetchPositions,
    FetchSymbol,
    LookupOrder,
    PlaceMarket,
    PlaceStop,
)
from venues.bybit import events, hosts, stream

CAPABILITIES = Capabilities(
    native_trailing=True,          # the position-attached trailing stop (trading-stop)
    amend_in_place=True,           # /v5/order/amend takes triggerPrice (and qty)
    close_position_stop=True,      # qty "0" + reduceOnly + closeOnTrigger (posguard sends qty)
    client_id_max_len=36,          # orderLinkId: letters, digits, "-" and "_", at most 36
    client_id_charset="A-Za-z0-9_-",
    # Bybit trails by a price distance, not a percent, and bounds it by price only: the
    # engine's callback rate becomes a distance at placement (orders.trailing_distance).
    # The bounds are Binance's so a policy is valid on both venues.
    trailing_callback_pct=("0.1", "10", "0.1"),
    stop_history=True,             # /v5/order/realtime + /history by orderLinkId
    # trading-stop's trailingStop is the position's: Bybit sizes it with every fill and
    # clears it when the position closes (trading-stop.mdx, cancelType CancelByTpSlTsClear).
    native_trailing_follows_position=True,
)

LIMITS = RateLimits(
    order_windows_secs=(1.0, 60.0),    # per-second endpoint limits; a minute for the budget
    weight_window_secs=5.0,            # the IP limit: 600 requests per 5 s
    weight_limit=600,
    weight_code=None,                  # the IP limit answers HTTP 403 without a code
    orders_code=10006,                 # "Too many visits!" (per UID, per endpoint, per second)
    default_ban_secs=600.0,            # a 403: "stop every session and wait at least 10 min"
    # One HTTP request is one unit of the IP limit. A placement is one create (a market
    # order is read back once), a trailing stop a position read, trading-stop and an order
    # read; a lookup is realtime then history; FetchSymbol position + orders (+ 2 per stop
    # explained); FetchAccount positions + orders.
    weights=((PlaceMarket, 2), (PlaceStop, 1), (AmendStop, 1), (CancelStop, 1),
             (LookupOrder, 2), (FetchSymbol, 2), (FetchPositions, 1), (FetchAccount, 2),
             (FetchLimits, 0)),
    default_weight=1,
    weight_per_explained_stop=2,
    # Bybit's create (and amend) limit is 10/s per UID; posguard keeps 2/s of it for the
    # trader's own clients on the same account (the budget is the smaller of this and
    # exchange.orders_per_10s / orders_per_min, which count in these windows here).
    order_ceiling=(8, 480),
    cancel_window=(1.0, 8),            # cancel 10/s per UID, the same margin kept
    ban_http_status=403,
    # Bybit's limits are rolling per second and its headers report only the endpoint's
    # remaining count, not the IP's: the pool counts what it sent, and a slot stays taken
    # until one window after the reply (a request still in flight may yet be counted).
    weight_reported=False,
    hold_until_reply=True,
)


@dataclass(frozen=True, slots=True)
class Bybit(Venue):
    """Bybit linear perpetuals: live, Demo Trading, testnet, or the simulator."""

    name: ClassVar[str] = "bybit"
    environments: ClassVar[tuple[str, ...]] = hosts.VENUES
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    limits: ClassVar[RateLimits] = LIMITS
    heartbeat_secs: ClassVar[float] = 20.0
    user_stream_keepalive: ClassVar[bool] = False

    def hosts(self, environment: str, rest_url: str = "", stream_url: str = "") -> VenueHosts:
        """The environment's hosts (venues/bybit/hosts.py), overrides applied."""
        return hosts.resolve(environment, rest_url, stream_url)

    def parse_frame(self, raw: str | bytes, received_ms: int | None = None,
                    received_mono: float | None = None) -> list[Any]:
        """A private- or public-stream frame -> typed events (venues/bybit/events.py)."""
        return events.parse_frame(raw, received_ms, received_mono)

    def market_stream_url(self, stream_base: str) -> str:
        """/v5/public/linear on the stream base (demo: mainnet's public stream)."""
        return hosts.market_stream_url(stream_base)

    def mark_price_subscription(self, subscribe: bool, symbols: list[str],
                                request_id: int) -> str:
        """One (un)subscribe of the symbols' tickers (markPrice rides in them). Bybit caps a
        connection's args at 21,000 characters (~1,200 symbols): past that ValueError names
        the cap (split the symbols over more market shards; one frame is what the interface
        returns)."""
        frames = stream.ticker_subscriptions(subscribe, symbols, request_id)
        if len(frames) > 1:
            raise ValueError(f"bybit: {len(symbols)} tickers exceed one request's "
                             f"{stream.MAX_ARGS_CHARS}-character args limit")
        return frames[0]

    def user_stream_url(self, stream_base: str, key: str) -> str:
        """/v5/private on the stream base (no session key: `key` is "")."""
        return hosts.user_stream_url(stream_base)

    def open_user_stream(self, rest_url: str, api_key: str, timeout_secs: float) -> str:
        """No session to open: the private socket authenticates itself (the greeting)."""
        return ""

    def keep_user_stream(self, rest_url: str, api_key: str, key: str,
                         timeout_secs: float) -> None:
        """Nothing to keep alive (user_stream_keepalive is False; the ping keeps the socket)."""

    def user_stream_greeting(self, credentials: Credentials, now_ms: int) -> list[str]:
        """`op: auth` signed with the secret, then the subscription of position, order,
        execution and wallet (sent back to back, as pybit does)."""
        return [stream.auth_frame(credentials.api_key, credentials.secret, now_ms),
                stream.private_subscription()]

    def heartbeat_frame(self, request_id: int) -> str | None:
        """`{"req_id": "<n>", "op": "ping"}` (every heartbeat_secs on both sockets)."""
        return stream.ping_frame(request_id)

    def open_gateway(self, environment: str, base_url: str | None, credentials: Credentials,
                     timeout_ms: int) -> Gateway:
        """A Gateway over a new ccxt.bybit (imports ccxt: exchange workers only)."""
        from venues.bybit.gateway import Gateway as BybitGateway
        from venues.bybit.gateway import build_client
        return BybitGateway(build_client(venue=environment, base_url=base_url,
                                         api_key=credentials.api_key,
                                         secret=credentials.secret, timeout_ms=timeout_ms))

    async def open_async_gateway(self, environment: str, base_url: str | None,
                                 credentials: Credentials, timeout_ms: int) -> AsyncGateway:
        """An AsyncGateway over a new ccxt.async_support.bybit on the running loop."""
        from venues.bybit.async_gateway import open_async_gateway
        return await open_async_gateway(venue=environment, base_url=base_url,
                                        api_key=credentials.api_key, secret=credentials.secret,
                                        timeout_ms=timeout_ms)
