"""The Bybit gateway over `ccxt.async_support.bybit`: many calls in flight on one event loop.

The same programs, translation and retries as the blocking gateway (gateway.py), on the
driver every venue shares (venues/driver.py `AsyncGateway`: each operation's rate-limit
report is found through a ContextVar and filled by ccxt's on_rest_response hook).
"""

from __future__ import annotations

from typing import Any

from venues.bybit.gateway import DIALECT, build_client
from venues.driver import AsyncGateway as _Driver


class AsyncGateway(_Driver):
    """Typed exchange operations over one ccxt.async_support.bybit, concurrently."""

    def __init__(self, client: Any, **kw: Any) -> None:
        super().__init__(client, DIALECT, **kw)


async def open_async_gateway(*, venue: str, base_url: str | None, api_key: str, secret: str,
                             timeout_ms: int) -> AsyncGateway:
    """An AsyncGateway on a new ccxt.async_support.bybit (call on the loop that runs it)."""
    return AsyncGateway(build_client(venue=venue, base_url=base_url, api_key=api_key,
                                     secret=secret, timeout_ms=timeout_ms, asynchronous=True))
