"""The Bybit gateway over a blocking ccxt.bybit: one call at a time (`posguard check`).

The driver every venue shares (venues/driver.py) over this adapter's programs (operations.py):
placements and amends are one attempt (a network failure is UNKNOWN_OUTCOME: the caller
looks the order up by its orderLinkId), reads retry with jittered backoff but never into a
10006 / 403. Runs only where ccxt may be imported.
"""

from __future__ import annotations

from typing import Any

from venues.bybit import operations
from venues.bybit.calls import CallReport, failed, succeeded
from venues.bybit.hosts import VENUES
from venues.driver import Dialect, SyncGateway


def build_client(*, venue: str, base_url: str | None, api_key: str, secret: str,
                 timeout_ms: int, asynchronous: bool = False) -> Any:
    """A ccxt.bybit (or its async twin) for `venue`, at `base_url` instead of its hosts
    when given. The venue switch is ccxt's own (demo: enable_demo_trading, testnet: sandbox
    mode), so its maintainers keep the hosts current."""
    if venue not in (*VENUES, "simulator"):
        raise ValueError(f"unknown venue {venue!r}")
    from venues.bybit.ccxt_factory import new_bybit, point_at
    client = new_bybit(api_key, secret, timeout_ms, asynchronous=asynchronous)
    if venue == "demo":
        client.enable_demo_trading(True)
    elif venue == "testnet":
        client.set_sandbox_mode(True)
    if base_url is not None:
        point_at(client, base_url)
    if venue == "simulator":
        # ccxt's throttle would only queue in paper mode: the pool's budget paces the engine.
        client.enableRateLimit = False
    return client


DIALECT = Dialect(operations.warm_up, operations.program, CallReport, failed, succeeded)
"""Bybit's programs and call translation, for the shared driver (venues/driver.py)."""


class Gateway(SyncGateway):
    """Typed exchange operations over one sync ccxt.bybit, one call at a time."""

    def __init__(self, client: Any, **kw: Any) -> None:
        super().__init__(client, DIALECT, **kw)
