"""The JSON requests every Binance stream connection takes, answered in Binance's shapes.

SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY, replies
`{"result": ..., "id": N}`, errors `{"error": {"code", "msg"}, "id": N}` with the codes and
texts of Binance's "Live Subscribing/Unsubscribing to streams" error table (code 0 unknown
property, 1 bad value type, 2 invalid request, 3 invalid JSON) and "Invalid request: invalid
stream" for a name that is not a stream (what Binance answered ccxt, ccxt PR #19833).

Request ids: Binance documents an unsigned integer; its own USDT-M SDK sends UUID strings
(binance_common `stream_messages`, `id_strict_int` off), so short strings are accepted too.
"""

from __future__ import annotations

import json
from typing import Protocol

METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
_MAX_ID_TEXT = 36


class Subscriptions(Protocol):
    """What a connection exposes to the request handler."""

    combined: bool
    """Frames wrapped as {"stream","data"} (the `combined` property)."""

    def resolve(self, params: list[str]) -> list | None:
        """The items `params` name, or None if one of them is not a stream."""

    def add(self, items: list) -> None:
        """Subscribe (idempotent)."""

    def remove(self, items: list) -> None:
        """Unsubscribe (names not subscribed are ignored)."""

    def listed(self) -> list[str]:
        """Current subscriptions as Binance echoes them."""


def _error(code: int, msg: str, rid) -> dict:
    return {"error": {"code": code, "msg": msg}, "id": rid}


def _id_ok(rid) -> bool:
    if rid is None:
        return True
    if isinstance(rid, bool):
        return False
    if isinstance(rid, int):
        return rid >= 0
    return isinstance(rid, str) and 0 < len(rid) <= _MAX_ID_TEXT


def answer(text: str, subs: Subscriptions) -> dict:
    """Apply one request to `subs` and return Binance's reply to it."""
    try:
        req = json.loads(text)
    except ValueError as e:
        line, col = getattr(e, "lineno", 1), getattr(e, "colno", 1)
        return _error(3, f"Invalid JSON: expected value at line {line} column {col}", None)
    if not isinstance(req, dict):
        return _error(2, "Invalid request: expected an object", None)
    rid = req.get("id")
    if not _id_ok(rid):
        return _error(2, "Invalid request: request ID must be an unsigned integer", None)
    method = req.get("method")
    if method is None:
        return _error(2, f"Invalid request: missing field `method` at line 1 column "
                         f"{len(text)}", rid)
    if method not in METHODS:
        expected = ", ".join(f"`{m}`" for m in METHODS)
        return _error(2, f"Invalid request: unknown variant `{method}`, expected one of "
                         f"{expected} at line 1 column 28", rid)
    params = req.get("params", [])
    if method in ("SET_PROPERTY", "GET_PROPERTY"):
        return _property(method, params, subs, rid)
    if method == "LIST_SUBSCRIPTIONS":
        return {"result": subs.listed(), "id": rid}
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        return _error(2, "Invalid request: invalid stream", rid)
    items = subs.resolve(params)
    if items is None:
        return _error(2, "Invalid request: invalid stream", rid)
    (subs.add if method == "SUBSCRIBE" else subs.remove)(items)
    return {"result": None, "id": rid}


def _property(method: str, params, subs: Subscriptions, rid) -> dict:
    if not isinstance(params, list) or not params or not isinstance(params[0], str):
        return _error(2, "Invalid request: property name must be a string", rid)
    if params[0] != "combined":
        return _error(0, "Unknown property", rid)
    if method == "GET_PROPERTY":
        return {"result": subs.combined, "id": rid}
    if len(params) != 2 or not isinstance(params[1], bool):
        return _error(1, "Invalid value type: expected Boolean", rid)
    subs.combined = params[1]
    return {"result": None, "id": rid}
