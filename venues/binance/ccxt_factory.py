"""Build an unmodified ccxt.binanceusdm pointed at any base URL (the simulator, a proxy).

The recipe of protocol/binance-usdm.md: override only the USD-M API URLs (keeping their
/fapi/vN paths), skip the spot currency fetch, and restore the linear error table that
ccxt otherwise picks by the real host name.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import ccxt
import ccxt.async_support as ccxt_async

URL_KEYS = ("fapiPublic", "fapiPublicV2", "fapiPublicV3",
            "fapiPrivate", "fapiPrivateV2", "fapiPrivateV3", "fapiData")
_HOST = re.compile(r"^https://[^/]+")


def _check_base(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ValueError(f"base_url must be scheme://host[:port], got {base_url!r}")
    return base_url.rstrip("/")


def make_binanceusdm(base_url: str, api_key: str, secret: str, *, asynchronous: bool = False,
                     timeout_ms: int = 10000):
    """A ccxt.binanceusdm (or its async twin) whose USD-M endpoints live at `base_url`."""
    return point_at(new_binanceusdm(api_key, secret, timeout_ms, asynchronous=asynchronous),
                    base_url)


def new_binanceusdm(api_key: str, secret: str, timeout_ms: int, *, asynchronous: bool = False):
    """A ccxt.binanceusdm (or its async twin) at Binance's own hosts, throttle on."""
    if timeout_ms <= 0:
        raise ValueError(f"timeout_ms must be > 0, got {timeout_ms}")
    cls = ccxt_async.binanceusdm if asynchronous else ccxt.binanceusdm
    return cls({
        "apiKey": api_key, "secret": secret, "timeout": timeout_ms,
        "enableRateLimit": True,
        # Without this load_markets first calls GET /sapi/v1/capital/config/getall.
        "options": {"fetchCurrencies": False},
    })


def point_at(ex, base_url: str):
    """Move `ex`'s USD-M endpoints (whatever venue they name now) to `base_url`'s host."""
    base = _check_base(base_url)
    for key in URL_KEYS:
        url = ex.urls["api"].get(key)
        if url is None:  # e.g. ccxt's demo URLs have no fapiData; nothing to move
            continue
        if not _HOST.match(url):
            raise RuntimeError(f"ccxt URL {key}={url!r} no longer starts with https://host")
        ex.urls["api"][key] = _HOST.sub(base, url)
    # ccxt picks its USD-M error table by URL prefix; a local URL would turn -2021, -2022,
    # -4164 ... into plain ExchangeError. Put the linear table back.
    ex.exceptions["exact"].update(ex.exceptions["linear"]["exact"])
    ex.exceptions["broad"].update(ex.exceptions["linear"].get("broad", {}))
    return ex
