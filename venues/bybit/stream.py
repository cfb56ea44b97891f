"""The frames posguard sends on Bybit's sockets (protocol/bybit-linear.md "Private
WebSocket", Bybit's websocket/wss-authentication.mdx, checked against ccxt.pro 4.5.90 and
pybit 5.17.0): the private socket's `op: auth` and topic subscription, the application ping
both sockets need, and the public tickers subscription.
"""

from __future__ import annotations

import hashlib
import hmac
import json

PRIVATE_TOPICS = ("position", "order", "execution", "wallet")
"""All-in-one topic names (every category; linear rows are kept by events.py)."""

AUTH_EXPIRES_MS = 10_000
"""How far ahead the auth signature expires (ccxt.pro: now + 10 s; pybit: now + 1 s)."""

MAX_ARGS_CHARS = 21_000
"""One connection's subscription args are limited to 21,000 characters (rate-limit.mdx)."""


def auth_frame(api_key: str, secret: str, now_ms: int) -> str:
    """`op: auth`: HMAC-SHA256(secret, "GET/realtime" + expires), lowercase hex."""
    expires = now_ms + AUTH_EXPIRES_MS
    sign = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(),
                    hashlib.sha256).hexdigest()
    return json.dumps({"req_id": "auth", "op": "auth", "args": [api_key, expires, sign]})


def private_subscription() -> str:
    """Subscribe the private topics posguard reads, in one request."""
    return json.dumps({"req_id": "topics", "op": "subscribe", "args": list(PRIVATE_TOPICS)})


def ping_frame(request_id: int) -> str:
    """The application ping (every 20 s; without ping or data Bybit cuts at 10 min)."""
    return json.dumps({"req_id": str(request_id), "op": "ping"})


def ticker_topic(symbol: str) -> str:
    """The ticker topic of `symbol` (mark price rides in it: there is no mark-price topic)."""
    return f"tickers.{symbol}"


def ticker_subscriptions(subscribe: bool, symbols: list[str], request_id: int) -> list[str]:
    """(Un)subscribe frames for the symbols' tickers, each frame's args under the 21,000
    character limit (split into as many frames as needed, request ids counting up)."""
    op = "subscribe" if subscribe else "unsubscribe"
    frames: list[str] = []
    batch: list[str] = []
    size = 0
    for topic in (ticker_topic(s) for s in symbols):
        cost = len(topic) + 4  # quotes, comma and space as json.dumps writes them
        if batch and size + cost > MAX_ARGS_CHARS:
            frames.append(json.dumps({"req_id": str(request_id + len(frames)), "op": op,
                                      "args": batch}))
            batch, size = [], 0
        batch.append(topic)
        size += cost
    frames.append(json.dumps({"req_id": str(request_id + len(frames)), "op": op,
                              "args": batch}))
    return frames
