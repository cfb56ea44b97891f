"""A position that closed while posguard was not watching: which stop fired, at what price.

Pure functions. A reconcile's fetch names every stop of ours that could have closed the
position (`stop_refs`); if the exchange shows the symbol flat, the worker reads each one's
algo order and its child order's trades (venues/binance/history.py) and `explain` turns
that into the fields of the `closed_while_away` journal row (added fields; the row's kind and
its earlier fields are unchanged). The close is `explained` only when the fills of our stops
account for the whole position; otherwise it is journaled as unexplained with what is known
(the position we had, each stop's status, any partial fill) and never with an invented price.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from actors.messages import StopOutcome, StopRef
from actors.symbol_state import SymbolState
from venue.vocab import OrderKind


def stop_refs(s: SymbolState) -> tuple[StopRef, ...]:
    """Our stops that could have closed `s`'s position (none when it has no position): the
    resting one, one in flight, the native trailing order, and any we were cancelling."""
    if not s.has_position:
        return ()
    orders = (s.stop, s.pending_stop, s.trailing, s.pending_trailing, *s.cancelling)
    refs: list[StopRef] = []
    for o in orders:
        if o is not None and all(r.client_id != o.client_id for r in refs):
            refs.append(StopRef(o.client_id, o.algo_id, o.order_type))
    return tuple(refs)


def explain(s: SymbolState, history: tuple[StopOutcome, ...]
            ) -> tuple[dict[str, Any], Decimal | None]:
    """The journal fields for `s`'s close, and the realized PnL it adds (None: unknown)."""
    fields: dict[str, Any] = {
        "had_side": s.side.name if s.side else None, "had_qty": str(s.qty),
        "had_entry": _str(s.entry_price), "stops": [_stop_row(o) for o in history]}
    filled = [o for o in history if o.fill_qty > 0 and o.fill_price is not None]
    if not filled:
        fields.update(explained=False, cause="unexplained", why=_why_not(history))
        return _plain(fields), None
    main = max(filled, key=lambda o: o.fill_qty)
    qty = sum((o.fill_qty for o in filled), Decimal(0))
    price = sum((o.fill_qty * (o.fill_price or 0) for o in filled), Decimal(0)) / qty
    pnls = [o.realized_pnl for o in filled if o.realized_pnl is not None]
    pnl = sum(pnls, Decimal(0)) if len(pnls) == len(filled) else None
    fees = [o.commission for o in filled if o.commission is not None]
    fields.update(
        client_id=main.client_id, algo_id=main.algo_id, order_type=main.order_type,
        order_id=main.child_order_id, price=main.fill_price if len(filled) == 1 else price,
        qty=qty, pnl=pnl, commission=sum(fees, Decimal(0)) if fees else None,
        commission_asset=main.commission_asset,
        fill_time_ms=max(o.fill_time_ms for o in filled if o.fill_time_ms is not None)
        if any(o.fill_time_ms is not None for o in filled) else None)
    if qty >= s.qty:
        cause = "trailing_filled" if main.order_type == OrderKind.TRAILING else "stop_filled"
        fields.update(explained=True, cause=cause)
    else:
        fields.update(explained=False, cause="unexplained",
                      why=f"our stops filled {qty} of {s.qty}; the rest closed otherwise")
    return _plain(fields), pnl


def _why_not(history: tuple[StopOutcome, ...]) -> str:
    if not history:
        return "no stop of ours to look up"
    parts = []
    for o in history:
        if o.error is not None:
            parts.append(f"{o.client_id}: history unreadable ({o.error})")
        elif not o.found:
            parts.append(f"{o.client_id}: not found (never placed, or purged)")
        elif o.child_order_id is not None:
            parts.append(f"{o.client_id}: {o.status}, no trade found for order "
                         f"{o.child_order_id}")
        else:
            parts.append(f"{o.client_id}: {o.status}")
    return "no stop of ours filled: " + "; ".join(parts)


def _stop_row(o: StopOutcome) -> dict[str, Any]:
    row = {"client_id": o.client_id, "algo_id": o.algo_id, "order_type": o.order_type,
           "found": o.found, "status": o.status, "order_id": o.child_order_id,
           "qty": o.fill_qty if o.fill_qty else None, "price": o.fill_price,
           "pnl": o.realized_pnl, "fill_time_ms": o.fill_time_ms, "error": o.error}
    return _plain(row)


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    """Journal-ready: Decimals as strings, Nones dropped (persistence/codec.py refuses both
    silently-rounded floats and Decimal objects)."""
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in d.items() if v is not None}


def _str(v: Decimal | None) -> str | None:
    return None if v is None else str(v)
