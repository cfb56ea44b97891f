"""The symbol state machine: one transition table, pure functions, no I/O.

`handle(state, trigger, event, ctx)` returns a Step: the new state, the journal row that
describes the transition, and the exchange requests to send. The actor shell (actors/symbol.py)
persists the step BEFORE sending any of its requests, so every request is backed by a durable
record of why it was sent (incidents I-1, I-3). An illegal (state, trigger) pair raises
IllegalTransition naming "STATE -> TRIGGER".

Exchange replies are matched by deterministic client id, never by "what we are waiting for",
so a reply that arrives after the position has closed is recognised and its leftovers are
cleaned up (I-4).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace as _replace
from decimal import Decimal
from enum import Enum, unique
from typing import Any

from actors import client_ids
from actors.away_close import stop_refs
from actors.client_ids import Purpose
from actors.messages import (
    CancelStop,
    ExchangeFailure,
    FailureKind,
    FetchSymbol,
    LookupOrder,
    PlaceMarket,
    PlaceStop,
)
from actors.protection import (
    MarketRules,
    ProtectionPolicy,
    Side,
    TrailState,
    closing_order_side,
    initial_trail_state,
    native_trailing_params,
)
from actors.symbol_state import PendingOrder, State, StopOrder, SymbolState

MAX_STOP_FAILURES = 3
# Consecutive failures of one lookup or cancel before the symbol is quarantined. Each failure
# is already several attempts: the gateway retries reads with backoff (system/exchange.py).
MAX_OP_FAILURES = 5
TRAILING = "TRAILING_STOP_MARKET"
TRANSIENT = (FailureKind.TEMPORARY, FailureKind.UNKNOWN_OUTCOME)


@unique
class Trigger(Enum):
    """Everything that can happen to a symbol actor."""

    OPEN = "open"
    CLOSE = "close"
    RECONCILE = "reconcile"
    MARK = "mark"
    POSITION = "position"
    ORDER = "order"
    ALGO = "algo"
    MARKET_REPLY = "market_reply"
    STOP_REPLY = "stop_reply"
    TRAILING_REPLY = "trailing_reply"
    CANCEL_REPLY = "cancel_reply"
    LOOKUP_REPLY = "lookup_reply"
    SNAPSHOT = "snapshot"
    RETRY = "retry"
    STOP_CHECK = "stop_check"


class IllegalTransition(RuntimeError):
    """A trigger arrived in a state that has no row for it (a posguard bug)."""


@dataclass(frozen=True, slots=True)
class Context:
    """What a transition may depend on besides the state and the event."""

    epoch: int
    """Fencing epoch of this instance (goes into client ids)."""
    policy: ProtectionPolicy
    """The symbol's stop policy."""
    rules: MarketRules | None
    """Tick/step rules (None until the first reconcile)."""
    now_ms: int
    """Engine time of this transition."""


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of one transition."""

    state: SymbolState
    """The new state (persisted as the snapshot)."""
    kind: str
    """Journal row kind."""
    payload: dict[str, Any]
    """Journal row payload (what happened, why)."""
    requests: tuple[Any, ...] = ()
    """Exchange operations to send after the row is durable."""
    outcome: tuple[str, str] | None = None
    """For commands: (outcome, detail)."""
    retry_after_ms: int | None = None
    """Ask the shell for a RETRY trigger after this delay."""
    persist: bool = True
    """False for in-memory-only updates (e.g. a mark price that moved nothing)."""
    refetch: bool = False
    """The shell should send a FetchSymbol (reconcile)."""
    alert: str | None = None
    """The shell logs this as an ALERT (log.critical): the position is unprotected."""
    retry_op: Any = None
    """With retry_after_ms: the operation the RETRY trigger carries (None: the replied one)."""


ALL = tuple(State)
STABLE = (State.FLAT, State.PROTECTED)
# The one transition table: trigger -> states where it is legal -> handler name.
TABLE: dict[Trigger, dict[State, str]] = {
    Trigger.OPEN: {State.FLAT: "_open"},
    # QUARANTINED too: closing is one of the operator's decisions.
    Trigger.CLOSE: {s: "_close" for s in (State.OPEN_UNPROTECTED, State.PROTECTED,
                                          State.MOVING_STOP, State.QUARANTINED)},
    Trigger.RECONCILE: {s: "_reconcile" for s in (State.FLAT, State.PROTECTED,
                                                  State.OPEN_UNPROTECTED, State.QUARANTINED,
                                                  State.RECONCILING)},
    Trigger.MARK: {s: "_mark" for s in ALL},
    Trigger.POSITION: {s: "_position" for s in ALL},
    Trigger.ORDER: {s: "_order" for s in ALL},
    Trigger.ALGO: {s: "_algo" for s in ALL},
    # While RECONCILING, a reply only marks the fetch in flight as stale: the next snapshot
    # shows what the reply's order did, and reconcile_with decides from that truth.
    Trigger.MARKET_REPLY: {**{s: "_market_reply" for s in ALL},
                           State.RECONCILING: "_reply_during_reconcile"},
    Trigger.STOP_REPLY: {**{s: "_stop_reply" for s in ALL},
                         State.RECONCILING: "_reply_during_reconcile"},
    # Native mode: the reply to a TRAILING_STOP_MARKET placement (actors/native_trailing.py).
    Trigger.TRAILING_REPLY: {**{s: "_trailing_reply" for s in ALL},
                             State.RECONCILING: "_reply_during_reconcile"},
    Trigger.CANCEL_REPLY: {**{s: "_cancel_reply" for s in ALL},
                           State.RECONCILING: "_reply_during_reconcile"},
    Trigger.LOOKUP_REPLY: {**{s: "_lookup_reply" for s in ALL},
                           State.RECONCILING: "_reply_during_reconcile"},
    Trigger.SNAPSHOT: {State.RECONCILING: "_snapshot"},
    # QUARANTINED: the operator decides, and timers armed before the quarantine send nothing,
    # except that a position with no resting stop keeps being protected (actors/coverage.py).
    Trigger.RETRY: {**{s: "_retry" for s in ALL}, State.RECONCILING: "_retry_during_reconcile",
                    State.QUARANTINED: "_retry_while_quarantined"},
    # The periodic sweep's view of our stops on the exchange (actors/coverage.py decides,
    # by state, whether it is current and whether it differs).
    Trigger.STOP_CHECK: {s: "_stop_check" for s in ALL},
}


def is_trailing(op: Any) -> bool:
    """True for a TRAILING_STOP_MARKET placement (its reply is Trigger.TRAILING_REPLY)."""
    return isinstance(op, PlaceStop) and op.order_type == TRAILING


def allowed(state: State, trigger: Trigger) -> bool:
    """True if the table has a row for (state, trigger)."""
    return state in TABLE[trigger]


def handle(s: SymbolState, trigger: Trigger, event: Any, ctx: Context) -> Step | None:
    """Apply one trigger; None when nothing changed (nothing to persist or send).

    Every step then goes through coverage.track, the one place that keeps the facts about
    protection (since when the position has had no resting stop, the ALERTs, when our orders
    last changed) whatever handler made it.
    """
    name = TABLE[trigger].get(s.state)
    if name is None:
        raise IllegalTransition(f"{s.state.name} -> {trigger.name}")
    from actors import coverage, symbol_handlers
    step = getattr(symbol_handlers, name)(s, event, ctx)
    return None if step is None else coverage.track(s, step, ctx)


# --------------------------------------------------------------------------- helpers
# (shared by the handlers in actors/symbol_handlers.py)


def next_client_id(s: SymbolState, ctx: Context, purpose: Purpose) -> tuple[str, int]:
    """The next deterministic client id and the counter to persist with it."""
    n = s.order_counter + 1
    return client_ids.make(ctx.epoch, s.symbol, purpose, n), n


def on_tick(price: Decimal, rules: MarketRules | None) -> Decimal:
    """`price` written with exactly the tick's decimals (the exchange pads, e.g. 61491.00)."""
    return price if rules is None else price.quantize(rules.tick_size.normalize())


def place_stop(s: SymbolState, ctx: Context, trigger: Decimal, *,
               client_id: str | None = None) -> tuple[SymbolState, PlaceStop]:
    """Make a full-size reduce-only STOP_MARKET at `trigger`; record it as pending."""
    assert s.side is not None
    counter = s.order_counter
    trigger = on_tick(trigger, ctx.rules)
    if client_id is None:
        client_id, counter = next_client_id(s, ctx, Purpose.STOP)
    op = PlaceStop(symbol=s.symbol, side=closing_order_side(s.side), qty=s.qty,
                   client_id=client_id, order_type="STOP_MARKET", trigger_price=trigger,
                   working_type=ctx.policy.working_type)
    pending = StopOrder(client_id, None, trigger, s.qty, "STOP_MARKET")
    return s.replace(pending_stop=pending, order_counter=counter), op


def current_trail(s: SymbolState, ctx: Context) -> TrailState:
    """The trail a (re-)placed stop follows: the persisted one once trailing has activated
    (its stop comes from the peak), else a fresh one: stop_loss_pct from the position's entry,
    which after a partial fill or an add is the average entry the exchange reports."""
    assert s.side is not None and s.entry_price is not None and ctx.rules is not None
    if s.trail is not None and s.trail.active:
        return s.trail
    return initial_trail_state(s.side, s.entry_price, ctx.policy, ctx.rules)


def resize_trigger(s: SymbolState, ctx: Context, resting: Decimal | None) -> Decimal:
    """Where the stop goes when it is re-placed for a new size: the trailed stop once trailing
    has activated, else stop_loss_pct from the (average) entry; `resting` when unknown."""
    if s.side is None or s.entry_price is None or ctx.rules is None:
        return resting or Decimal(0)
    if s.trail is not None and s.trail.active and resting is not None:
        return resting
    return current_trail(s, ctx).stop_price


def protect(s: SymbolState, ctx: Context) -> tuple[SymbolState, list[Any]]:
    """Position known, no stop: place the stop the policy asks for (OPEN_UNPROTECTED)."""
    trail = current_trail(s, ctx)
    s, op = place_stop(s.replace(trail=trail), ctx, trail.stop_price)
    return s.replace(state=State.OPEN_UNPROTECTED), [op]


def native(ctx: Context) -> bool:
    """True when the exchange trails (protection.trailing.mode: native)."""
    return ctx.policy.trailing.mode == "native"


def trailing_op(s: SymbolState, ctx: Context, order: StopOrder) -> PlaceStop:
    """The PlaceStop for `order` (a TRAILING_STOP_MARKET record), closing `s`'s position."""
    assert s.side is not None
    return PlaceStop(symbol=s.symbol, side=closing_order_side(s.side), qty=order.qty,
                     client_id=order.client_id, order_type=TRAILING, trigger_price=None,
                     working_type=ctx.policy.working_type,
                     callback_rate_pct=order.callback_rate_pct,
                     activate_price=order.activate_price)


def place_trailing(s: SymbolState, ctx: Context, *,
                   again: StopOrder | None = None) -> tuple[SymbolState, PlaceStop]:
    """Make a full-size reduce-only TRAILING_STOP_MARKET (native mode); record it as pending.

    `again`: re-send that order under its own client id (sized to the position now), so that
    if an earlier attempt landed after all the exchange refuses the copy (-4116).
    """
    assert s.side is not None and s.entry_price is not None and ctx.rules is not None
    if again is not None:
        order = _replace(again, qty=s.qty)
        return s.replace(pending_trailing=order), trailing_op(s, ctx, order)
    params = native_trailing_params(s.side, s.entry_price, ctx.policy, ctx.rules)
    client_id, counter = next_client_id(s, ctx, Purpose.TRAILING)
    order = StopOrder(client_id, None, None, s.qty, TRAILING, params.callback_rate_pct,
                      on_tick(params.activate_price, ctx.rules))
    return s.replace(pending_trailing=order, order_counter=counter), trailing_op(s, ctx, order)


def protect_new(s: SymbolState, ctx: Context) -> tuple[SymbolState, list[Any]]:
    """A new position: its stop, and in native mode the exchange's trailing stop as well."""
    s, ops = protect(s, ctx)
    if native(ctx):
        s, op = place_trailing(s, ctx)
        ops.append(op)
    return s, ops


def cancel_ops(s: SymbolState, stops: list[StopOrder]) -> tuple[SymbolState, list[Any]]:
    """Cancel `stops` (idempotent on the exchange); they wait in `cancelling`."""
    known = {c.client_id for c in s.cancelling}
    new = [c for c in stops if c.client_id not in known]
    ops = [CancelStop(s.symbol, c.algo_id, c.client_id) for c in new]
    return s.replace(cancelling=s.cancelling + tuple(new)), ops


def go_flat(s: SymbolState, reason: str, spent: str | None = None
            ) -> tuple[SymbolState, list[Any]]:
    """The position is gone: cancel every stop we know of (but `spent`, the client id of the
    stop that just filled), forget the position."""
    known = (s.stop, s.pending_stop, s.trailing, s.pending_trailing)
    leftovers = [x for x in known if x is not None and x.algo_id and x.client_id != spent]
    s, ops = cancel_ops(s, leftovers)
    # A pending stop without an algo id is still in flight: its reply cleans it up.
    return s.replace(state=State.FLAT, side=None, qty=Decimal(0), entry_price=None,
                     stop=None, pending_stop=None, trailing=None, pending_trailing=None,
                     trail=None, close_order=None,
                     stop_failures=0, adopted=False,
                     last_error=None if reason == "closed" else s.last_error), ops


def close_at_market(s: SymbolState, ctx: Context, command_id: str) -> tuple[SymbolState, Any]:
    """Send a reduce-only market order for the whole position (CLOSING)."""
    assert s.side is not None
    cid, counter = next_client_id(s, ctx, Purpose.CLOSE)
    side = closing_order_side(s.side)
    op = PlaceMarket(s.symbol, side, s.qty, cid, reduce_only=True)
    pending = PendingOrder(cid, command_id, side, s.qty)
    return s.replace(state=State.CLOSING, close_order=pending, order_counter=counter), op


def backoff_ms(failures: int) -> int:
    """Retry delay for the n-th consecutive failure (the shell adds jitter)."""
    return min(100 * 2 ** max(failures - 1, 0), 5000)


def quarantine(s: SymbolState, reason: str, info: dict[str, Any]) -> Step:
    """Stop acting on the symbol: the state says why; exchange stops stay where they are.
    If none rests, the stop keeps being placed meanwhile (actors/coverage.py)."""
    return Step(s.replace(state=State.QUARANTINED, quarantine_reason=reason, op_failures={}),
                "quarantined", {**info, "reason": reason})


def retry_or_quarantine(s: SymbolState, key: str, failure: ExchangeFailure, what: str,
                        kind: str, info: dict[str, Any], cap: int = MAX_OP_FAILURES) -> Step:
    """A failed lookup, cancel or trailing placement: a transient failure is retried with
    backoff, at most `cap` times in a row; anything else (auth, permissions, an invalid
    request) would fail the same way again, so it quarantines at once."""
    err = f"{what}: {failure.message}"
    n = s.op_failures.get(key, 0) + 1
    s = s.replace(last_error=err)
    if failure.kind not in TRANSIENT:
        return quarantine(s, f"{err} ({failure.kind.value}, not retried)", info)
    if n >= cap:
        return quarantine(s, f"{err} (failed {n} times in a row, gave up)", info)
    return Step(s.replace(op_failures={**s.op_failures, key: n}), kind, info,
                retry_after_ms=backoff_ms(n))


def succeeded(s: SymbolState, key: str) -> SymbolState:
    """`s` with the failure count of operation `key` cleared."""
    if key not in s.op_failures:
        return s
    return s.replace(op_failures={k: v for k, v in s.op_failures.items() if k != key})


def side_of(amount: Decimal) -> Side | None:
    """LONG for > 0, SHORT for < 0, None for 0."""
    if amount > 0:
        return Side.LONG
    if amount < 0:
        return Side.SHORT
    return None


def fetch_op(s: SymbolState) -> FetchSymbol:
    """The reconcile's fetch (Step.refetch): it names our stops, so that if the position
    turns out closed the worker reads what the exchange's history says about them."""
    return FetchSymbol(s.symbol, explain=stop_refs(s))


def lookup(symbol: str, client_id: str, algo: bool) -> LookupOrder:
    """Look an order up by client id after an unknown outcome."""
    return LookupOrder(symbol, client_id, algo)


def payload(**kw: Any) -> dict[str, Any]:
    """A journal payload: Decimals as strings, Nones dropped."""
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in kw.items() if v is not None}
