"""Where each Binance USDT-M environment lives, and how its stream URLs are built from one base.

Binance split its USDT-M WebSocket entry points on 2026-03-06 and retired the legacy `/ws`
and `/stream` paths on 2026-04-23 (protocol/binance-usdm.md, "What changed on the venue"):
market data now lives under `<base>/market/...`, high-frequency public data under
`<base>/public/...` and the user-data stream under `<base>/private/...`. Every stream URL the
engine opens is built here from the venue's one stream base, so no actor spells a path
(the adapter, venues/binance/adapter.py, hands them to the stream actors).

Hosts, by source (the venue's own SDK first, then ccxt, which many traders run on demo):
- live: REST `https://fapi.binance.com`, streams `wss://fstream.binance.com` (binance-common
  constants, ccxt 4.5.90).
- demo (Binance Demo Trading, its preferred paper venue): REST `https://demo-fapi.binance.com`
  (binance-common's DEMO constant; ccxt `enable_demo_trading`). Binance's SDK names no demo
  stream host; ccxt 4.5.90 uses `wss://fstream.binancefuture.com` and so do we. Another
  client (NautilusTrader) uses `wss://demo-fstream.binance.com`: `exchange.stream_url`
  overrides the host without a code change if Binance says otherwise.
- testnet (the legacy futures testnet): REST `https://testnet.binancefuture.com`, streams
  `wss://fstream.binancefuture.com` (binance-common TESTNET constants, ccxt sandbox mode).
"""

from __future__ import annotations

from urllib.parse import quote

from venue.hosts import VenueHosts, VenueURLError, check_base, stream_base_of

VENUES = ("live", "demo", "testnet")
"""The Binance venues `exchange.venue` may name (mode: live)."""

LISTEN_KEY_PATH = "/fapi/v1/listenKey"
"""POST (create or extend and return the live key), PUT (keepalive), DELETE."""


BINANCE_HOSTS: dict[str, VenueHosts] = {
    "live": VenueHosts("live", "https://fapi.binance.com", "wss://fstream.binance.com"),
    "demo": VenueHosts("demo", "https://demo-fapi.binance.com",
                       "wss://fstream.binancefuture.com"),
    "testnet": VenueHosts("testnet", "https://testnet.binancefuture.com",
                          "wss://fstream.binancefuture.com"),
}


def resolve(venue: str, rest_url: str = "", stream_url: str = "") -> VenueHosts:
    """The venue's hosts, with an explicit REST or stream base replacing its default."""
    if venue not in BINANCE_HOSTS:
        raise VenueURLError(f"venue {venue!r} is not one of {', '.join(VENUES)}")
    hosts = BINANCE_HOSTS[venue]
    rest = check_base(rest_url, ("http", "https"), "exchange.rest_url") if rest_url \
        else hosts.rest_url
    if stream_url:
        stream = check_base(stream_url, ("ws", "wss"), "exchange.stream_url")
    elif rest_url:
        stream = stream_base_of(rest)  # a REST override without a stream one: same server
    else:
        stream = hosts.stream_base
    return VenueHosts(venue, rest, stream)


# ---------------------------------------------------------------------------- stream URLs


def mark_price_stream(symbol: str) -> str:
    """The 1 s mark-price stream name of `symbol` (lower case, as Binance names streams)."""
    return f"{symbol.lower()}@markPrice@1s"


def market_stream_url(stream_base: str) -> str:
    """The market-data entry point in stream mode; streams are SUBSCRIBEd on the connection.

    Stream mode (frames wrapped as {"stream", "data"}) with live SUBSCRIBE is what Binance's
    own SDK does on /market/stream, so it is the venue's own client's path, not a guess.
    """
    return f"{stream_base}/market/stream"


def user_stream_url(stream_base: str, listen_key: str) -> str:
    """The user-data stream of one listenKey (ws mode: raw event frames)."""
    return f"{stream_base}/private/ws?listenKey={quote(listen_key, safe='')}"
