"""Bybit v5 stream frames -> typed events (venue/events.py).

Private topics (protocol/bybit-linear.md "Private WebSocket"; Bybit's
websocket/private/position.mdx, order.mdx): `position` rows become PositionUpdate (signed
size: Sell is negative, side "" is flat); `order` rows become OrderUpdate for plain orders
and AlgoUpdate for conditional orders and position-attached stops (venues/bybit/vocab.py);
a conditional order that trades also yields the OrderUpdate of its fill (Bybit's stop and
its execution are one order: the same orderId and orderLinkId run through), before its
AlgoUpdate FINISHED, the order Binance's child order and ALGO_UPDATE come in. `execution`
and `wallet` carry nothing the engine uses yet ([]). Only category linear, one-way
(positionIdx 0) rows are kept. Public `tickers.{symbol}`: a snapshot or a delta carrying
markPrice -> MarkPrice; a delta without it (markPrice unchanged) -> [].
Control answers: auth ack, subscribe ack and pong -> []; auth refused -> StreamAuthError;
subscribe refused -> FrameError (logged and counted: it names the venue's reason).
"""

from __future__ import annotations

import json
import time
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from venue.envelope import now_ms
from venue.events import AlgoUpdate, MarkPrice, OrderUpdate, PositionUpdate
from venue.interface import FrameError, StreamAuthError
from venue.vocab import ExecType
from venues.bybit import vocab

MAX_MAGNITUDE_DIGITS = 18
MAX_TIME_MS = 2 ** 63 - 1


class _Received(NamedTuple):
    """When the frame was read, on both clocks."""

    ms: int
    mono: float


def parse_frame(raw: str | bytes, received_ms: int | None = None,
                received_mono: float | None = None) -> list[Any]:
    """One WebSocket text frame -> zero or more typed events, stamped with when it was read."""
    if received_mono is None:
        received_mono = time.monotonic()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise FrameError(f"not JSON: {e}") from e
    except RecursionError as e:
        raise FrameError("not JSON: nested too deeply") from e
    if not isinstance(data, dict):
        raise FrameError(f"expected a JSON object, got {type(data).__name__}")
    rx = _Received(now_ms() if received_ms is None else received_ms, received_mono)
    if "topic" not in data:
        return _control(data)
    topic = data["topic"]
    if not isinstance(topic, str):
        raise FrameError(f"topic must be a string, got {topic!r:.40}")
    try:
        return _pushed(topic, data, rx)
    except FrameError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise FrameError(f"{topic}: missing or malformed field {e}") from e


def _control(d: dict[str, Any]) -> list[Any]:
    """An answer to one of our requests (auth, subscribe, ping) -> [] or the refusal."""
    op = d.get("op")
    if op in ("pong", "ping") or d.get("ret_msg") == "pong":
        return []
    ok = d.get("success") is True or str(d.get("retCode", "")) == "0"
    reason = str(d.get("ret_msg") or d.get("retMsg") or "no reason given")
    if op is None and isinstance(d.get("request"), dict):
        op = d["request"].get("op")  # ccxt's comment: a refusal may echo the request
    if op == "auth":
        if ok:
            return []
        raise StreamAuthError(f"bybit refused the private socket's auth: {reason}")
    if op in ("subscribe", "unsubscribe"):
        if ok:
            return []
        raise FrameError(f"bybit refused {op}: {reason}")
    raise FrameError(f"no topic and not an answer we know (op {op!r:.40})")


def _pushed(topic: str, d: dict[str, Any], rx: _Received) -> list[Any]:
    base = topic.split(".")[0]
    if base == "position":
        return [e for row in _rows(d) if (e := _position(row, d, rx)) is not None]
    if base == "order":
        out: list[Any] = []
        for row in _rows(d):
            out.extend(_order(row, d, rx))
        return out
    if base == "tickers":
        return _ticker(topic, d, rx)
    return []  # execution, wallet, anything else: nothing the engine reads


def _rows(d: dict[str, Any]) -> list[dict[str, Any]]:
    rows = d["data"]
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise FrameError(f"{d['topic']}: 'data' is not a list of objects")
    return [r for r in rows if r.get("category", "linear") == "linear"
            and int(r.get("positionIdx", 0) or 0) == 0]  # hedge legs are not posguard's


def _position(row: dict[str, Any], d: dict[str, Any], rx: _Received) -> PositionUpdate | None:
    size = _dec(row, "size")
    if "side" not in row:
        # Read as flat, a row without its side would cancel a live position's stop.
        raise FrameError("position: no side (Buy, Sell, or '' when flat)")
    side = row["side"]
    if side not in ("Buy", "Sell", ""):
        raise FrameError(f"position: side must be Buy, Sell or '', got {side!r:.40}")
    if side == "" and size != 0:
        raise FrameError(f"position: side '' (flat) with size {size}")
    amount = Decimal(0) if side == "" else -size if side == "Sell" else size
    entry = _dec(row, "entryPrice", _blank(row.get("avgPrice")) or "0")
    return PositionUpdate(_str(row, "symbol"), amount, entry, "position",
                          _int(d, "creationTime"), _int(row, "updatedTime", 0),
                          engine_ms=rx.ms, received_mono=rx.mono)


def _order(row: dict[str, Any], d: dict[str, Any], rx: _Received) -> list[Any]:
    algo = vocab.is_algo(row)
    status = vocab.status(row, algo)
    event_ms = _int(d, "creationTime")
    cum = _dec(row, "cumExecQty", "0")
    if not algo:
        return [_order_update(row, event_ms, rx, status, cum, algo=False)]
    trigger = _dec(row, "triggerPrice", _blank(row.get("triggerPrice")) or "0")
    update = AlgoUpdate(
        symbol=_str(row, "symbol"), client_id=str(row.get("orderLinkId") or ""),
        algo_id=str(row["orderId"]), order_type=vocab.order_kind(row, True),
        side=vocab.side(row.get("side")), status=status, trigger_price=trigger,
        qty=_dec(row, "qty", "0"), close_position=False,
        reject_reason=str(row.get("rejectReason") or ""), event_ms=event_ms,
        engine_ms=rx.ms, received_mono=rx.mono)
    if cum > 0 and row.get("orderStatus") in ("PartiallyFilled", *FINAL_STATUSES):
        fill_status = vocab.status(row, False)  # the fill's own words: FILLED, CANCELED...
        return [_order_update(row, event_ms, rx, fill_status, cum, algo=True), update]
    return [update]


def _order_update(row: dict[str, Any], event_ms: int, rx: _Received, status: str,
                  cum: Decimal, *, algo: bool) -> OrderUpdate:
    raw = str(row.get("orderStatus"))
    final = raw in FINAL_STATUSES and cum > 0
    # A cancel that raced the fill is answered with the Filled order again (order.mdx):
    # the same fill, not a new one, so its PnL is not counted twice.
    repeat = row.get("rejectReason") == "EC_OrigClOrdIDDoesNotExist"
    traded = cum > 0 and (raw == "PartiallyFilled" or final)
    return OrderUpdate(
        symbol=_str(row, "symbol"), client_id=str(row.get("orderLinkId") or ""),
        order_id=str(row["orderId"]), order_type=vocab.order_kind(row, algo),
        side=vocab.side(row.get("side")),
        exec_type=ExecType.TRADE if traded else _EXEC.get(raw, ""), status=status,
        # Bybit's order push has no last-fill quantity: the cumulative one stands in (the
        # engine decides on cum_qty and status; last_qty is only journaled).
        last_qty=cum, cum_qty=cum,
        avg_price=_dec(row, "avgPrice", _blank(row.get("avgPrice")) or "0"),
        # closedPnl is the order's whole closed PnL (order.mdx; as Get Closed PnL, so after
        # fees): carried once, on the order's final push, so the engine's sum is the order's.
        realized_pnl=_dec(row, "closedPnl", "0") if final and not repeat else Decimal(0),
        reduce_only=row.get("reduceOnly") is True,
        close_position=False,  # closeOnTrigger is not closePosition (orders.py)
        event_ms=event_ms, tx_ms=_int(row, "updatedTime", 0), engine_ms=rx.ms,
        received_mono=rx.mono)


FINAL_STATUSES = ("Filled", "Cancelled", "PartiallyFilledCanceled", "Deactivated")
"""An order's last push: with a quantity executed it is the order's last (or only) fill."""

_EXEC = {"New": ExecType.NEW, "Untriggered": ExecType.NEW, "Cancelled": ExecType.CANCELED,
         "Deactivated": ExecType.CANCELED, "Rejected": ExecType.CANCELED,
         "PartiallyFilledCanceled": ExecType.CANCELED}


def _ticker(topic: str, d: dict[str, Any], rx: _Received) -> list[MarkPrice]:
    data = d["data"]
    if not isinstance(data, dict):
        raise FrameError(f"{topic}: 'data' is not an object")
    if _blank(data.get("markPrice")) is None:
        if d.get("type") == "snapshot":
            raise FrameError(f"{topic}: a snapshot without markPrice")
        return []  # a delta leaves absent fields unchanged
    symbol = str(data.get("symbol") or topic.partition(".")[2])
    if not symbol:
        raise FrameError(f"{topic}: no symbol")
    return [MarkPrice(symbol, _dec(data, "markPrice"), _int(d, "ts"), engine_ms=rx.ms,
                      received_mono=rx.mono)]


def _blank(v: Any) -> Any:
    return None if v is None or v == "" else v


def _str(d: dict[str, Any], key: str) -> str:
    v = d[key]
    if not isinstance(v, str) or not v:
        raise FrameError(f"field {key!r} must be a non-empty string, got {v!r:.40}")
    return v


def _dec(d: dict[str, Any], key: str, default: str | None = None) -> Decimal:
    v = _blank(d.get(key)) or default
    if v is None:
        raise FrameError(f"missing field {key!r}")
    try:
        out = Decimal(str(v))
    except InvalidOperation as e:
        raise FrameError(f"field {key!r} is not a number: {v!r:.40}") from e
    if not out.is_finite():
        raise FrameError(f"field {key!r} is not finite: {v!r:.40}")
    if out and out.adjusted() >= MAX_MAGNITUDE_DIGITS:
        raise FrameError(f"field {key!r} is out of range: {v!r:.40}")
    return out


def _int(d: dict[str, Any], key: str, default: int | None = None) -> int:
    v = _blank(d.get(key))
    if v is None:
        v = default
    if v is None:
        raise FrameError(f"missing field {key!r}")
    try:
        out = int(v)  # Bybit sends times as strings in rows, integers in envelopes
    except (TypeError, ValueError, OverflowError) as e:
        raise FrameError(f"field {key!r} is not an integer: {v!r:.40}") from e
    if isinstance(v, bool) or not 0 <= out <= MAX_TIME_MS:
        raise FrameError(f"field {key!r} is out of range: {v!r:.40}")
    return out
