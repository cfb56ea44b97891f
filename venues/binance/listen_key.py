"""The user stream's session on Binance USD-M: the listenKey (protocol/binance-usdm.md).

POST /fapi/v1/listenKey creates the key (or returns the live one, extended), PUT keeps it
alive (a key lives 60 min unless PUT); both carry only the API-key header, no signature.
Made with a short timeout: they happen once per connection and once per keepalive interval,
and only the user stream actor waits for them (nobody sends to it but the supervisor).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from venue.interface import UserStreamKeyError
from venues.binance.hosts import LISTEN_KEY_PATH


def create(rest_url: str, api_key: str, timeout_secs: float) -> str:
    """POST a listen key; the key."""
    body = _call("POST", rest_url, api_key, timeout_secs)
    key = body.get("listenKey") if isinstance(body, dict) else None
    if not isinstance(key, str) or not key:
        raise UserStreamKeyError(f"POST listenKey: no key in the reply {body!r:.200}")
    return key


def keep_alive(rest_url: str, api_key: str, timeout_secs: float) -> None:
    """PUT: extend the account's live listen key by another 60 minutes."""
    _call("PUT", rest_url, api_key, timeout_secs)


def _call(method: str, rest_url: str, api_key: str, timeout_secs: float) -> Any:
    req = urllib.request.Request(rest_url + LISTEN_KEY_PATH, method=method, data=b"",
                                 headers={"X-MBX-APIKEY": api_key})
    try:
        with urllib.request.urlopen(req, timeout=timeout_secs) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        raise UserStreamKeyError(f"{method} listenKey: HTTP {e.code} "
                                 f"{e.read()[:200].decode('utf-8', 'replace')}") from e
    except (OSError, ValueError) as e:
        raise UserStreamKeyError(f"{method} listenKey: {e}") from e
