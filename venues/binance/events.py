"""Binance USDT-M stream frames -> typed events (venue/events.py).

A malformed frame raises FrameError naming what is wrong; the caller logs and counts it and
goes on (a bad frame is never fatal). Events we do not use (e.g. TRADE_LITE, MARGIN_CALL) are
returned as an empty list, not errors.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from venue.envelope import now_ms
from venue.events import AlgoUpdate, MarkPrice, OrderUpdate, PositionUpdate
from venue.interface import FrameError, UserStreamExpired


def parse_frame(raw: str | bytes, received_ms: int | None = None,
                received_mono: float | None = None) -> list[Any]:
    """One WebSocket text frame -> zero or more typed events.

    `received_ms` (wall clock) and `received_mono` (time.monotonic, comparable across the
    actor processes) are when the frame was read; each defaults to now.
    """
    if received_mono is None:
        received_mono = time.monotonic()  # before decoding: the decode is part of the route
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise FrameError(f"not JSON: {e}") from e
    except RecursionError as e:  # e.g. "[[[[..." 100,000 deep: the decoder recurses per level
        raise FrameError("not JSON: nested too deeply") from e
    if isinstance(data, dict) and "stream" in data and "data" in data:
        data = data["data"]  # combined-stream wrapper
    if not isinstance(data, dict):
        raise FrameError(f"expected a JSON object, got {type(data).__name__}")
    return parse_event(data, now_ms() if received_ms is None else received_ms, received_mono)


def parse_event(d: dict[str, Any], received_ms: int,
                received_mono: float | None = None) -> list[Any]:
    """A decoded event object -> typed events, stamped with when the frame was read."""
    rx = _Received(received_ms, time.monotonic() if received_mono is None else received_mono)
    kind = d.get("e")
    if kind is None and "result" in d and "id" in d:
        return []  # SUBSCRIBE / UNSUBSCRIBE acknowledgement
    try:
        if kind == "ACCOUNT_UPDATE":
            return _account(d, rx)
        if kind == "ORDER_TRADE_UPDATE":
            return [_order(d, rx)]
        if kind == "ALGO_UPDATE":
            return [_algo(d, rx)]
        if kind == "markPriceUpdate":
            return [MarkPrice(_str(d, "s"), _dec(d, "p"), _int(d, "E"), engine_ms=rx.ms,
                              received_mono=rx.mono)]
        if kind == "listenKeyExpired":
            raise UserStreamExpired(str(d.get("listenKey", "")))  # listenKeyExpired
    except (KeyError, TypeError, AttributeError) as e:
        raise FrameError(f"{kind}: missing or malformed field {e}") from e
    if kind is None:
        raise FrameError("no event type ('e')")
    return []


class _Received(NamedTuple):
    """When the frame was read, on both clocks."""

    ms: int
    mono: float


def _account(d: dict[str, Any], rx: _Received) -> list[PositionUpdate]:
    a = d["a"]
    if not isinstance(a, dict):
        raise FrameError("ACCOUNT_UPDATE: 'a' is not an object")
    reason = str(a.get("m", ""))
    out = []
    for p in a.get("P") or []:
        if not isinstance(p, dict):
            raise FrameError("ACCOUNT_UPDATE: a position entry is not an object")
        if p.get("ps", "BOTH") != "BOTH":
            continue  # hedge-mode legs are not managed by posguard (one-way mode only)
        out.append(PositionUpdate(_str(p, "s"), _dec(p, "pa"), _dec(p, "ep"), reason,
                                  _int(d, "E"), _int(d, "T", 0), engine_ms=rx.ms,
                                  received_mono=rx.mono))
    return out


def _order(d: dict[str, Any], rx: _Received) -> OrderUpdate:
    o = d["o"]
    return OrderUpdate(
        symbol=_str(o, "s"), client_id=_str(o, "c"), order_id=str(o["i"]),
        order_type=_str(o, "ot"), side=_str(o, "S"), exec_type=_str(o, "x"),
        status=_str(o, "X"), last_qty=_dec(o, "l"), cum_qty=_dec(o, "z"),
        avg_price=_dec(o, "ap"), realized_pnl=_dec(o, "rp", "0"),
        reduce_only=bool(o.get("R", False)), close_position=bool(o.get("cp", False)),
        event_ms=_int(d, "E"), tx_ms=_int(d, "T", 0), engine_ms=rx.ms,
        received_mono=rx.mono)


def _algo(d: dict[str, Any], rx: _Received) -> AlgoUpdate:
    o = d["o"]
    return AlgoUpdate(
        symbol=_str(o, "s"), client_id=_str(o, "caid"), algo_id=str(o["aid"]),
        order_type=_str(o, "o"), side=_str(o, "S"), status=_str(o, "X"),
        trigger_price=_dec(o, "tp", "0"), qty=_dec(o, "q", "0"),
        close_position=bool(o.get("cp", False)), reject_reason=str(o.get("rm", "")),
        event_ms=_int(d, "E"), engine_ms=rx.ms, received_mono=rx.mono)


def _str(d: dict[str, Any], key: str) -> str:
    v = d[key]
    if not isinstance(v, str) or not v and key == "s":
        raise FrameError(f"field {key!r} must be a non-empty string, got {v!r}")
    return v


# No price, quantity or PnL comes near this; a larger number is garbage, and computing with
# it would overflow Decimal's context (1e999999999 parses, but adding to it raises).
MAX_MAGNITUDE_DIGITS = 18
MAX_TIME_MS = 2 ** 63 - 1  # event times are journaled as 64-bit integers


def _dec(d: dict[str, Any], key: str, default: str | None = None) -> Decimal:
    v = d.get(key, default)
    if v is None:
        raise FrameError(f"missing field {key!r}")
    try:
        out = Decimal(str(v))
    except InvalidOperation as e:
        raise FrameError(f"field {key!r} is not a number: {v!r}") from e
    if not out.is_finite():
        raise FrameError(f"field {key!r} is not finite: {v!r}")
    if out and out.adjusted() >= MAX_MAGNITUDE_DIGITS:
        raise FrameError(f"field {key!r} is out of range: {v!r:.40}")
    return out


def _int(d: dict[str, Any], key: str, default: int | None = None) -> int:
    v = d.get(key, default)
    if v is None:
        raise FrameError(f"missing field {key!r}")
    try:
        out = int(v)  # Binance sometimes sends E as a string
    except (TypeError, ValueError, OverflowError) as e:  # OverflowError: JSON Infinity
        raise FrameError(f"field {key!r} is not an integer: {v!r}") from e
    if isinstance(v, bool) or not 0 <= out <= MAX_TIME_MS:
        raise FrameError(f"field {key!r} is out of range: {v!r:.40}")
    return out
