"""A small exchange for property tests of the symbol state machine.

It answers what the machine sent (replies of every remedy group), echoes our orders on the
stream, moves the position and fires retry timers, so a random sequence of "what happens
next" choices drives the REAL machine through plausible histories. Both the hypothesis
invariant test and the seeded recovery property draw their events from here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from actors.messages import (
    CancelStop,
    FailureKind,
    FetchSymbol,
    LookupOrder,
    MoveDeferred,
    MoveGrant,
    PlaceMarket,
    PlaceStop,
    ReconcileRequest,
    StopPurpose,
)
from actors.symbol_machine import Trigger, allowed, is_trailing
from actors.symbol_state import State
from tests.fakes.machine import (
    SYMBOL,
    TIMEOUT,
    WOULD_TRIGGER,
    AmendStop,
    Driver,
    accept,
    algo_update,
    amended,
    failure,
    filled,
    mark,
    order_info,
    order_update,
    position,
    reply,
    snapshot,
    stop_info,
)

D = Decimal
QTY = D("0.010")
REPLY_HOWS = ("ok", "ok", "ok", "timeout", "2021", "temporary", "rejected", "lookup_new",
              "lookup_none", "halt")
POSITIONS = ("0", "0.010", "0.010", "0.020", "0.005", "-0.010")
OTHERS = ("algo_new", "stop_fill", "retry", "snap", "reconcile", "trailing_new",
          "trailing_fill", "trailing_lost")


@dataclass
class World:
    """What the property tests track besides the machine: requests in flight, retry timers,
    the position the exchange last reported, and every (trigger, event) applied."""

    inflight: list[Any] = field(default_factory=list)
    retries: list[Any] = field(default_factory=list)
    amount: Decimal = QTY
    applied: list[tuple[Trigger, Any, int]] = field(default_factory=list)
    """(trigger, event, the Driver's now_ms when applied): enough to apply it again."""
    amends: dict[str, AmendStop] = field(default_factory=dict)
    """The last AmendStop sent per client id (what a lookup `lookup_amended` finds)."""


def random_event(rng: random.Random) -> tuple:
    """One "what happens next" choice, in the vocabulary `feed` understands."""
    roll = rng.random()
    if roll < 0.25:
        return ("mark", D(rng.randint(55_000, 66_000)))
    if roll < 0.35:
        return ("pos", D(rng.choice(POSITIONS)))
    if roll < 0.8:
        return ("reply", rng.randint(0, 10), rng.choice(REPLY_HOWS))
    return (rng.choice(OTHERS), None)


def exchange_event(d: Driver, w: World, ev: tuple) -> tuple[Trigger, Any] | None:
    """A stream event, command or snapshot for `ev`; None when it makes no sense now."""
    kind, s = ev[0], d.s
    if kind == "snap" and s.state is State.RECONCILING:
        # the exchange holds the last reported position and none of our stops
        return Trigger.SNAPSHOT, reply(FetchSymbol(SYMBOL), snapshot(
            str(w.amount), "60000" if w.amount else "0"))
    if kind == "reconcile" and allowed(s.state, Trigger.RECONCILE):
        return Trigger.RECONCILE, ReconcileRequest(SYMBOL, "property")
    if kind == "mark":
        return Trigger.MARK, mark(ev[1])
    if kind == "pos":
        w.amount = ev[1]
        return Trigger.POSITION, position(ev[1], "60000")
    if kind == "algo_new" and s.pending_stop is not None:
        return Trigger.ALGO, algo_update(s.pending_stop.client_id, "NEW", algo_id="a-alg")
    if kind == "grant":  # the pool's grant may cross any transition on its way
        return Trigger.MOVE_GRANT, MoveGrant(SYMBOL)
    if kind == "stop_fill" and s.stop is not None:
        return Trigger.ORDER, order_update(s.stop.client_id, qty=str(s.qty), pnl="1")
    if kind == "algo_amended" and s.amending is not None:  # the stream's NEW after an amend
        a = s.amending
        return Trigger.ALGO, algo_update(a.client_id, "NEW", trigger=str(a.trigger_price),
                                         qty=str(a.qty))
    if kind == "stop_lost" and s.stop is not None:
        return Trigger.ALGO, algo_update(s.stop.client_id, "CANCELED")
    return _trailing_event(d, kind)


def _trailing_event(d: Driver, kind: str) -> tuple[Trigger, Any] | None:
    """Native mode: the exchange accepts, fills or drops our trailing order."""
    s, tr = d.s, "TRAILING_STOP_MARKET"
    if kind == "trailing_new" and s.pending_trailing is not None:
        return Trigger.ALGO, algo_update(s.pending_trailing.client_id, "NEW", algo_id="t-alg",
                                         order_type=tr)
    if kind == "trailing_fill" and s.trailing is not None:
        return Trigger.ORDER, order_update(s.trailing.client_id, qty=str(s.qty), order_type=tr)
    if kind == "trailing_lost" and s.trailing is not None:
        return Trigger.ALGO, algo_update(s.trailing.client_id, "CANCELED", order_type=tr)
    return None


def feed(d: Driver, w: World, ev: tuple) -> None:
    """Apply one generated event; track requests in flight and retry timers like the shell."""
    if ev[0] == "retry":
        found = (Trigger.RETRY, w.retries.pop(0)) if w.retries else None
    elif ev[0] == "reply":
        found = reply_for(w.inflight.pop(ev[1] % len(w.inflight)), ev[2], w) \
            if w.inflight else None
    else:
        found = exchange_event(d, w, ev)
    if found is None:
        return
    trigger, event = found
    step = d.apply(trigger, event, advance_ms=600)
    w.applied.append((trigger, event, d.now_ms))
    if step is not None:
        w.inflight.extend(step.requests)
        w.amends.update({r.client_id: r for r in step.requests if isinstance(r, AmendStop)})
        if step.retry_after_ms is not None and trigger is not Trigger.RETRY:
            w.retries.append(event.op if step.retry_op is None else step.retry_op)


def reply_for(op: Any, how: str, w: World | None = None) -> tuple[Trigger, Any]:
    """The exchange's answer to `op`: accepted / filled, or failed as `how` says (a move
    `deferred`: the pool's MoveDeferred; anything else deferred is accepted)."""
    fails = {"timeout": TIMEOUT, "2021": WOULD_TRIGGER,
             "temporary": failure(FailureKind.TEMPORARY, -1001),
             "rejected": failure(FailureKind.REJECTED, -2022),
             "halt": failure(FailureKind.HALT, -2015)}
    if isinstance(op, AmendStop):
        return _amend_reply(op, how, fails)
    if isinstance(op, PlaceStop) and how == "deferred" and op.purpose is StopPurpose.MOVE:
        return Trigger.MOVE_DEFERRED, MoveDeferred("req-" + op.client_id, op)
    if isinstance(op, PlaceStop):
        trigger = Trigger.TRAILING_REPLY if is_trailing(op) else Trigger.STOP_REPLY
        return trigger, (reply(op, fail=fails[how]) if how in fails
                         else accept(op, algo_id="x" + op.client_id[-3:]))
    if isinstance(op, PlaceMarket):
        if how == "timeout":
            return Trigger.MARKET_REPLY, reply(op, fail=TIMEOUT)
        return Trigger.MARKET_REPLY, filled(op)
    if isinstance(op, CancelStop):
        return Trigger.CANCEL_REPLY, reply(op, fail=fails.get(how) if how == "halt" else None)
    assert isinstance(op, LookupOrder)
    last = w.amends.get(op.client_id) if w is not None else None
    if how == "lookup_amended" and last is not None:
        qty = str(last.qty) if last.qty is not None else str(QTY)
        return Trigger.LOOKUP_REPLY, reply(op, stop_info(op.client_id, str(last.trigger_price),
                                                         qty=qty))
    found = None if how == "lookup_none" else (
        stop_info(op.client_id, "58800") if op.algo else order_info(op.client_id))
    return Trigger.LOOKUP_REPLY, reply(op, found)


def _amend_reply(op: AmendStop, how: str, fails: dict[str, Any]) -> tuple[Trigger, Any]:
    """An AmendStop's answer: amended, failed as `how` says, "not_found" (the stop no longer
    rests, 110001), or deferred by the pool (a move)."""
    if how == "deferred" and op.purpose is StopPurpose.MOVE:
        return Trigger.MOVE_DEFERRED, MoveDeferred("req-amend-" + op.client_id, op)
    if how == "not_found":
        return Trigger.AMEND_REPLY, reply(op, fail=failure(FailureKind.NOT_FOUND, 110001,
                                                           "order not exists or too late"))
    if how in fails:
        return Trigger.AMEND_REPLY, reply(op, fail=fails[how])
    return Trigger.AMEND_REPLY, amended(op)
