"""Build an unmodified ccxt.bybit pointed at any base URL (the simulator, a proxy).

The recipe of protocol/bybit-linear.md "Pointing unmodified clients at a local server":
linear markets only (else spot, inverse and six option-coin calls), no currency fetch (a
signed /v5/asset/coin/query-info first), the account declared unified (else ccxt's UTA
probe: /v5/user/query-api and /v5/account/info before the first private call), and the two
URL keys every v5 call is built from moved to the base.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import ccxt
import ccxt.async_support as ccxt_async

URL_KEYS = ("public", "private")


def _check_base(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ValueError(f"base_url must be scheme://host[:port], got {base_url!r}")
    return base_url.rstrip("/")


def new_bybit(api_key: str, secret: str, timeout_ms: int, *, asynchronous: bool = False):
    """A ccxt.bybit (or its async twin) at Bybit's own hosts, throttle on, linear only."""
    if timeout_ms <= 0:
        raise ValueError(f"timeout_ms must be > 0, got {timeout_ms}")
    cls = ccxt_async.bybit if asynchronous else ccxt.bybit
    return cls({
        "apiKey": api_key, "secret": secret, "timeout": timeout_ms, "enableRateLimit": True,
        "has": {"fetchCurrencies": False},
        "options": {"fetchMarkets": {"types": ["linear"]}, "defaultType": "swap",
                    "enableUnifiedAccount": True, "enableUnifiedMargin": False},
    })


def point_at(ex, base_url: str):
    """Move `ex`'s v5 endpoints (whatever environment they name now) to `base_url`."""
    base = _check_base(base_url)
    for key in URL_KEYS:
        ex.urls["api"][key] = base
    return ex


def make_bybit(base_url: str, api_key: str, secret: str, *, asynchronous: bool = False,
               timeout_ms: int = 10000):
    """A ccxt.bybit (or its async twin) whose v5 endpoints live at `base_url`."""
    return point_at(new_bybit(api_key, secret, timeout_ms, asynchronous=asynchronous), base_url)
