"""The open and close market orders: the commands that send them, their REST replies,
lookups and stream events.

The position itself is learned from the exchange (a fill, an ACCOUNT_UPDATE, a lookup); what
happens then is actors/machine/stream.py `new_position`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from actors.client_ids import Purpose
from actors.machine.core import (
    Context,
    Step,
    close_at_market,
    go_flat,
    lookup,
    next_client_id,
    note_event_time,
    payload,
    succeeded,
)
from actors.machine.stream import new_position
from actors.messages import (
    ClosePosition,
    ExchangeReply,
    FailureKind,
    LookupOrder,
    OpenPosition,
    OrderInfo,
    OrderUpdate,
    PlaceMarket,
)
from actors.protection import PolicyError, Side, truncate_qty
from actors.symbol_state import PendingOrder, State, SymbolState
from venue.vocab import ExecType, OrderStatus

NOT_WORKING = (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED)


# --------------------------------------------------------------------------- commands


def open_position(s: SymbolState, cmd: OpenPosition, ctx: Context) -> Step:
    """FLAT + open: persist the intent, then send the market order."""
    s = s.replace(command_ids=s.remember_command(cmd.command_id))
    if cmd.side not in ("long", "short"):
        return _rejected(s, cmd.command_id, f"side must be long or short, got {cmd.side!r}")
    if ctx.rules is None:
        return _rejected(s, cmd.command_id, "market rules unknown: " + (
            s.last_error or "not reconciled yet"))
    try:
        qty = truncate_qty(Decimal(cmd.qty), ctx.rules)
    except PolicyError as e:
        return _rejected(s, cmd.command_id, str(e))
    cid, counter = next_client_id(s, ctx, Purpose.OPEN)
    side = "BUY" if cmd.side == "long" else "SELL"
    new = s.replace(state=State.OPENING, order_counter=counter, last_error=None,
                    open_order=PendingOrder(cid, cmd.command_id, side, qty))
    op = PlaceMarket(s.symbol, side, qty, cid, reduce_only=False)
    return Step(new, "open_requested",
                payload(command_id=cmd.command_id, side=cmd.side, qty=qty, client_id=cid),
                requests=(op,), outcome=("accepted", f"market {side} {qty} sent as {cid}"))


def _rejected(s: SymbolState, command_id: str, why: str) -> Step:
    return Step(s.replace(last_error=why), "command_rejected",
                payload(command_id=command_id, reason=why), outcome=("rejected", why))


def close_position(s: SymbolState, cmd: ClosePosition, ctx: Context) -> Step:
    """Open position + close: reduce-only market order for the whole position."""
    s = s.replace(command_ids=s.remember_command(cmd.command_id))
    new, op = close_at_market(s, ctx, cmd.command_id)
    return Step(new, "close_requested",
                payload(command_id=cmd.command_id, qty=s.qty, client_id=op.client_id),
                requests=(op,), outcome=("accepted", f"close {s.qty} sent as {op.client_id}"))


# --------------------------------------------------------------------------- stream


def open_order_update(s: SymbolState, ev: OrderUpdate, ctx: Context) -> Step | None:
    """OPENING: our entry order filled (the position is ours to protect) or died unfilled."""
    s = note_event_time(s, ev.event_ms)
    if ev.exec_type == ExecType.TRADE and ev.cum_qty > 0:
        side = Side.LONG if ev.side == "BUY" else Side.SHORT
        return new_position(s, side, ev.cum_qty, ev.avg_price, ctx, "stream:order",
                            adopted=False)
    if ev.status in NOT_WORKING and ev.cum_qty == 0:
        return Step(s.replace(state=State.FLAT, open_order=None,
                              last_error=f"open order {ev.status}"), "open_failed",
                    payload(status=ev.status))
    return None


# --------------------------------------------------------------------------- replies


def open_reply(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step | None:
    """OPENING: the REST reply to our entry order decides what the position is."""
    if r.failure is None:
        return _opened(s, r.result, ctx, "rest")
    return _open_failed(s, r, State.FLAT)


def open_reply_after_fill(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step | None:
    """The entry order's REST reply after the stream reported its fill first (I-5): it only
    confirms the order (and its price, if the stream had none)."""
    if r.failure is None:
        return _confirmed(s, r.result, "rest")
    return _open_failed(s, r, s.state)


def _open_failed(s: SymbolState, r: ExchangeReply, then: State) -> Step:
    f, cid = r.failure, r.op.client_id
    assert f is not None
    if f.kind is FailureKind.UNKNOWN_OUTCOME:
        return Step(s, "open_outcome_unknown", payload(client_id=cid),
                    requests=(lookup(s.symbol, cid, algo=False),))
    return Step(s.replace(state=then, open_order=None, last_error=f"open: {f.message}"),
                "open_rejected", payload(error=f.message, code=f.code))


def close_reply(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """The REST reply to our close order."""
    f = r.failure
    if f is None:
        return _close_result(s, r.result)
    if f.kind is FailureKind.UNKNOWN_OUTCOME:
        return Step(s, "close_outcome_unknown", payload(client_id=r.op.client_id),
                    requests=(lookup(s.symbol, r.op.client_id, algo=False),))
    return Step(s.replace(state=State.RECONCILING, close_order=None,
                          last_error=f"close: {f.message}"),
                "close_rejected", payload(error=f.message), refetch=True)


def _confirmed(s: SymbolState, info: Any, source: str) -> Step:
    assert isinstance(info, OrderInfo)
    entry = s.entry_price or info.avg_price
    return Step(s.replace(open_order=None, entry_price=entry), "open_confirmed",
                payload(client_id=info.client_id, avg=info.avg_price, source=source))


def _opened(s: SymbolState, info: Any, ctx: Context, source: str) -> Step | None:
    assert isinstance(info, OrderInfo) and s.open_order is not None
    if info.filled_qty <= 0:
        if info.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
            return None  # still working: the stream will report the fill
        return Step(s.replace(state=State.FLAT, open_order=None,
                              last_error=f"open order {info.status}"), "open_failed",
                    payload(status=info.status))
    if not info.avg_price:
        return _open_price_unknown(s, info, source)
    side = Side.LONG if s.open_order.side == "BUY" else Side.SHORT
    return new_position(s.replace(open_order=None), side, info.filled_qty, info.avg_price,
                        ctx, source, adopted=False)


def _open_price_unknown(s: SymbolState, info: OrderInfo, source: str) -> Step:
    """Filled, price not reported: POST /fapi/v1/order has no avgPrice (Binance's SDK dropped
    it in 14.0.0), and an entry of 0 would put the stop at 0. GET /fapi/v1/order has it (the
    stream's fill may come first); if even that lacks it, positionRisk's entry decides."""
    assert s.open_order is not None
    cid = s.open_order.client_id
    info_row = payload(client_id=cid, filled=info.filled_qty, source=source)
    if source == "lookup":
        return Step(s.replace(state=State.RECONCILING), "open_price_unknown", info_row,
                    refetch=True)
    return Step(s, "open_price_unknown", info_row, requests=(lookup(s.symbol, cid, algo=False),))


def _close_result(s: SymbolState, info: Any) -> Step:
    assert isinstance(info, OrderInfo)
    if info.status == OrderStatus.FILLED or info.filled_qty >= s.qty:
        new, ops = go_flat(s, "closed")
        return Step(new, "closed_at_market", payload(avg=info.avg_price),
                    requests=tuple(ops))
    return Step(s, "close_working", payload(status=info.status))


# --------------------------------------------------------------------------- lookups


def open_lookup(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step | None:
    """OPENING: the lookup of our entry order after an unknown outcome."""
    s, info = _looked_up(s, r)
    if info is None:
        return _not_placed(s, State.FLAT)
    return _opened(s, info, ctx, "lookup")


def open_lookup_after_fill(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """The entry order's lookup after the stream reported its fill first: it confirms."""
    s, info = _looked_up(s, r)
    if info is None:
        return _not_placed(s, s.state)
    return _confirmed(s, info, "lookup")


def _not_placed(s: SymbolState, then: State) -> Step:
    assert s.open_order is not None
    return Step(s.replace(state=then, open_order=None, last_error="open order never placed"),
                "open_not_placed", payload(client_id=s.open_order.client_id))


def close_lookup(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """The lookup of our close order after an unknown outcome."""
    s, info = _looked_up(s, r)
    assert s.close_order is not None
    if info is not None and (info.status == OrderStatus.FILLED or info.filled_qty >= s.qty):
        return _close_result(s, info)
    return Step(s.replace(state=State.RECONCILING, close_order=None), "close_unresolved",
                payload(client_id=s.close_order.client_id), refetch=True)


def _looked_up(s: SymbolState, r: ExchangeReply) -> tuple[SymbolState, OrderInfo | None]:
    """`s` with the lookup's failure count cleared, and what it found (None: nothing)."""
    assert isinstance(r.op, LookupOrder) and (r.result is None or isinstance(r.result, OrderInfo))
    return succeeded(s, f"lookup:{r.op.client_id}"), r.result


def refine_market(s: SymbolState, r: ExchangeReply) -> str:
    """Which of our market orders a reply answers (symbol_machine.refine)."""
    cid = r.op.client_id
    if s.open_order and cid == s.open_order.client_id:
        return "OPEN_REPLY"
    if s.close_order and cid == s.close_order.client_id:
        return "CLOSE_REPLY"
    return "MARKET_REPLY"
