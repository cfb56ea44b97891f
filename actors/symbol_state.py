"""The symbol actor's state: one frozen value, persisted whole as the snapshot.

Decimals are stored as strings (msgpack has no decimal type and floats would round prices).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum, unique
from typing import Any

from actors.protection import Side, TrailState

SCHEMA = 1
MAX_COMMAND_IDS = 200


@unique
class State(Enum):
    """States of the symbol state machine (pending states name the request in flight)."""

    FLAT = "FLAT"                          # no position, nothing in flight
    OPENING = "OPENING"                    # entry market order in flight
    OPEN_UNPROTECTED = "OPEN_UNPROTECTED"  # position known, its stop placement in flight
    PROTECTED = "PROTECTED"                # position with one resting stop
    MOVING_STOP = "MOVING_STOP"            # protected; a replacement stop in flight (old one rests)
    #                                        or an amend of the resting stop (it rests throughout)
    CLOSING = "CLOSING"                    # close market order in flight
    RECONCILING = "RECONCILING"            # fetching the exchange's truth
    QUARANTINED = "QUARANTINED"            # operator must decide; exchange stops left in place


@dataclass(frozen=True, slots=True)
class StopOrder:
    """A stop posguard placed (or is placing)."""

    client_id: str
    """Deterministic client algo id."""
    algo_id: str | None
    """Exchange algo id once accepted."""
    trigger_price: Decimal | None
    """Trigger price (None for native trailing without one)."""
    qty: Decimal
    """Quantity it closes."""
    order_type: str
    """STOP_MARKET or TRAILING_STOP_MARKET."""
    callback_rate_pct: Decimal | None = None
    """TRAILING_STOP_MARKET: callbackRate in percent (None for STOP_MARKET)."""
    activate_price: Decimal | None = None
    """TRAILING_STOP_MARKET: activatePrice (None: activated at placement, or STOP_MARKET)."""


@dataclass(frozen=True, slots=True)
class StopAmend:
    """An amend in flight of the resting stop (venue Capabilities.amend_in_place): the stop
    keeps its client and exchange ids and rests at its old trigger until the amend is known
    to have landed, so `SymbolState.stop` stays the old one meanwhile (MOVING_STOP)."""

    client_id: str
    """The resting stop's client id (an amend does not change it)."""
    trigger_price: Decimal
    """The trigger asked for."""
    qty: Decimal
    """The quantity asked for (the stop's own when the amend keeps the size)."""
    looking_up: bool = False
    """The amend's outcome was unknown: a LookupOrder of `client_id` settles it."""


@dataclass(frozen=True, slots=True)
class PendingOrder:
    """A market order in flight (open or close)."""

    client_id: str
    """Deterministic client order id."""
    command_id: str
    """The command that asked for it."""
    side: str
    """BUY or SELL."""
    qty: Decimal
    """Quantity."""


@dataclass(frozen=True, slots=True)
class ReconcileProgress:
    """How far the reconcile under way is (meaningful in RECONCILING only).

    A stream event or reply that arrives while the fetch is in flight may postdate what the
    fetch reads, so the snapshot is fetched again after it, a bounded number of times.
    """

    dirty: bool = False
    """Something happened after the fetch in flight was sent."""
    refetches: int = 0
    """Fetches sent again so far in this reconcile."""


@dataclass(frozen=True, slots=True)
class MoveWish:
    """PROTECTED, and a stop move the exchange pool deferred (the order budget binds): the
    old stop rests (nothing was sent), and the symbol tells the pool its urgency on each mark
    tick until the pool grants a move (actors/dispatch.py, actors/machine/moves.py)."""

    since_ms: int
    """When the move was first deferred (engine ms)."""


@dataclass(frozen=True, slots=True)
class SymbolState:
    """Everything a symbol actor knows; the snapshot is exactly this."""

    symbol: str
    state: State = State.FLAT
    side: Side | None = None
    qty: Decimal = Decimal(0)
    entry_price: Decimal | None = None
    mark_price: Decimal | None = None
    stop: StopOrder | None = None
    pending_stop: StopOrder | None = None
    cancelling: tuple[StopOrder, ...] = ()
    trailing: StopOrder | None = None          # native mode: the resting TRAILING_STOP_MARKET
    pending_trailing: StopOrder | None = None  # native mode: a trailing placement in flight
    trail: TrailState | None = None
    open_order: PendingOrder | None = None
    close_order: PendingOrder | None = None
    order_counter: int = 0
    command_ids: tuple[str, ...] = ()
    realized_pnl: Decimal = Decimal(0)
    stop_failures: int = 0
    last_error: str | None = None
    last_event_ms: int = 0
    # the venue's time of the newest position report applied (stream `T`/`updatedTime`, else
    # its event time; the REST read's update time): an older report is stale and ignored
    position_ms: int = 0
    quarantine_reason: str | None = None
    adopted: bool = False
    # consecutive failures of each retried operation, keyed "lookup:<cid>", "cancel:<cid>", ...
    op_failures: dict[str, int] = field(default_factory=dict)
    reconcile: ReconcileProgress = ReconcileProgress()
    # QUARANTINED because the stop could not be placed (and none rests): the quarantine ends
    # by itself once a stop is accepted, since its reason is then no longer true
    release_on_stop: bool = False
    # since when the position has had no resting stop (None: it has one, or no position);
    # kept by symbol_machine.handle for every transition (actors/machine/coverage.py)
    unprotected_since_ms: int | None = None
    # ALERTs logged for that stretch: 1 at the quarantine, 2 past unprotectable_after_minutes
    unprotected_alerts: int = 0
    # when the position or any order of ours last changed: the sweep's stop check ignores an
    # exchange read older than this (it cannot show what changed after it)
    orders_changed_ms: int = 0
    # a move deferred by the pool, wished for until granted (None: none). Persisted with the
    # rest, but a restart needs none of it: the pool forgets wishes, and the next tick in
    # PROTECTED wishes again (or places, if the budget has room).
    move_wish: MoveWish | None = None
    # an amend of the resting stop in flight (None: none); only in MOVING_STOP, never beside
    # a pending_stop (actors/machine/amend.py)
    amending: StopAmend | None = None

    def replace(self, **changes: Any) -> SymbolState:
        """A copy with `changes` applied."""
        return dataclasses.replace(self, **changes)

    @property
    def has_position(self) -> bool:
        """True when a non-zero position is known."""
        return self.side is not None and self.qty > 0

    @property
    def unprotected(self) -> bool:
        """True when a position is known and no stop of ours rests for it (fixed or native
        trailing): what `posguard status` shows as UNPROTECTED."""
        return self.has_position and self.stop is None and self.trailing is None

    @property
    def live(self) -> bool:
        """True while anything is open or in flight (the store lists these at start)."""
        return (self.state is not State.FLAT or self.has_position or bool(self.cancelling)
                or self.pending_stop is not None or self.pending_trailing is not None)

    def remember_command(self, command_id: str) -> tuple[str, ...]:
        """The command-id list with `command_id` added (bounded, oldest dropped)."""
        return (self.command_ids + (command_id,))[-MAX_COMMAND_IDS:]


# --------------------------------------------------------------------------- codec


def to_dict(s: SymbolState) -> dict[str, Any]:
    """SymbolState -> plain data for msgpack."""
    return {
        "v": SCHEMA, "symbol": s.symbol, "state": s.state.value,
        "side": s.side.value if s.side else None, "qty": str(s.qty),
        "entry_price": _s(s.entry_price), "mark_price": _s(s.mark_price),
        "stop": _stop_out(s.stop), "pending_stop": _stop_out(s.pending_stop),
        "cancelling": [_stop_out(c) for c in s.cancelling],
        "trailing": _stop_out(s.trailing), "pending_trailing": _stop_out(s.pending_trailing),
        "trail": None if s.trail is None else {
            "active": s.trail.active, "peak": _s(s.trail.peak),
            "stop_price": str(s.trail.stop_price), "last_move_ms": s.trail.last_move_ms,
            "moves": s.trail.moves},
        "open_order": _pending_out(s.open_order), "close_order": _pending_out(s.close_order),
        "order_counter": s.order_counter, "command_ids": list(s.command_ids),
        "realized_pnl": str(s.realized_pnl), "stop_failures": s.stop_failures,
        "last_error": s.last_error, "last_event_ms": s.last_event_ms,
        "position_ms": s.position_ms,
        "quarantine_reason": s.quarantine_reason, "adopted": s.adopted,
        "op_failures": dict(s.op_failures),
        "reconcile": {"dirty": s.reconcile.dirty, "refetches": s.reconcile.refetches},
        "release_on_stop": s.release_on_stop,
        "unprotected_since_ms": s.unprotected_since_ms,
        "unprotected_alerts": s.unprotected_alerts, "orders_changed_ms": s.orders_changed_ms,
        "move_wish": None if s.move_wish is None else {"since_ms": s.move_wish.since_ms},
        "amending": _amend_out(s.amending),
    }


def from_dict(d: dict[str, Any]) -> SymbolState:
    """Plain data (a stored snapshot) -> SymbolState; unknown schema versions are refused.

    Keys added after schema 1 shipped (native trailing, op_failures, the unprotected and
    orders-changed times, the amend in flight) are optional, so older snapshots load with
    their defaults. Before
    the sub-states were typed they sat in an `extra` dict ("dirty", "refetches",
    "release_on_stop"); a snapshot of that form reads back to the same meaning.
    """
    if d.get("v") != SCHEMA:
        raise ValueError(f"symbol snapshot schema {d.get('v')!r} is not supported "
                         f"(this posguard reads schema {SCHEMA})")
    t = d.get("trail")
    return SymbolState(
        symbol=d["symbol"], state=State(d["state"]),
        side=Side(d["side"]) if d.get("side") else None, qty=Decimal(d["qty"]),
        entry_price=_dec(d.get("entry_price")), mark_price=_dec(d.get("mark_price")),
        stop=_stop_in(d.get("stop")), pending_stop=_stop_in(d.get("pending_stop")),
        cancelling=tuple(x for x in (_stop_in(c) for c in d.get("cancelling", [])) if x),
        trailing=_stop_in(d.get("trailing")),
        pending_trailing=_stop_in(d.get("pending_trailing")),
        trail=None if t is None else TrailState(
            active=t["active"], peak=_dec(t.get("peak")), stop_price=Decimal(t["stop_price"]),
            last_move_ms=t["last_move_ms"], moves=t["moves"]),
        open_order=_pending_in(d.get("open_order")),
        close_order=_pending_in(d.get("close_order")),
        order_counter=d["order_counter"], command_ids=tuple(d.get("command_ids", ())),
        realized_pnl=Decimal(d.get("realized_pnl", "0")),
        stop_failures=d.get("stop_failures", 0), last_error=d.get("last_error"),
        last_event_ms=d.get("last_event_ms", 0),
        position_ms=d.get("position_ms", 0), quarantine_reason=d.get("quarantine_reason"),
        adopted=d.get("adopted", False), op_failures=dict(d.get("op_failures") or {}),
        reconcile=_progress_in(d), release_on_stop=_release_in(d),
        unprotected_since_ms=d.get("unprotected_since_ms"),
        unprotected_alerts=d.get("unprotected_alerts", 0),
        orders_changed_ms=d.get("orders_changed_ms", 0),
        move_wish=_wish_in(d.get("move_wish")), amending=_amend_in(d.get("amending")))


def _amend_out(a: StopAmend | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {"client_id": a.client_id, "trigger_price": str(a.trigger_price), "qty": str(a.qty),
            "looking_up": a.looking_up}


def _amend_in(d: dict[str, Any] | None) -> StopAmend | None:
    if d is None:
        return None
    return StopAmend(d["client_id"], Decimal(d["trigger_price"]), Decimal(d["qty"]),
                     bool(d.get("looking_up", False)))


def _wish_in(d: dict[str, Any] | None) -> MoveWish | None:
    return None if d is None else MoveWish(int(d["since_ms"]))


def _progress_in(d: dict[str, Any]) -> ReconcileProgress:
    r = d.get("reconcile") or d.get("extra") or {}
    return ReconcileProgress(bool(r.get("dirty", False)), int(r.get("refetches", 0)))


def _release_in(d: dict[str, Any]) -> bool:
    if "release_on_stop" in d:
        return bool(d["release_on_stop"])
    return bool((d.get("extra") or {}).get("release_on_stop", False))


def _s(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


def _dec(v: str | None) -> Decimal | None:
    return None if v is None else Decimal(v)


def _stop_out(o: StopOrder | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {"client_id": o.client_id, "algo_id": o.algo_id,
            "trigger_price": _s(o.trigger_price), "qty": str(o.qty), "order_type": o.order_type,
            "callback_rate_pct": _s(o.callback_rate_pct), "activate_price": _s(o.activate_price)}


def _stop_in(d: dict[str, Any] | None) -> StopOrder | None:
    if d is None:
        return None
    return StopOrder(d["client_id"], d.get("algo_id"), _dec(d.get("trigger_price")),
                     Decimal(d["qty"]), d["order_type"], _dec(d.get("callback_rate_pct")),
                     _dec(d.get("activate_price")))


def _pending_out(o: PendingOrder | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {"client_id": o.client_id, "command_id": o.command_id, "side": o.side,
            "qty": str(o.qty)}


def _pending_in(d: dict[str, Any] | None) -> PendingOrder | None:
    if d is None:
        return None
    return PendingOrder(d["client_id"], d["command_id"], d["side"], Decimal(d["qty"]))
