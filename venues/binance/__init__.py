"""The Binance USDT-M futures adapter (venue/interface.py's Venue for `exchange.name:
binanceusdm`).

- adapter.py: BinanceUsdm, the Venue (capabilities, rate limits, streams, the user stream's
  listenKey, the gateway factory);
- hosts.py: the environments' hosts and the stream URLs built on one base;
- events.py: stream frames -> typed events;
- listen_key.py: the listenKey REST calls;
- gateway.py: the ccxt gateway (imports ccxt: exchange workers only), with orders.py (how
  operations become ccxt calls), errors.py (ccxt errors -> remedy groups, the X-MBX-* headers)
  and history.py (what became of a stop);
- ccxt_factory.py: an unmodified ccxt.binanceusdm pointed at any base URL.
"""

from venues.binance.adapter import BinanceUsdm

__all__ = ["BinanceUsdm"]
