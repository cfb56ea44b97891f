"""The Binance USD-M gateway over `ccxt.async_support`: many calls in flight on one event loop.

The same operations as the blocking gateway (gateway.py) with the same results, the same
error translation and the same retries: both drive the programs of operations.py through
calls.py, on the driver every venue shares (venues/driver.py `AsyncGateway`, which says how
each operation's rate-limit report is kept apart from the others in flight).

One client (one aiohttp session, kept-alive connections) serves every operation; it must be
created, used and closed on the loop that runs it (`open_async_gateway` runs on that loop).
"""

from __future__ import annotations

from typing import Any

from venues.binance.gateway import DIALECT, build_client
from venues.driver import AsyncGateway as _Driver


class AsyncGateway(_Driver):
    """Typed exchange operations over one ccxt.async_support.binanceusdm, concurrently."""

    def __init__(self, client: Any, **kw: Any) -> None:
        super().__init__(client, DIALECT, **kw)


async def open_async_gateway(*, venue: str, base_url: str | None, api_key: str, secret: str,
                             timeout_ms: int) -> AsyncGateway:
    """An AsyncGateway on a new ccxt.async_support.binanceusdm (call on the loop that will
    run it): the same venue switch and URLs as the blocking gateway's build_client."""
    return AsyncGateway(build_client(venue=venue, base_url=base_url, api_key=api_key,
                                     secret=secret, timeout_ms=timeout_ms, asynchronous=True))
