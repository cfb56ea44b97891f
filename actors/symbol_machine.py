"""The symbol state machine: ONE transition table over pure handlers, no I/O.

Each row maps (state, trigger) to the handler that runs and the states it may move to, so
"what happens when a stop fills" is the STOP_FILL rows and `stream.stop_filled`, and "when
it is accepted" the STOP_ACCEPTED rows (actors/machine/accepted.py). An illegal pair raises
IllegalTransition("STATE -> TRIGGER"); a handler that moves to a state its row does not list
raises too (both are posguard bugs: the shell ends the actor, which restarts from its last
durable snapshot and reconciles).

The shell (actors/symbol.py) sends the coarse triggers; `refine` turns an order or algo
update, a placement's or market order's reply or a lookup's into the finer trigger of whose
order it names (our entry, our close, a stop, an order we cancel, a stray of ours), so no
handler has to ask. Every step then goes through coverage.track, the one place that keeps
the facts about protection (since when the position has had no resting stop, the ALERTs,
when our orders last changed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from actors.machine import (
    accepted,
    amend,
    commands,
    coverage,
    market,
    moves,
    replies,
    stream,
    timers,
)
from actors.machine.core import (
    STABLE,
    Context,
    IllegalTransition,
    Step,
    Trigger,
    fetch_op,
    ignored,
    is_trailing,
)
from actors.machine.trailing import TRAILING
from actors.symbol_state import State, SymbolState

__all__ = ["STABLE", "TABLE", "Context", "IllegalTransition", "Row", "Step", "Trigger",
           "allowed", "fetch_op", "handle", "is_trailing"]

Handler = Callable[[SymbolState, Any, Context], Step | None]


@dataclass(frozen=True, slots=True)
class Row:
    """One row: who handles the pair, and where it may go."""

    handler: Handler
    """The pure function that makes the step."""
    targets: frozenset[State]
    """The states the step may move to (staying is listed when it is allowed)."""


SAME = "same"
"""In a row's targets: the state the row is for (a row for several states)."""
ALL = tuple(State)
FLAT, OPENING, OPEN_UNPROTECTED, PROTECTED, MOVING_STOP, CLOSING, RECONCILING, QUARANTINED = ALL
NOT_RECONCILING = tuple(s for s in ALL if s is not RECONCILING)
PLACING = (OPEN_UNPROTECTED, PROTECTED, MOVING_STOP)
"""Where we (re-)place a native trailing order on our own initiative: a known position that
is not being closed and not waiting for the operator."""
NOT_PLACING = tuple(s for s in NOT_RECONCILING if s not in PLACING)


def rows(states: tuple[State, ...], handler: Handler, *targets: State | str
         ) -> dict[State, Row]:
    """The same handler for each of `states`; SAME in `targets` means that state itself."""
    return {s: Row(handler, frozenset(s if t == SAME else t for t in targets))  # type: ignore
            for s in states}


def stream_rows(handler: Handler, *targets: State | str) -> dict[State, Row]:
    """A stream event: `handler` everywhere, but RECONCILING only fetches again after it."""
    return {**rows(NOT_RECONCILING, handler, *targets),
            **rows((RECONCILING,), stream.event_during_reconcile, SAME)}


def reply_rows(handler: Handler, *targets: State | str) -> dict[State, Row]:
    """A REST reply: `handler` everywhere, but RECONCILING only fetches again after it."""
    return {**rows(NOT_RECONCILING, handler, *targets),
            **rows((RECONCILING,), replies.reply_during_reconcile, SAME)}


BY_TRIGGER: dict[Trigger, dict[State, Row]] = {
    # ---- commands
    Trigger.OPEN: rows((FLAT,), market.open_position, OPENING, FLAT),
    # QUARANTINED too: closing is one of the operator's decisions.
    Trigger.CLOSE: rows((OPEN_UNPROTECTED, PROTECTED, MOVING_STOP, QUARANTINED),
                        market.close_position, CLOSING),
    Trigger.RECONCILE: {**rows((FLAT, PROTECTED, OPEN_UNPROTECTED, RECONCILING),
                               commands.reconcile, RECONCILING),
                        **rows((QUARANTINED,), commands.release, RECONCILING)},
    # The periodic sweep's view of our stops; in the other states a request in flight
    # settles things first.
    Trigger.STOP_CHECK: {**rows(ALL, ignored),
                         **rows((FLAT, PROTECTED), commands.stop_check, RECONCILING),
                         **rows((QUARANTINED,), commands.stop_check_while_quarantined,
                                RECONCILING)},
    # ---- the mark price: only a resting stop is moved, only a known trail is followed
    Trigger.MARK: {**rows(ALL, stream.remember_mark, SAME),
                   **rows((OPEN_UNPROTECTED, MOVING_STOP), stream.follow_mark, SAME),
                   **rows((PROTECTED,), stream.move_on_mark, PROTECTED, MOVING_STOP)},
    # ---- the user stream
    Trigger.POSITION: {
        **stream_rows(ignored),
        **rows((FLAT,), stream.position_while_flat, OPEN_UNPROTECTED, RECONCILING),
        **rows((OPENING,), stream.position_while_opening, OPEN_UNPROTECTED, RECONCILING),
        **rows((OPEN_UNPROTECTED, MOVING_STOP), stream.position_changed,
               SAME, FLAT, RECONCILING),
        **rows((CLOSING,), stream.position_changed_while_closing, CLOSING, FLAT, RECONCILING),
        **rows((PROTECTED,), stream.position_changed_protected,
               PROTECTED, MOVING_STOP, FLAT, RECONCILING),
        **rows((QUARANTINED,), stream.position_while_quarantined, QUARANTINED, FLAT),
        **rows((RECONCILING,), stream.position_during_reconcile, RECONCILING)},
    Trigger.STALE_POSITION: rows(ALL, stream.stale_position, SAME),
    Trigger.ORDER: stream_rows(ignored),
    Trigger.OPEN_ORDER_UPDATE: {**stream_rows(ignored),
                                **rows((OPENING,), market.open_order_update,
                                       OPEN_UNPROTECTED, RECONCILING, FLAT)},
    Trigger.CLOSE_FILL: stream_rows(stream.close_filled, SAME, FLAT),
    Trigger.STOP_FILL: stream_rows(stream.stop_filled, SAME, FLAT),
    Trigger.ALGO: stream_rows(ignored),
    # Our stop rests (REST reply, stream or lookup: one trigger, see accepted.py).
    Trigger.STOP_ACCEPTED: {
        **rows((OPEN_UNPROTECTED, PROTECTED, MOVING_STOP), accepted.stop_accepted,
               PROTECTED, MOVING_STOP, SAME),
        **rows((FLAT, OPENING, CLOSING), accepted.stop_accepted_late, SAME),
        **rows((QUARANTINED,), accepted.stop_accepted_while_quarantined,
               QUARANTINED, PROTECTED, MOVING_STOP),
        **rows((RECONCILING,), accepted.accepted_during_reconcile, RECONCILING)},
    Trigger.TRAILING_ACCEPTED: {
        **rows((OPEN_UNPROTECTED, PROTECTED, MOVING_STOP), accepted.trailing_accepted, SAME),
        **rows((FLAT, OPENING, CLOSING), accepted.trailing_accepted_late, SAME),
        **rows((QUARANTINED,), accepted.trailing_accepted_while_quarantined, QUARANTINED),
        **rows((RECONCILING,), accepted.accepted_during_reconcile, RECONCILING)},
    Trigger.PENDING_GONE: {
        **stream_rows(ignored),
        **rows((OPEN_UNPROTECTED, PROTECTED, MOVING_STOP), stream.pending_gone, RECONCILING)},
    Trigger.STOP_UPDATE: {
        **stream_rows(stream.stop_update, SAME, OPEN_UNPROTECTED),
        **rows((MOVING_STOP,), stream.stop_update_while_moving, MOVING_STOP, RECONCILING)},
    Trigger.TRAILING_UPDATE: {
        **stream_rows(stream.trailing_update, SAME, RECONCILING),
        **rows(NOT_PLACING, stream.trailing_update_not_placing, SAME, RECONCILING)},
    Trigger.CANCELLING_UPDATE: stream_rows(stream.cancelling_update, SAME),
    Trigger.STRAY_UPDATE: stream_rows(stream.stray_update, SAME),
    # ---- REST replies, matched by client id (a late one is cleaned up, I-4)
    Trigger.MARKET_REPLY: reply_rows(ignored),
    Trigger.OPEN_REPLY: {**reply_rows(market.open_reply_after_fill, SAME),
                         **rows((OPENING,), market.open_reply,
                                OPENING, FLAT, OPEN_UNPROTECTED, RECONCILING)},
    Trigger.CLOSE_REPLY: reply_rows(market.close_reply, SAME, FLAT, RECONCILING),
    Trigger.STOP_REPLY: {**reply_rows(replies.stop_failed, SAME, QUARANTINED, RECONCILING),
                         **rows((QUARANTINED,), replies.stop_failed_while_quarantined,
                                QUARANTINED)},
    Trigger.STOP_WOULD_TRIGGER: {
        **reply_rows(replies.stop_would_trigger, FLAT, CLOSING),
        **rows((MOVING_STOP,), replies.stop_would_trigger_while_moving,
               PROTECTED, FLAT, CLOSING)},
    # Native mode: the reply to a trailing order's placement (actors/machine/trailing.py).
    Trigger.TRAILING_REPLY: reply_rows(replies.trailing_failed, SAME, QUARANTINED,
                                       RECONCILING),
    Trigger.CANCEL_REPLY: reply_rows(replies.cancel_reply, SAME, QUARANTINED),
    Trigger.LOOKUP_REPLY: reply_rows(replies.lookup_failed, SAME, QUARANTINED),
    Trigger.OPEN_LOOKUP: {**reply_rows(market.open_lookup_after_fill, SAME),
                          **rows((OPENING,), market.open_lookup,
                                 OPENING, FLAT, OPEN_UNPROTECTED, RECONCILING)},
    Trigger.CLOSE_LOOKUP: reply_rows(market.close_lookup, SAME, FLAT, RECONCILING),
    Trigger.STOP_LOOKUP: reply_rows(replies.stop_lookup, SAME, RECONCILING),
    Trigger.TRAILING_LOOKUP: {
        **reply_rows(replies.trailing_lookup, SAME, RECONCILING),
        **rows(NOT_PLACING, replies.trailing_lookup_not_placing, SAME, RECONCILING)},
    Trigger.SNAPSHOT: rows((RECONCILING,), replies.snapshot, RECONCILING, QUARANTINED, FLAT,
                           PROTECTED, MOVING_STOP, OPEN_UNPROTECTED),
    # ---- an amend of the resting stop in place (amend_in_place venues, actors/machine/amend.py)
    # in flight only in MOVING_STOP; an answer that finds the symbol elsewhere settles it
    Trigger.AMEND_REPLY: reply_rows(ignored),
    Trigger.AMEND_ACCEPTED: {
        **rows(NOT_RECONCILING, amend.amended_elsewhere, SAME),
        **rows((MOVING_STOP,), amend.amended, PROTECTED, MOVING_STOP, RECONCILING),
        **rows((RECONCILING,), accepted.accepted_during_reconcile, RECONCILING)},
    Trigger.AMEND_NOT_RESTING: {**reply_rows(amend.settled_elsewhere, SAME),
                                **rows((MOVING_STOP,), amend.not_resting, RECONCILING)},
    Trigger.AMEND_WOULD_TRIGGER: {**reply_rows(amend.settled_elsewhere, SAME),
                                  **rows((MOVING_STOP,), amend.would_trigger,
                                         PROTECTED, CLOSING, RECONCILING)},
    Trigger.AMEND_REFUSED: {**reply_rows(amend.settled_elsewhere, SAME),
                            **rows((MOVING_STOP,), amend.refused,
                                   PROTECTED, QUARANTINED, RECONCILING)},
    Trigger.AMEND_UNKNOWN: {**reply_rows(amend.settled_elsewhere, SAME),
                            **rows((MOVING_STOP,), amend.unknown, MOVING_STOP, RECONCILING)},
    Trigger.AMEND_LOOKUP: {**reply_rows(amend.settled_elsewhere, SAME),
                           **rows((MOVING_STOP,), amend.looked_up, PROTECTED, RECONCILING)},
    # ---- the order budget's scheduler (actors/dispatch.py, actors/machine/moves.py): a move
    # the pool did not send, and the grant of one wished for
    Trigger.MOVE_DEFERRED: {**rows(ALL, moves.move_deferred_elsewhere, SAME),
                            **rows((MOVING_STOP,), moves.move_deferred,
                                   PROTECTED, MOVING_STOP, OPEN_UNPROTECTED)},
    Trigger.MOVE_GRANT: {**rows(ALL, moves.grant_declined, SAME),
                         **rows((PROTECTED,), moves.move_granted, PROTECTED, MOVING_STOP)},
    # ---- retry timers. QUARANTINED: timers armed before the quarantine send nothing,
    # except that a position with no resting stop keeps being protected (coverage.py).
    # PROTECTED: a refused amend is tried again at the latest target (amend.retry).
    Trigger.RETRY: {**rows(ALL, timers.retry, SAME),
                    **rows((PROTECTED,), timers.retry, PROTECTED, MOVING_STOP),
                    **rows((RECONCILING,), timers.retry_during_reconcile, RECONCILING),
                    **rows((QUARANTINED,), timers.retry_while_quarantined, QUARANTINED,
                           CLOSING)},
}

TABLE: dict[tuple[State, Trigger], Row] = {
    (state, trigger): row for trigger, by_state in BY_TRIGGER.items()
    for state, row in by_state.items()}
"""The one transition table: (state, trigger) -> Row."""

_REFINED = {
    Trigger.POSITION: stream.refine_position,
    Trigger.ORDER: stream.refine_order, Trigger.ALGO: stream.refine_algo,
    Trigger.MARKET_REPLY: market.refine_market, Trigger.LOOKUP_REPLY: replies.refine_lookup,
    Trigger.STOP_REPLY: replies.refine_stop_reply, Trigger.AMEND_REPLY: amend.refine_amend_reply,
    Trigger.TRAILING_REPLY: lambda s, r: accepted.refine_placement(s, r, TRAILING,
                                                                   "TRAILING_REPLY"),
}


def refine(s: SymbolState, trigger: Trigger, event: Any) -> Trigger:
    """The finer trigger for an order or algo update, a market order's reply or a lookup's:
    by which order of ours it names."""
    by = _REFINED.get(trigger)
    return trigger if by is None else Trigger[by(s, event)]


def allowed(state: State, trigger: Trigger) -> bool:
    """True if the table has a row for (state, trigger)."""
    return (state, trigger) in TABLE


def handle(s: SymbolState, trigger: Trigger, event: Any, ctx: Context) -> Step | None:
    """Apply one trigger; None when nothing changed (nothing to persist or send)."""
    if not allowed(s.state, trigger):
        raise IllegalTransition(f"{s.state.name} -> {trigger.name}")
    fine = refine(s, trigger, event)
    row = TABLE.get((s.state, fine))
    if row is None:
        raise IllegalTransition(f"{s.state.name} -> {fine.name}")
    step = row.handler(s, event, ctx)
    if step is None:
        return None
    if step.state.state not in row.targets:
        raise IllegalTransition(
            f"{s.state.name} -> {fine.name}: {row.handler.__name__} moved to "
            f"{step.state.state.name}, the row allows "
            f"{', '.join(sorted(t.name for t in row.targets)) or 'no move'}")
    return coverage.track(s, step, ctx)
