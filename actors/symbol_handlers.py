"""The handlers named in symbol_machine.TABLE: (state, event, ctx) -> Step | None.

Pure functions. Reconciliation (the exchange's truth -> our state) lives in actors/reconcile.py.
"""

from __future__ import annotations

from dataclasses import replace as _replace
from decimal import Decimal
from typing import Any

from actors import client_ids, coverage, native_trailing
from actors.client_ids import Purpose
from actors.coverage import (  # noqa: F401 - TABLE names them here
    _retry_while_quarantined,
    _stop_check,
)
from actors.messages import (
    AlgoUpdate,
    CancelStop,
    ClosePosition,
    ExchangeReply,
    FailureKind,
    FetchSymbol,
    LookupOrder,
    MarkPrice,
    OpenPosition,
    OrderInfo,
    OrderUpdate,
    PlaceMarket,
    PlaceStop,
    PositionUpdate,
    ReconcileRequest,
    SymbolSnapshot,
)
from actors.protection import PolicyError, Side, accept_move, on_mark, truncate_qty
from actors.reconcile import reconcile_with
from actors.symbol_machine import (
    MAX_STOP_FAILURES,
    TRAILING,
    Context,
    Step,
    backoff_ms,
    cancel_ops,
    close_at_market,
    go_flat,
    is_trailing,
    lookup,
    next_client_id,
    payload,
    place_stop,
    place_trailing,
    protect,
    protect_new,
    quarantine,
    resize_trigger,
    retry_or_quarantine,
    side_of,
    succeeded,
)
from actors.symbol_state import PendingOrder, State, StopOrder, SymbolState

STOP_TYPES = ("STOP_MARKET", "TRAILING_STOP_MARKET")
OPEN_STATES = (State.OPEN_UNPROTECTED, State.PROTECTED, State.MOVING_STOP, State.CLOSING)


# --------------------------------------------------------------------------- commands


def _open(s: SymbolState, cmd: OpenPosition, ctx: Context) -> Step:
    """FLAT + open: persist the intent, then send the market order."""
    s = s.replace(command_ids=s.remember_command(cmd.command_id))
    if cmd.side not in ("long", "short"):
        return _rejected(s, cmd.command_id, f"side must be long or short, got {cmd.side!r}")
    if ctx.rules is None:
        return _rejected(s, cmd.command_id, "market rules unknown (not reconciled yet)")
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


def _close(s: SymbolState, cmd: ClosePosition, ctx: Context) -> Step:
    """Open position + close: reduce-only market order for the whole position."""
    s = s.replace(command_ids=s.remember_command(cmd.command_id))
    new, op = close_at_market(s, ctx, cmd.command_id)
    return Step(new, "close_requested",
                payload(command_id=cmd.command_id, qty=s.qty, client_id=op.client_id),
                requests=(op,), outcome=("accepted", f"close {s.qty} sent as {op.client_id}"))


def _reconcile(s: SymbolState, req: ReconcileRequest, ctx: Context) -> Step:
    """Start a reconcile: fetch the exchange's truth (QUARANTINED: the operator's release)."""
    extra = {**s.extra, "dirty": False, "refetches": 0}
    # Released from QUARANTINED: the stop gets MAX_STOP_FAILURES fresh attempts.
    failures = 0 if s.state is State.QUARANTINED else s.stop_failures
    return Step(s.replace(state=State.RECONCILING, extra=extra, quarantine_reason=None,
                          stop_failures=failures),
                "reconcile_started", payload(reason=req.reason, was=s.state.value),
                refetch=True)


# --------------------------------------------------------------------------- stream


def _dirty(s: SymbolState) -> Step:
    """An event during a reconcile: the fetch in flight may predate it, so fetch again."""
    return Step(s.replace(extra={**s.extra, "dirty": True}), "event_during_reconcile", {},
                persist=False)


def _reply_during_reconcile(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step:
    """A reply while the truth is being fetched: fetch again after it (see TABLE)."""
    return _dirty(s)


def _retry_during_reconcile(s: SymbolState, op: Any, ctx: Context) -> Step | None:
    """While reconciling only the fetch itself is retried; the truth decides the rest."""
    if isinstance(op, FetchSymbol):
        return Step(s, "retry", payload(op="FetchSymbol"), persist=False, refetch=True)
    return None


def _mark(s: SymbolState, ev: MarkPrice, ctx: Context) -> Step | None:
    """A mark tick: maybe move the managed trailing stop (new stop first)."""
    s = s.replace(mark_price=ev.price)
    if (s.trail is None or s.side is None or s.entry_price is None or ctx.rules is None
            or s.state not in (State.PROTECTED, State.MOVING_STOP, State.OPEN_UNPROTECTED)):
        return Step(s, "mark", {}, persist=False)
    d = on_mark(s.side, s.entry_price, ev.price, s.trail, ctx.policy, ctx.rules, ctx.now_ms)
    moved = s.replace(trail=d.state)
    if s.state is State.PROTECTED and d.move_to is not None and s.stop is not None:
        new, op = place_stop(moved, ctx, d.move_to)
        return Step(new.replace(state=State.MOVING_STOP), "stop_move_requested",
                    payload(peak=d.state.peak, old=s.stop.trigger_price, new=d.move_to,
                            client_id=op.client_id, mark=ev.price), requests=(op,))
    if d.state != s.trail:
        return Step(moved, "trail_updated",
                    payload(active=d.state.active, peak=d.state.peak, mark=ev.price))
    return Step(moved, "mark", {}, persist=False)


def _position(s: SymbolState, ev: PositionUpdate, ctx: Context) -> Step | None:
    """ACCOUNT_UPDATE for this symbol: the exchange's position changed."""
    s = s.replace(last_event_ms=max(s.last_event_ms, ev.event_ms))
    if s.state is State.RECONCILING:
        return _dirty(s)
    side, qty = side_of(ev.amount), abs(ev.amount)
    if s.state is State.QUARANTINED:
        if side is None and s.has_position:
            # Closed: whatever the quarantine was about, this position no longer needs a stop.
            new, ops = go_flat(s, "closed")
            return Step(new, "position_closed", payload(reason=ev.reason, was="QUARANTINED"),
                        requests=tuple(ops))
        return Step(s, "event_while_quarantined", payload(amount=ev.amount))
    if side is None:
        if s.state in OPEN_STATES:
            new, ops = go_flat(s, "closed")
            return Step(new, "position_closed", payload(reason=ev.reason), requests=tuple(ops))
        return None  # FLAT stays flat; OPENING: the zero is the state before the fill
    return _position_open(s, side, qty, ev.entry_price, ctx, f"stream:{ev.reason}")


def _position_open(s: SymbolState, side: Side, qty: Decimal, entry: Decimal, ctx: Context,
                   source: str) -> Step | None:
    """A non-zero position is reported (stream, open reply or lookup)."""
    info = payload(side=side.value, qty=qty, entry=entry, source=source)
    if s.state in (State.FLAT, State.OPENING):
        return _new_position(s, side, qty, entry, ctx, info)
    if side != s.side:
        return Step(s.replace(state=State.RECONCILING), "reconcile_started",
                    {**info, "why": "side flipped"}, refetch=True)
    if qty == s.qty and entry == s.entry_price:
        return None
    # Both stops are resized the same way: the new order first, the old one cancelled after.
    changed, ops = native_trailing.resize(s.replace(qty=qty, entry_price=entry), ctx)
    if s.state is State.PROTECTED and s.stop is not None and qty != s.stop.qty:
        # Priced for the position as it is now: from the average entry until trailing is on.
        new, op = place_stop(changed, ctx, resize_trigger(changed, ctx, s.stop.trigger_price))
        return Step(new.replace(state=State.MOVING_STOP), "stop_resize_requested",
                    {**info, "client_id": op.client_id}, requests=(op, *ops))
    if ops:
        return Step(changed, "trailing_resize_requested",
                    {**info, "client_id": ops[0].client_id}, requests=tuple(ops))
    return Step(changed, "position_changed", info)


def _new_position(s: SymbolState, side: Side, qty: Decimal, entry: Decimal, ctx: Context,
                  info: dict[str, Any]) -> Step:
    """FLAT (adopted) or OPENING (our fill): protect it."""
    if ctx.rules is None:
        return Step(s.replace(state=State.RECONCILING), "reconcile_started", info,
                    refetch=True)
    adopted = s.state is State.FLAT
    known = s.replace(side=side, qty=qty, entry_price=entry, adopted=adopted, trail=None)
    new, ops = protect_new(known, ctx)
    kind = "position_adopted" if adopted else "open_filled"
    return Step(new, kind, info, requests=tuple(ops))


def _order(s: SymbolState, ev: OrderUpdate, ctx: Context) -> Step | None:
    """ORDER_TRADE_UPDATE: fills of our open/close orders and of stops."""
    s = s.replace(last_event_ms=max(s.last_event_ms, ev.event_ms))
    if s.state is State.RECONCILING:
        return _dirty(s)
    if s.open_order and ev.client_id == s.open_order.client_id:
        return _open_order_event(s, ev, ctx)
    is_close = s.close_order is not None and ev.client_id == s.close_order.client_id
    is_stop_fill = ev.order_type in STOP_TYPES and ev.exec_type == "TRADE"
    if (is_close or is_stop_fill) and ev.exec_type == "TRADE":
        s = s.replace(realized_pnl=s.realized_pnl + ev.realized_pnl)
        if ev.status == "FILLED" and s.has_position and ev.cum_qty >= s.qty:
            # The order that filled is spent: cancel the others (a native trailing fill
            # cancels the fixed stop, and the other way round).
            new, ops = go_flat(s, "closed", spent=ev.client_id)
            kind = "closed_at_market" if is_close else (
                "trailing_filled" if ev.order_type == TRAILING else "stop_filled")
            return Step(new, kind, payload(price=ev.avg_price, pnl=ev.realized_pnl,
                                           client_id=ev.client_id), requests=tuple(ops))
        return Step(s, "reduce_fill", payload(qty=ev.last_qty, pnl=ev.realized_pnl))
    return None


def _open_order_event(s: SymbolState, ev: OrderUpdate, ctx: Context) -> Step | None:
    if ev.exec_type == "TRADE" and s.state is State.OPENING and ev.cum_qty > 0:
        side = Side.LONG if ev.side == "BUY" else Side.SHORT
        return _position_open(s, side, ev.cum_qty, ev.avg_price, ctx, "stream:order")
    if ev.status in ("CANCELED", "EXPIRED", "REJECTED") and s.state is State.OPENING \
            and ev.cum_qty == 0:
        return Step(s.replace(state=State.FLAT, open_order=None,
                              last_error=f"open order {ev.status}"), "open_failed",
                    payload(status=ev.status))
    return None


def _algo(s: SymbolState, ev: AlgoUpdate, ctx: Context) -> Step | None:
    """ALGO_UPDATE: our stops were accepted, triggered, cancelled or lost."""
    s = s.replace(last_event_ms=max(s.last_event_ms, ev.event_ms))
    if s.state is State.RECONCILING:
        return _dirty(s)
    cid = ev.client_id
    if s.pending_stop and cid == s.pending_stop.client_id and ev.status == "NEW":
        return _stop_accepted(s, ev.algo_id, ctx, "stream")
    if s.stop and cid == s.stop.client_id:
        return _own_stop_event(s, ev, ctx)
    if native_trailing.tracks(s, cid):
        return native_trailing.on_algo(s, ev, ctx)
    if any(c.client_id == cid for c in s.cancelling):
        if ev.status in ("CANCELED", "EXPIRED", "FINISHED", "REJECTED"):
            left = tuple(c for c in s.cancelling if c.client_id != cid)
            return Step(s.replace(cancelling=left), "stop_cancelled", payload(client_id=cid))
        return None
    if ev.status == "NEW" and client_ids.is_ours(cid, s.symbol):
        # Ours, resting, and wanted by nothing we track (e.g. accepted after the position
        # closed): cancel it now rather than wait for its REST reply or a reconcile.
        stray = StopOrder(cid, ev.algo_id, ev.trigger_price, ev.qty, ev.order_type)
        new, ops = cancel_ops(s, [stray])
        return Step(new, "stale_stop_cancelled", payload(client_id=cid, source="stream"),
                    requests=tuple(ops))
    return None


def _own_stop_event(s: SymbolState, ev: AlgoUpdate, ctx: Context) -> Step | None:
    assert s.stop is not None
    if ev.status in ("TRIGGERING", "TRIGGERED", "FINISHED"):
        return Step(s, "stop_triggered", payload(status=ev.status, client_id=ev.client_id))
    if ev.status in ("CANCELED", "EXPIRED", "REJECTED") and s.has_position:
        # Not cancelled by us (we move a stop to `cancelling` before cancelling it).
        lost = s.replace(stop=None, last_error=f"stop {ev.client_id} {ev.status} on exchange")
        if s.state is State.MOVING_STOP:
            return Step(lost, "stop_lost", payload(status=ev.status))
        new, ops = protect(lost, ctx)
        return Step(new, "stop_lost", payload(status=ev.status), requests=tuple(ops))
    return None


# --------------------------------------------------------------------------- replies


def _stop_accepted(s: SymbolState, algo_id: str, ctx: Context, source: str) -> Step:
    """The exchange accepted our pending stop (REST reply, stream or lookup)."""
    p = s.pending_stop
    assert p is not None
    placed = StopOrder(p.client_id, algo_id, p.trigger_price, p.qty, p.order_type)
    if not s.has_position or s.state in (State.FLAT, State.CLOSING):
        # The position closed while the stop was in flight (I-4): remove what we created.
        new, cancels = cancel_ops(s.replace(pending_stop=None), [placed])
        return Step(new, "stale_stop_cancelled", payload(client_id=p.client_id),
                    requests=tuple(cancels))
    info = payload(client_id=p.client_id, algo_id=algo_id, trigger=p.trigger_price,
                   qty=p.qty, source=source)
    if s.state is State.QUARANTINED and not s.extra.get(coverage.RELEASE_ON_STOP):
        # It rests and protects: track it, send nothing; the operator's release reconciles
        # (and cancels the older stop of ours if both rest).
        return Step(s.replace(stop=placed, pending_stop=None), "stop_placed_while_quarantined",
                    info)
    if s.state is State.QUARANTINED:
        # Quarantined because this stop could not be placed: now it is, the reason is gone.
        info = {**info, "released": "quarantine"}
    old = s.stop
    new = s.replace(stop=placed, pending_stop=None, state=State.PROTECTED, stop_failures=0,
                    quarantine_reason=None)
    ops: list[Any] = []
    kind = "stop_placed"
    trail = new.trail
    # A resize before trailing activates is priced from the entry, not moved by the trail.
    repriced = old is not None and old.qty != placed.qty and not (trail and trail.active)
    if old is not None and old.client_id != placed.client_id:
        moved = old.trigger_price != placed.trigger_price and not repriced
        kind = "stop_moved" if moved else "stop_resized"
        if trail is not None and placed.trigger_price is not None and moved:
            new = new.replace(trail=accept_move(trail, placed.trigger_price, ctx.now_ms))
        new, ops = cancel_ops(new, [old])
    if kind != "stop_moved" and trail is not None and placed.trigger_price is not None \
            and trail.stop_price != placed.trigger_price:
        new = new.replace(trail=_replace(trail, stop_price=placed.trigger_price))
    if placed.qty != new.qty and new.side is not None:
        # The position changed while it was in flight: again, for the size it has now.
        new, op = place_stop(new, ctx, resize_trigger(new, ctx, placed.trigger_price))
        new = new.replace(state=State.MOVING_STOP)
        ops.append(op)
    return Step(new, kind, info, requests=tuple(ops))


def _stop_reply(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step | None:
    """The REST reply to a PlaceStop."""
    op = r.op
    assert isinstance(op, PlaceStop)
    if s.pending_stop is None or s.pending_stop.client_id != op.client_id:
        return _stray_stop(s, r)
    if r.failure is None:
        assert isinstance(r.result, OrderInfo)
        return _stop_accepted(s, r.result.order_id, ctx, "rest")
    return _stop_failed(s, r, op, ctx)


def _trailing_reply(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step | None:
    """The REST reply to a TRAILING_STOP_MARKET placement (native mode)."""
    p = s.pending_trailing
    assert isinstance(r.op, PlaceStop)
    if p is None or p.client_id != r.op.client_id:
        return _stray_stop(s, r)
    return native_trailing.on_reply(s, r, ctx)


def _stray_stop(s: SymbolState, r: ExchangeReply) -> Step | None:
    """A reply for a stop we no longer track: cancel it if it rests (nothing left behind)."""
    op = r.op
    assert isinstance(op, PlaceStop)
    if any(o is not None and o.client_id == op.client_id for o in (s.stop, s.trailing)):
        return None  # already accepted through the stream
    landed = r.failure is None and isinstance(r.result, OrderInfo)
    maybe = r.failure is not None and r.failure.kind is FailureKind.UNKNOWN_OUTCOME
    if landed or maybe:
        # It rests (or may rest) for a position that no longer wants it: cancel by client id
        # when the algo id is unknown; a cancel of a stop that is not there is harmless.
        algo_id = r.result.order_id if landed and isinstance(r.result, OrderInfo) else None
        stray = StopOrder(op.client_id, algo_id, op.trigger_price, op.qty, op.order_type)
        new, ops = cancel_ops(s, [stray])
        return Step(new, "stale_stop_cancelled", payload(client_id=op.client_id),
                    requests=tuple(ops))
    return None


def _stop_failed(s: SymbolState, r: ExchangeReply, op: PlaceStop, ctx: Context) -> Step:
    f = r.failure
    assert f is not None
    info = payload(client_id=op.client_id, kind=f.kind.value, code=f.code, error=f.message,
                   http_status=f.http_status, retry_after_ms=f.retry_after_ms)
    err = f"stop {op.client_id}: {f.message}"
    if f.kind is FailureKind.WOULD_TRIGGER:
        return _would_trigger(s, ctx, info, err)
    if f.kind is FailureKind.UNKNOWN_OUTCOME:
        return Step(s.replace(last_error=err), "stop_outcome_unknown", info,
                    requests=(lookup(s.symbol, op.client_id, algo=True),))
    failures = s.stop_failures + 1
    s = s.replace(stop_failures=failures, last_error=err)
    if s.state is State.QUARANTINED:
        return coverage.stop_failed_while_quarantined(s, info, failures, ctx)
    if f.kind is FailureKind.HALT or failures >= MAX_STOP_FAILURES:
        return coverage.stop_failed(s, err, info, failures, ctx)
    if f.kind is FailureKind.TEMPORARY:
        return Step(s, "stop_retry_scheduled", info, retry_after_ms=backoff_ms(failures))
    return Step(s.replace(state=State.RECONCILING, pending_stop=None), "stop_rejected", info,
                refetch=True)


def _would_trigger(s: SymbolState, ctx: Context, info: dict[str, Any], err: str) -> Step:
    """-2021: the price is already past the stop we tried to place."""
    cleared = s.replace(pending_stop=None, last_error=err)
    if s.state is State.MOVING_STOP and ctx.policy.on_stop_would_trigger == "keep":
        return Step(cleared.replace(state=State.PROTECTED), "stop_move_skipped", info)
    if not cleared.has_position:
        return Step(cleared.replace(state=State.FLAT), "stop_not_needed", info)
    new, op = close_at_market(cleared, ctx, f"would-trigger-{s.order_counter + 1}")
    return Step(new, "stop_would_trigger_close", info, requests=(op,))


def _market_reply(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step | None:
    """The REST reply to a market order (open or close)."""
    op = r.op
    assert isinstance(op, PlaceMarket)
    if s.open_order and op.client_id == s.open_order.client_id:
        if r.failure is None:
            return _open_result(s, r.result, ctx, "rest")
        if r.failure.kind is FailureKind.UNKNOWN_OUTCOME:
            return Step(s, "open_outcome_unknown", payload(client_id=op.client_id),
                        requests=(lookup(s.symbol, op.client_id, algo=False),))
        failed = s.replace(open_order=None, last_error=f"open: {r.failure.message}")
        if s.state is State.OPENING:
            failed = failed.replace(state=State.FLAT)
        return Step(failed, "open_rejected", payload(error=r.failure.message,
                                                     code=r.failure.code))
    if s.close_order and op.client_id == s.close_order.client_id:
        if r.failure is None:
            return _close_result(s, r.result)
        if r.failure.kind is FailureKind.UNKNOWN_OUTCOME:
            return Step(s, "close_outcome_unknown", payload(client_id=op.client_id),
                        requests=(lookup(s.symbol, op.client_id, algo=False),))
        return Step(s.replace(state=State.RECONCILING, close_order=None,
                              last_error=f"close: {r.failure.message}"),
                    "close_rejected", payload(error=r.failure.message), refetch=True)
    return None


def _open_result(s: SymbolState, info: Any, ctx: Context, source: str) -> Step | None:
    assert isinstance(info, OrderInfo) and s.open_order is not None
    if s.state is not State.OPENING:
        # The stream reported the fill first (I-5): just confirm the order.
        entry = s.entry_price or info.avg_price
        return Step(s.replace(open_order=None, entry_price=entry), "open_confirmed",
                    payload(client_id=info.client_id, avg=info.avg_price, source=source))
    if info.filled_qty <= 0:
        if info.status in ("NEW", "PARTIALLY_FILLED"):
            return None  # still working: the stream will report the fill
        return Step(s.replace(state=State.FLAT, open_order=None,
                              last_error=f"open order {info.status}"), "open_failed",
                    payload(status=info.status))
    if not info.avg_price:
        return _open_price_unknown(s, info, source)
    side = Side.LONG if s.open_order.side == "BUY" else Side.SHORT
    return _position_open(s.replace(open_order=None), side, info.filled_qty, info.avg_price,
                          ctx, source)


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
    if info.status == "FILLED" or info.filled_qty >= s.qty:
        new, ops = go_flat(s, "closed")
        return Step(new, "closed_at_market", payload(avg=info.avg_price),
                    requests=tuple(ops))
    return Step(s, "close_working", payload(status=info.status))


def _lookup_reply(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step | None:
    """The answer to a lookup by client id (after an unknown outcome)."""
    op = r.op
    assert isinstance(op, LookupOrder)
    cid, key = op.client_id, f"lookup:{op.client_id}"
    if r.failure is not None:
        if cid not in _pending_ids(s):
            return None  # resolved meanwhile (stream, another reply): nothing to retry
        return retry_or_quarantine(s, key, r.failure, f"lookup {cid}", "lookup_retry_scheduled",
                                   payload(client_id=cid, error=r.failure.message))
    s, info = succeeded(s, key), r.result
    assert info is None or isinstance(info, OrderInfo)
    if s.open_order and cid == s.open_order.client_id:
        return _open_lookup(s, info, ctx)
    if s.close_order and cid == s.close_order.client_id:
        return _close_lookup(s, info)
    if s.pending_stop and cid == s.pending_stop.client_id:
        return _stop_lookup(s, info, ctx)
    if s.pending_trailing and cid == s.pending_trailing.client_id:
        return native_trailing.on_lookup(s, info, ctx)
    return None


def _open_lookup(s: SymbolState, info: OrderInfo | None, ctx: Context) -> Step | None:
    assert s.open_order is not None
    if info is None:
        return Step(s.replace(state=State.FLAT if s.state is State.OPENING else s.state,
                              open_order=None, last_error="open order never placed"),
                    "open_not_placed", payload(client_id=s.open_order.client_id))
    return _open_result(s, info, ctx, "lookup")


def _close_lookup(s: SymbolState, info: OrderInfo | None) -> Step:
    assert s.close_order is not None
    if info is not None and (info.status == "FILLED" or info.filled_qty >= s.qty):
        return _close_result(s, info)
    return Step(s.replace(state=State.RECONCILING, close_order=None), "close_unresolved",
                payload(client_id=s.close_order.client_id), refetch=True)


def _stop_lookup(s: SymbolState, info: OrderInfo | None, ctx: Context) -> Step:
    p = s.pending_stop
    assert p is not None
    if info is not None and info.status == "NEW":
        return _stop_accepted(s, info.order_id, ctx, "lookup")
    if info is None:
        # Never placed: place it again under the SAME client id, so that if the first
        # attempt still lands the exchange refuses the copy (-4116) instead of doubling it.
        new, op = place_stop(s, ctx, coverage.again_at(s, ctx), client_id=p.client_id)
        return Step(new, "stop_placed_again", payload(client_id=p.client_id), requests=(op,))
    return Step(s.replace(state=State.RECONCILING, pending_stop=None), "stop_unresolved",
                payload(client_id=p.client_id, status=info.status), refetch=True)


def _cancel_reply(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step | None:
    """The REST reply to a cancel; a stop already gone counts as cancelled."""
    assert isinstance(r.op, CancelStop)
    cid = r.op.client_id
    key = f"cancel:{cid}"
    if not any(c.client_id == cid for c in s.cancelling):
        return None
    if r.failure is None or r.failure.kind is FailureKind.NOT_FOUND:
        left = tuple(c for c in s.cancelling if c.client_id != cid)
        return Step(succeeded(s.replace(cancelling=left), key), "stop_cancelled",
                    payload(client_id=cid))
    return retry_or_quarantine(s, key, r.failure, f"cancel {cid}", "cancel_retry_scheduled",
                               payload(client_id=cid, error=r.failure.message))


def _snapshot(s: SymbolState, r: ExchangeReply, ctx: Context) -> Step | None:
    """The reconcile fetch came back."""
    if r.failure is not None:
        if r.failure.kind is FailureKind.HALT:
            return quarantine(s, f"reconcile: {r.failure.message}", {})
        return Step(s.replace(last_error=f"reconcile: {r.failure.message}"),
                    "reconcile_retry_scheduled", payload(error=r.failure.message),
                    retry_after_ms=backoff_ms(3))
    refetches = int(s.extra.get("refetches", 0))
    if s.extra.get("dirty") and refetches < 3:
        extra = {**s.extra, "dirty": False, "refetches": refetches + 1}
        return Step(s.replace(extra=extra), "reconcile_refetch", {}, persist=False,
                    refetch=True)
    snap = r.result if isinstance(r.result, SymbolSnapshot) else None
    return reconcile_with(s, snap, ctx)


def _retry(s: SymbolState, op: Any, ctx: Context) -> Step | None:
    """A retry timer fired: resend `op` if it is still wanted."""
    cid = getattr(op, "client_id", None)
    if isinstance(op, PlaceStop):
        return _retry_place(s, op, ctx)
    wanted = (
        (isinstance(op, CancelStop) and any(c.client_id == cid for c in s.cancelling))
        or (isinstance(op, LookupOrder) and cid in _pending_ids(s))
    )
    if wanted:
        return Step(s, "retry", payload(op=type(op).__name__, client_id=cid), requests=(op,),
                    persist=False)
    if isinstance(op, FetchSymbol) and s.state is State.RECONCILING:
        return Step(s, "retry", payload(op="FetchSymbol"), persist=False, refetch=True)
    return None


def _retry_place(s: SymbolState, op: PlaceStop, ctx: Context) -> Step | None:
    """Resend a stop (or native trailing) placement that is still in flight."""
    trailing = is_trailing(op)
    p = s.pending_trailing if trailing else s.pending_stop
    if p is None or p.client_id != op.client_id:
        return None
    if s.side is None or op.qty == s.qty:
        return Step(s, "retry", payload(op="PlaceStop", client_id=op.client_id),
                    requests=(op,), persist=False)
    # The position changed while the retry waited: re-place for the size it has now
    # (same client id, as after a lookup), never a stop larger or smaller than it.
    if trailing:
        new, again = place_trailing(s, ctx, again=p)
    else:
        new, again = place_stop(s, ctx, coverage.again_at(s, ctx), client_id=p.client_id)
    return Step(new, "retry", payload(op="PlaceStop", client_id=op.client_id, qty=new.qty),
                requests=(again,))


def _pending_ids(s: SymbolState) -> set[str]:
    orders = (s.open_order, s.close_order, s.pending_stop, s.pending_trailing)
    return {o.client_id for o in orders if o is not None}


