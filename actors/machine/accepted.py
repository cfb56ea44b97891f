"""An order of ours rests: the STOP_ACCEPTED and TRAILING_ACCEPTED rows.

The news comes three ways (the REST reply to the placement, the stream's NEW for it, or a
lookup after an unknown outcome that finds it resting); symbol_machine.refine turns each into
one trigger, so what an accepted stop does depends on the state alone (actors/machine/slot.py
`Slot.accepted*`), never on how we heard.
"""

from __future__ import annotations

from typing import Any

from actors.machine import moves
from actors.machine.core import Context, Step, fetch_again, note_event_time, succeeded
from actors.machine.slot import Slot
from actors.machine.stop import STOP
from actors.machine.trailing import TRAILING
from actors.messages import AlgoUpdate, ExchangeReply, LookupOrder, OrderInfo
from actors.symbol_state import SymbolState


def _news(s: SymbolState, event: Any) -> tuple[SymbolState, str, str]:
    """(`s` with what the news itself settles, the exchange's id for the order, source)."""
    if isinstance(event, AlgoUpdate):
        return note_event_time(s, event.event_ms), event.algo_id, "stream"
    assert isinstance(event, ExchangeReply) and isinstance(event.result, OrderInfo)
    if isinstance(event.op, LookupOrder):
        return succeeded(s, f"lookup:{event.op.client_id}"), event.result.order_id, "lookup"
    return s, event.result.order_id, "rest"


def _accepted(slot: Slot, s: SymbolState, event: Any, ctx: Context) -> Step:
    s, algo_id, source = _news(s, event)
    return slot.accepted(s, algo_id, ctx, source)


def _late(slot: Slot, s: SymbolState, event: Any) -> Step:
    s, algo_id, source = _news(s, event)
    return slot.accepted_late(s, algo_id, source)


def _quarantined(slot: Slot, s: SymbolState, event: Any, ctx: Context) -> Step:
    s, algo_id, source = _news(s, event)
    return slot.accepted_while_quarantined(s, algo_id, ctx, source)


def stop_accepted(s: SymbolState, event: Any, ctx: Context) -> Step:
    """Our stop rests: PROTECTED (a replaced one is cancelled now, new-first); a move the
    trail has already outrun is followed by the next one at once (moves.again)."""
    return moves.again(_accepted(STOP, s, event, ctx), ctx)


def stop_accepted_late(s: SymbolState, event: Any, ctx: Context) -> Step:
    """Our stop rests for a position that is gone or closing: cancel it (I-4)."""
    return _late(STOP, s, event)


def stop_accepted_while_quarantined(s: SymbolState, event: Any, ctx: Context) -> Step:
    """QUARANTINED: tracked, nothing sent; it ends a quarantine over its own placement."""
    return _quarantined(STOP, s, event, ctx)


def trailing_accepted(s: SymbolState, event: Any, ctx: Context) -> Step:
    """Our native trailing order rests beside the fixed stop (a resize's old one is
    cancelled now, new-first)."""
    return _accepted(TRAILING, s, event, ctx)


def trailing_accepted_late(s: SymbolState, event: Any, ctx: Context) -> Step:
    """Our trailing order rests for a position that is gone or closing: cancel it (I-4)."""
    return _late(TRAILING, s, event)


def trailing_accepted_while_quarantined(s: SymbolState, event: Any, ctx: Context) -> Step:
    """QUARANTINED: tracked, nothing sent (the operator's release reconciles)."""
    return _quarantined(TRAILING, s, event, ctx)


def accepted_during_reconcile(s: SymbolState, event: Any, ctx: Context) -> Step:
    """RECONCILING: the fetch in flight may predate it, so fetch again after it."""
    if isinstance(event, AlgoUpdate):
        s = note_event_time(s, event.event_ms)
    return fetch_again(s)


def refine_placement(s: SymbolState, r: ExchangeReply, slot: Slot, name: str) -> str:
    """A placement's REST reply: accepted (the slot's ACCEPTED trigger) or `name`."""
    p = slot.pending(s)
    if r.failure is None and p is not None and p.client_id == r.op.client_id:
        return f"{slot.name.upper()}_ACCEPTED"
    return name
