"""The Binance USD-M gateway: the only place that talks to ccxt.

- Paper mode points an unmodified `ccxt.binanceusdm` at the simulator; live mode at Binance
  with keys from the environment.
- ccxt errors are translated once (venues/binance/errors.py) into errors grouped by
  remedy (FailureKind); which calls an operation makes, and its reply, are written once too
  (venues/binance/operations.py), shared with the asynchronous gateway (async_gateway.py);
  both run on the driver every venue shares (venues/driver.py). This one runs one call at a
  time (`posguard check`, the I/O bench's baseline).
- Order placement is never retried: a timeout becomes UNKNOWN_OUTCOME and the caller looks
  the order up by its deterministic client id. Reads retry with jittered exponential backoff.
- Account-wide order budgets are enforced by the caller (the exchange pool), not here; the
  gateway reports what the venue said about them after every call (rate_usage: the
  X-MBX-* headers, and a 429/418 with its Retry-After), and never retries into a 429/418.
Runs only where ccxt may be imported (ccxt costs ~64 MB of memory per process).
"""

from __future__ import annotations

from typing import Any

import ccxt

from venues.binance import operations
from venues.binance.calls import CallReport, failed
from venues.binance.hosts import VENUES
from venues.driver import Dialect, SyncGateway


def build_client(*, venue: str, base_url: str | None, api_key: str, secret: str,
                 timeout_ms: int, asynchronous: bool = False) -> ccxt.binanceusdm:
    """A sync ccxt.binanceusdm (or its ccxt.async_support twin) for `venue`, at `base_url`
    instead of its hosts when given.

    The venue switch is ccxt's own (demo: `enable_demo_trading`, testnet: sandbox mode), so
    the hosts are the ones ccxt's maintainers keep current; `base_url` (the simulator, or
    exchange.rest_url) then replaces only the host of each USD-M URL.
    """
    if venue not in (*VENUES, "simulator"):
        raise ValueError(f"unknown venue {venue!r}")
    from venues.binance.ccxt_factory import new_binanceusdm, point_at
    client = new_binanceusdm(api_key, secret, timeout_ms, asynchronous=asynchronous)
    if venue == "demo":
        client.enable_demo_trading(True)
    elif venue == "testnet":
        # ccxt 4.5.90 refuses signed calls on the futures testnet unless told otherwise: it
        # calls it deprecated in favour of Demo Trading. Binance still serves it, so posguard
        # still reaches it when asked to (and `posguard check` says which venue it is on).
        client.set_sandbox_mode(True)
        client.options["disableFuturesSandboxWarning"] = True
    if base_url is not None:
        point_at(client, base_url)
    if venue == "simulator":
        # ccxt's throttle spaces a client's requests 50 ms apart (Binance's request weight);
        # in paper mode it would only add queueing (one client = 20 requests/s): the pool's
        # order budget and the server's own rate-limit headers pace the engine instead.
        client.enableRateLimit = False
    return client


DIALECT = Dialect(operations.warm_up, operations.program, CallReport, failed)
"""Binance's programs and call translation, for the shared driver (venues/driver.py)."""


class Gateway(SyncGateway):
    """Typed exchange operations over one sync ccxt.binanceusdm, one call at a time."""

    def __init__(self, client: ccxt.binanceusdm, **kw: Any) -> None:
        super().__init__(client, DIALECT, **kw)
