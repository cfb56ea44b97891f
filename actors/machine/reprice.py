"""How the resting stop is re-priced (a trail's move, a resize): the venue decides.

- new-first (Binance, Capabilities.amend_in_place False): a new stop is placed; the old one
  rests until the new one does and is cancelled only then (actors/machine/slot.py);
- in place (Bybit, amend_in_place True): one AmendStop of the resting stop, trigger and size
  together; the stop keeps its ids and rests throughout, at the old trigger until the amend
  is known to have landed (actors/machine/amend.py settles every outcome).

Either way the symbol is MOVING_STOP with exactly one re-pricing in flight (`pending_stop`
or `amending`, never both). A leaf beside slot.py: every module that re-prices imports it.
"""

from __future__ import annotations

from decimal import Decimal

from actors.machine.core import Context, on_tick
from actors.machine.slot import place_stop
from actors.messages import PlaceStop, StopPurpose
from actors.symbol_state import State, StopAmend, SymbolState
from venue.requests import AmendStop
from venue.vocab import OrderKind


def amends(s: SymbolState, ctx: Context) -> bool:
    """True when `s`'s resting stop is re-priced in place: the venue amends, a fixed stop of
    ours rests, and no placement of another is in flight."""
    stop = s.stop
    return (ctx.venue.amend_in_place and stop is not None and stop.order_type == OrderKind.STOP
            and s.pending_stop is None)


def reprice(s: SymbolState, ctx: Context, trigger: Decimal, *, purpose: StopPurpose
            ) -> tuple[SymbolState, PlaceStop | AmendStop]:
    """The resting stop moved to `trigger` and sized to the position, as the venue does it
    (see module); the state returned is MOVING_STOP. Any wish for a move is settled by it."""
    if not amends(s, ctx):
        new, op = place_stop(s, ctx, trigger, purpose=purpose)
        return new.replace(state=State.MOVING_STOP), op
    stop = s.stop
    assert stop is not None
    trigger = on_tick(trigger, ctx.rules)
    op = AmendStop(s.symbol, stop.algo_id, stop.client_id, trigger,
                   None if s.qty == stop.qty else s.qty, purpose=purpose)
    return s.replace(state=State.MOVING_STOP, move_wish=None,
                     amending=StopAmend(stop.client_id, trigger, s.qty)), op


def answers(a: StopAmend | None, op: object) -> bool:
    """True when `op` (a reply's or a deferral's AmendStop) is the amend `a` in flight: the
    same stop and the same target. Every amend of one stop has the same client id, so an
    answer to an earlier amend is told apart by its target."""
    return (a is not None and isinstance(op, AmendStop) and op.client_id == a.client_id
            and op.trigger_price == a.trigger_price and (op.qty is None or op.qty == a.qty))
