"""Where each Bybit environment lives, and how its stream URLs are built from one base.

Hosts (protocol/bybit-linear.md "Hosts": Bybit's docs guide.mdx, demo.mdx,
websocket/wss-authentication.mdx; the same hosts as ccxt 4.5.90 and pybit 5.17.0):
- live: REST `https://api.bybit.com`, streams `wss://stream.bybit.com`.
- demo (Demo Trading): REST `https://api-demo.bybit.com`, private stream
  `wss://stream-demo.bybit.com`; demo has no public stream of its own: its market data is
  mainnet's (ccxt.pro does the same), so the market URL of the demo base is mainnet's.
- testnet: REST `https://api-testnet.bybit.com`, streams `wss://stream-testnet.bybit.com`.
"""

from __future__ import annotations

from venue.hosts import VenueHosts, VenueURLError, check_base, stream_base_of

VENUES = ("live", "demo", "testnet")
"""The Bybit environments `exchange.venue` may name (mode: live)."""

MAINNET_STREAM = "wss://stream.bybit.com"
DEMO_STREAM = "wss://stream-demo.bybit.com"

BYBIT_HOSTS: dict[str, VenueHosts] = {
    "live": VenueHosts("live", "https://api.bybit.com", MAINNET_STREAM),
    "demo": VenueHosts("demo", "https://api-demo.bybit.com", DEMO_STREAM),
    "testnet": VenueHosts("testnet", "https://api-testnet.bybit.com",
                          "wss://stream-testnet.bybit.com"),
}

PUBLIC_PATH = "/v5/public/linear"
PRIVATE_PATH = "/v5/private"


def resolve(venue: str, rest_url: str = "", stream_url: str = "") -> VenueHosts:
    """The venue's hosts, with an explicit REST or stream base replacing its default."""
    if venue not in BYBIT_HOSTS:
        raise VenueURLError(f"venue {venue!r} is not one of {', '.join(VENUES)}")
    hosts = BYBIT_HOSTS[venue]
    rest = check_base(rest_url, ("http", "https"), "exchange.rest_url") if rest_url \
        else hosts.rest_url
    if stream_url:
        stream = check_base(stream_url, ("ws", "wss"), "exchange.stream_url")
    elif rest_url:
        stream = stream_base_of(rest)  # a REST override without a stream one: same server
    else:
        stream = hosts.stream_base
    return VenueHosts(venue, rest, stream)


def market_stream_url(stream_base: str) -> str:
    """The public linear stream (tickers.{symbol} subscribed on the connection); the demo
    base has none of its own: mainnet's public stream serves demo."""
    base = MAINNET_STREAM if stream_base.rstrip("/") == DEMO_STREAM else stream_base
    return f"{base}{PUBLIC_PATH}"


def user_stream_url(stream_base: str) -> str:
    """The private stream: it carries no session key (the socket authenticates itself)."""
    return f"{stream_base}{PRIVATE_PATH}"
