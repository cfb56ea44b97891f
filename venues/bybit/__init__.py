"""The Bybit v5 USDT perpetual adapter (venue/interface.py's Venue for `exchange.name: bybit`,
category=linear, one-way mode).

- adapter.py: Bybit, the Venue (capabilities, rate limits, streams, the private socket's
  greeting and heartbeat, the gateway factory);
- hosts.py: the environments' hosts and the stream URLs built on one base;
- events.py: stream frames -> typed events; stream.py: the auth / subscribe / ping frames;
- gateway.py / async_gateway.py: the ccxt gateways (import ccxt: exchange workers only),
  with operations.py (how operations become v5 calls), orders.py (request bodies, Bybit's
  orders as OrderInfo), errors.py (retCodes -> remedy groups, the X-Bapi-* headers),
  calls.py (one call as data, retries) and history.py (what became of a stop);
- ccxt_factory.py: an unmodified ccxt.bybit pointed at any base URL.
"""

from venues.bybit.adapter import Bybit

__all__ = ["Bybit"]
