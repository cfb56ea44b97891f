"""The machine's vocabulary: Trigger, Context, Step, IllegalTransition, and the helpers every
handler shares.

A leaf: it imports no handler module, so handlers import it and the table imports handlers,
never the other way round.

`handle` (actors/symbol_machine.py) returns a Step: the new state, the journal row that
describes the transition, and the exchange requests to send. The actor shell
(actors/symbol.py) persists the step BEFORE sending any of its requests, so every request is
backed by a durable record of why it was sent (incidents I-1, I-3).

Exchange replies are matched by deterministic client id, never by "what we are waiting for",
so a reply that arrives after the position has closed is recognised and its leftovers are
cleaned up (I-4).
"""

from __future__ import annotations

from dataclasses import dataclass
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
from actors.protection import MarketRules, ProtectionPolicy, Side, closing_order_side
from actors.symbol_state import PendingOrder, ReconcileProgress, State, StopOrder, SymbolState
from venue.interface import Capabilities
from venue.vocab import OrderKind

MAX_STOP_FAILURES = 3
# Consecutive failures of one lookup or cancel before the symbol is quarantined. Each failure
# is already several attempts: the venue's gateway retries reads with backoff.
MAX_OP_FAILURES = 5
TRANSIENT = (FailureKind.TEMPORARY, FailureKind.UNKNOWN_OUTCOME)


@unique
class Trigger(Enum):
    """Everything that can happen to a symbol actor.

    The shell sends the first seventeen, and AMEND_REPLY. The rest are finer triggers `handle`
    derives from an event or reply by the client id it names (symbol_machine.refine), so that
    one row says what, say, a fill of our stop does, instead of one handler asking whose order
    it was.
    """

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
    MOVE_DEFERRED = "move_deferred"
    """The pool did not send our stop move (the order budget binds): actors/dispatch.py."""
    MOVE_GRANT = "move_grant"
    """The pool has budget for the move we wished for: place it at the latest target."""
    # POSITION older than the newest report applied (stream.refine_position)
    STALE_POSITION = "stale_position"
    # ORDER, by whose order it is
    OPEN_ORDER_UPDATE = "open_order_update"
    CLOSE_FILL = "close_fill"
    STOP_FILL = "stop_fill"
    # MARKET_REPLY and LOOKUP_REPLY (a successful one), by which order of ours it answers
    OPEN_REPLY = "open_reply"
    CLOSE_REPLY = "close_reply"
    OPEN_LOOKUP = "open_lookup"
    CLOSE_LOOKUP = "close_lookup"
    STOP_LOOKUP = "stop_lookup"
    TRAILING_LOOKUP = "trailing_lookup"
    # ALGO, by which of our orders it names
    STOP_WOULD_TRIGGER = "stop_would_trigger"
    """From STOP_REPLY: our stop was refused because the price is already past it (-2021)."""
    STOP_ACCEPTED = "stop_accepted"
    """Also from STOP_REPLY and LOOKUP_REPLY: our stop rests, however we heard."""
    TRAILING_ACCEPTED = "trailing_accepted"
    """Also from TRAILING_REPLY and LOOKUP_REPLY: our trailing order rests."""
    STOP_UPDATE = "stop_update"
    PENDING_GONE = "pending_gone"
    """Our placement in flight (fixed stop or native trailing) is already cancelled, expired
    or rejected (the stream beat its REST reply): the exchange's truth decides, not the reply."""
    TRAILING_UPDATE = "trailing_update"
    CANCELLING_UPDATE = "cancelling_update"
    STRAY_UPDATE = "stray_update"
    # Amend-in-place venues (actors/machine/amend.py): the reply to an AmendStop, and what
    # it (or the stream, or a lookup) says about the amend in flight
    AMEND_REPLY = "amend_reply"
    AMEND_ACCEPTED = "amend_accepted"
    """The stop rests at the amended trigger (REST reply, stream or lookup)."""
    AMEND_NOT_RESTING = "amend_not_resting"
    """Refused: the stop no longer rests (filled, triggered, cancelled: I-4)."""
    AMEND_WOULD_TRIGGER = "amend_would_trigger"
    """Refused: the price is already past the new trigger (the old one rests)."""
    AMEND_REFUSED = "amend_refused"
    """Refused otherwise: the old trigger still rests."""
    AMEND_UNKNOWN = "amend_unknown"
    """No answer (timeout, lost reply): looked up by client id."""
    AMEND_LOOKUP = "amend_lookup"
    """The lookup after an unknown outcome found the stop at another trigger, or gone."""


class IllegalTransition(RuntimeError):
    """A trigger arrived in a state that has no row for it, or a handler moved to a state
    its row does not list (a posguard bug either way)."""


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
    venue: Capabilities
    """What the venue can do and accepts (client-id rules, native trailing's range)."""
    account: str | None = None
    """The account (SymbolInit.account), named in every client id; None makes ids without
    one (as before accounts existed: the machine's unit tests)."""


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
    notices: tuple[Any, ...] = ()
    """Messages for the exchange pool that are not exchange requests (MoveWanted): sent
    after the row is durable, with no deadline (nothing is answered)."""


STABLE = (State.FLAT, State.PROTECTED)


def is_trailing(op: Any) -> bool:
    """True for a native trailing placement (its reply is Trigger.TRAILING_REPLY)."""
    return isinstance(op, PlaceStop) and op.order_type == OrderKind.TRAILING


def native(ctx: Context) -> bool:
    """True when the exchange trails (protection.trailing.mode: native)."""
    return ctx.policy.trailing.mode == "native"


def next_client_id(s: SymbolState, ctx: Context, purpose: Purpose) -> tuple[str, int]:
    """The next deterministic client id and the counter to persist with it."""
    n = s.order_counter + 1
    cid = client_ids.make(ctx.epoch, s.symbol, purpose, n, max_len=ctx.venue.client_id_max_len,
                          account=ctx.account)
    if not ctx.venue.client_id_ok(cid):
        raise ValueError(f"client id {cid!r} is not one the venue accepts")
    return cid, n


def on_tick(price: Decimal, rules: MarketRules | None) -> Decimal:
    """`price` written with exactly the tick's decimals (the exchange pads, e.g. 61491.00)."""
    return price if rules is None else price.quantize(rules.tick_size.normalize())


def start_reconcile(s: SymbolState, kind: str, info: dict[str, Any], *,
                    fresh_stop_attempts: bool = False) -> Step:
    """Fetch the exchange's truth; `fresh_stop_attempts` when the operator (or the sweep)
    releases a quarantine: the stop then gets MAX_STOP_FAILURES new attempts."""
    failures = 0 if fresh_stop_attempts else s.stop_failures
    return Step(s.replace(state=State.RECONCILING, reconcile=ReconcileProgress(),
                          quarantine_reason=None, stop_failures=failures),
                kind, info, refetch=True)


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
                     trail=None, close_order=None, move_wish=None, amending=None,
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


def limit_ms(ctx: Context) -> int:
    """protection.unprotectable_after_minutes in ms."""
    return int(ctx.policy.unprotectable_after_minutes * 60_000)


def attempt_delay_ms(s: SymbolState, ctx: Context, failures: int) -> int:
    """The capped backoff before the next attempt; with `on_unprotectable: close`, never past
    the moment the limit is reached, so the close comes when the policy says."""
    delay = backoff_ms(failures)
    if ctx.policy.on_unprotectable != "close":
        return delay
    since = ctx.now_ms if s.unprotected_since_ms is None else s.unprotected_since_ms
    return max(1, min(delay, since + limit_ms(ctx) - ctx.now_ms))


def quarantine(s: SymbolState, reason: str, info: dict[str, Any]) -> Step:
    """Stop acting on the symbol: the state says why; exchange stops stay where they are.
    If none rests, the stop keeps being placed meanwhile (actors/machine/coverage.py)."""
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


def pending_ids(s: SymbolState) -> set[str]:
    """Client ids of every order of ours in flight (what a lookup or retry may be for)."""
    orders = (s.open_order, s.close_order, s.pending_stop, s.pending_trailing, s.amending)
    return {o.client_id for o in orders if o is not None}


def payload(**kw: Any) -> dict[str, Any]:
    """A journal payload: Decimals as strings, Nones dropped."""
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in kw.items() if v is not None}


def ignored(s: SymbolState, event: Any, ctx: Context) -> None:
    """A row whose event changes nothing in this state (named so the table says so)."""
    return None


def note_event_time(s: SymbolState, event_ms: int) -> SymbolState:
    """`s` with the newest stream event time seen (what `posguard status` shows)."""
    return s.replace(last_event_ms=max(s.last_event_ms, event_ms))


def report_ms(ev: Any) -> int:
    """A position report's venue time: its transaction time (Binance `T`, Bybit's row
    `updatedTime`), else the frame's event time."""
    return ev.tx_ms or ev.event_ms


def note_position(s: SymbolState, ev: Any) -> SymbolState:
    """`s` with a position report applied: its event time seen, and its venue time the
    newest position time (an older report is stale from now on)."""
    return note_event_time(s, ev.event_ms).replace(
        position_ms=max(s.position_ms, report_ms(ev)))


def fetch_again(s: SymbolState) -> Step:
    """Something happened while the reconcile's fetch was in flight: the fetch may predate it,
    so the snapshot is read again once it is back (actors/machine/replies.py `snapshot`)."""
    progress = ReconcileProgress(True, s.reconcile.refetches)
    return Step(s.replace(reconcile=progress), "event_during_reconcile", {}, persist=False)
