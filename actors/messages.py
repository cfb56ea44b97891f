"""Every message that crosses an actor boundary: frozen, slotted dataclasses, nothing else.

Prices and quantities are Decimal (exact tick/step arithmetic). Every message carries an id
and two timestamps: `event_ms` (when it happened: the exchange's event time, or when the
command was issued) and `engine_ms` (when posguard created or received it). Messages are
pickled by Thespian: they must stay top-level classes in this importable module.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum, unique
from typing import Any


def new_id() -> str:
    """A fresh message id."""
    return uuid.uuid4().hex


def now_ms() -> int:
    """Engine time in ms (default for `engine_ms`; actors pass their injected clock's)."""
    return time.time_ns() // 1_000_000


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """Open a position at market and protect it (idempotent by command_id)."""

    symbol: str
    """Exchange symbol, e.g. BTCUSDT."""
    side: str
    """'long' or 'short'."""
    qty: Decimal
    """Base-asset quantity (truncated to the step size)."""
    command_id: str
    """Operator-chosen id; a repeated id is reported as a duplicate, never a second order."""
    msg_id: str = field(default_factory=new_id)
    """Message id."""
    event_ms: int = field(default_factory=now_ms)
    """When the command was issued."""
    engine_ms: int = field(default_factory=now_ms)
    """When posguard created this message."""


@dataclass(frozen=True, slots=True)
class ClosePosition:
    """Close the symbol's position at market, then cancel its stops."""

    symbol: str
    """Exchange symbol."""
    command_id: str = field(default_factory=new_id)
    """Id of the command, for the journal's correlation."""
    msg_id: str = field(default_factory=new_id)
    """Message id."""
    event_ms: int = field(default_factory=now_ms)
    """When the command was issued."""
    engine_ms: int = field(default_factory=now_ms)
    """When posguard created this message."""


@dataclass(frozen=True, slots=True)
class ReconcileRequest:
    """Fetch the exchange's truth for the symbol and repair any difference."""

    symbol: str
    """Exchange symbol."""
    reason: str
    """Why (startup, stream reconnect, periodic sweep, operator)."""
    msg_id: str = field(default_factory=new_id)
    """Message id."""
    event_ms: int = field(default_factory=now_ms)
    """When the reconcile was asked for."""
    engine_ms: int = field(default_factory=now_ms)
    """When posguard created this message."""


@dataclass(frozen=True, slots=True)
class StateQuery:
    """Ask a symbol actor for its SymbolView."""

    symbol: str
    """Exchange symbol."""
    msg_id: str = field(default_factory=new_id)
    """Message id."""
    engine_ms: int = field(default_factory=now_ms)
    """When posguard created this message."""


@dataclass(frozen=True, slots=True)
class TimingsQuery:
    """Ask a symbol actor for its SymbolTimings (stream frame read -> state applied)."""

    symbol: str
    """Exchange symbol."""
    msg_id: str = field(default_factory=new_id)
    """Message id."""
    engine_ms: int = field(default_factory=now_ms)
    """When posguard created this message."""


@dataclass(frozen=True, slots=True)
class SymbolTimings:
    """The answer to TimingsQuery: recent routing latencies, one clock (time.monotonic).

    Each sample is (received_mono, latency_ms): when the stream actor read the frame, and how
    long until the symbol actor had applied it (state changed and any step journaled). Only the
    latest samples are kept (a bounded window per series).
    """

    symbol: str
    """Exchange symbol."""
    pid: int
    """Process id of the symbol actor."""
    route: tuple[tuple[float, float], ...]
    """User-stream events (PositionUpdate, OrderUpdate, AlgoUpdate): received -> applied."""
    mark: tuple[tuple[float, float], ...]
    """MarkPrice ticks from the market stream: received -> applied."""
    route_delivery: tuple[float, ...] = ()
    """Per `route` sample (same index): ms from received to the handler starting."""
    mark_delivery: tuple[float, ...] = ()
    """Per `mark` sample (same index): ms from received to the handler starting."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The answer to a command: accepted, duplicate or rejected, with a reason."""

    symbol: str
    """Exchange symbol."""
    command_id: str
    """The command this answers."""
    outcome: str
    """'accepted', 'duplicate' or 'rejected'."""
    detail: str
    """Human-readable reason or summary."""
    seq: int
    """The symbol's journal seq after handling the command."""
    msg_id: str = field(default_factory=new_id)
    """Message id."""
    engine_ms: int = field(default_factory=now_ms)
    """When the answer was made."""


@dataclass(frozen=True, slots=True)
class SymbolView:
    """Everything an operator needs to know about one symbol, as the actor sees it."""

    symbol: str
    """Exchange symbol."""
    state: str
    """State-machine state (FLAT, OPENING, ..., QUARANTINED)."""
    side: str | None
    """'long', 'short' or None when flat."""
    qty: str
    """Position size (base asset), as a decimal string."""
    entry_price: str | None
    """Average entry price."""
    mark_price: str | None
    """Latest mark price seen."""
    stop_price: str | None
    """Trigger price of the resting stop."""
    stop_order_id: str | None
    """Exchange id of the resting stop (algoId)."""
    stop_client_id: str | None
    """Client id of the resting stop (pg-<epoch>-<sym>-<purpose>-<n>)."""
    trailing_active: bool
    """Whether managed trailing has activated."""
    peak_price: str | None
    """Best price since activation."""
    seq: int
    """Latest journal seq for the symbol."""
    last_error: str | None
    """Most recent error, if any."""
    last_event_ms: int
    """Time of the last exchange event applied."""
    pid: int
    """Process id of the actor."""
    engine_ms: int = field(default_factory=now_ms)
    """When the view was taken."""
    trailing_order_id: str | None = None
    """Native mode: exchange id (algoId) of the resting TRAILING_STOP_MARKET."""
    trailing_client_id: str | None = None
    """Native mode: client id of the resting TRAILING_STOP_MARKET."""
    trailing_callback_pct: str | None = None
    """Native mode: its callbackRate (percent)."""
    trailing_activate_price: str | None = None
    """Native mode: its activatePrice (None: it was activated at placement)."""
    unprotected: bool = False
    """A position is open and no stop of ours rests for it (shown as UNPROTECTED)."""
    counters: SymbolCounters | None = None
    """The actor's own counters for the metrics (None from an actor that keeps none)."""
    quarantines: int = 0
    """Times this actor QUARANTINED the symbol since it started (a quarantine that ended
    between two status reads still counts: ops/alerts)."""
    last_quarantine: str | None = None
    """Why it last did (kept once the quarantine ends)."""


@dataclass(frozen=True, slots=True)
class SymbolCounters:
    """A symbol actor's counters for the metrics, from its process's start (actors/tally.py).

    A restarted actor starts again from zero; the launcher keeps the totals (ops/metrics).
    """

    moves: int = 0
    """Managed stop moves accepted (the new stop rests, the old one is being cancelled)."""
    stop_failures: tuple[tuple[str, int], ...] = ()
    """(FailureKind value, count): stop placements (fixed or trailing) that failed."""
    append_le_secs: tuple[float, ...] = ()
    """Upper bounds of the store-append latency histogram's buckets, seconds."""
    append_buckets: tuple[int, ...] = ()
    """Cumulative count of appends at or below each bound (same index)."""
    append_count: int = 0
    """Journal appends made (committed)."""
    append_sum_secs: float = 0.0
    """Their total latency, seconds."""
    unprotected_ms: int = 0
    """Finished stretches with a position open and no stop of ours resting, ms."""
    unprotected_since_ms: int | None = None
    """Start (epoch ms) of the current such stretch (persisted: it survives a restart)."""


# --------------------------------------------------------------------------- stream events


@dataclass(frozen=True, slots=True)
class PositionUpdate:
    """One position from ACCOUNT_UPDATE `a.P[]` (only changed positions are sent)."""

    symbol: str
    """Exchange symbol (`s`)."""
    amount: Decimal
    """Signed position amount (`pa`): > 0 long, < 0 short, 0 flat."""
    entry_price: Decimal
    """Entry price (`ep`)."""
    reason: str
    """Why the account changed (`a.m`: ORDER, FUNDING_FEE, ...)."""
    event_ms: int
    """Exchange event time (`E`)."""
    tx_ms: int
    """Exchange transaction time (`T`)."""
    msg_id: str = field(default_factory=new_id)
    """Message id."""
    engine_ms: int = field(default_factory=now_ms)
    """When posguard received the frame."""
    received_mono: float = 0.0
    """time.monotonic() when posguard read the frame; 0 when not from a stream."""


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """ORDER_TRADE_UPDATE: a plain order (or a stop's child order) changed."""

    symbol: str
    """Exchange symbol (`o.s`)."""
    client_id: str
    """Client order id (`o.c`)."""
    order_id: str
    """Exchange order id (`o.i`)."""
    order_type: str
    """Original order type (`o.ot`)."""
    side: str
    """BUY or SELL (`o.S`)."""
    exec_type: str
    """Execution type (`o.x`): NEW, TRADE, CANCELED, ..."""
    status: str
    """Order status (`o.X`): NEW, PARTIALLY_FILLED, FILLED, ..."""
    last_qty: Decimal
    """Quantity of this fill (`o.l`)."""
    cum_qty: Decimal
    """Cumulative filled quantity (`o.z`)."""
    avg_price: Decimal
    """Average fill price (`o.ap`)."""
    realized_pnl: Decimal
    """Realized profit of this trade (`o.rp`)."""
    reduce_only: bool
    """Reduce-only flag (`o.R`)."""
    close_position: bool
    """closePosition flag (`o.cp`)."""
    event_ms: int
    """Exchange event time (`E`)."""
    tx_ms: int
    """Exchange transaction time (`T`)."""
    msg_id: str = field(default_factory=new_id)
    """Message id."""
    engine_ms: int = field(default_factory=now_ms)
    """When posguard received the frame."""
    received_mono: float = 0.0
    """time.monotonic() when posguard read the frame; 0 when not from a stream."""


@dataclass(frozen=True, slots=True)
class AlgoUpdate:
    """ALGO_UPDATE: a conditional (stop) order changed."""

    symbol: str
    """Exchange symbol (`o.s`)."""
    client_id: str
    """Client algo id (`o.caid`)."""
    algo_id: str
    """Exchange algo id (`o.aid`)."""
    order_type: str
    """STOP_MARKET, TRAILING_STOP_MARKET, ... (`o.o`)."""
    side: str
    """BUY or SELL (`o.S`)."""
    status: str
    """NEW, CANCELED, TRIGGERING, TRIGGERED, FINISHED, REJECTED, EXPIRED (`o.X`)."""
    trigger_price: Decimal
    """Trigger price (`o.tp`)."""
    qty: Decimal
    """Quantity (`o.q`)."""
    close_position: bool
    """closePosition flag (`o.cp`)."""
    reject_reason: str
    """Reject reason (`o.rm`)."""
    event_ms: int
    """Exchange event time (`E`)."""
    msg_id: str = field(default_factory=new_id)
    """Message id."""
    engine_ms: int = field(default_factory=now_ms)
    """When posguard received the frame."""
    received_mono: float = 0.0
    """time.monotonic() when posguard read the frame; 0 when not from a stream."""


@dataclass(frozen=True, slots=True)
class MarkPrice:
    """A mark-price tick (conflated: only the latest per symbol is delivered)."""

    symbol: str
    """Exchange symbol."""
    price: Decimal
    """Mark price."""
    event_ms: int
    """Exchange event time (`E`)."""
    msg_id: str = field(default_factory=new_id)
    """Message id."""
    engine_ms: int = field(default_factory=now_ms)
    """When posguard received the frame."""
    received_mono: float = 0.0
    """time.monotonic() when posguard read the frame; 0 when not from a stream."""


STREAM_EVENTS = (PositionUpdate, OrderUpdate, AlgoUpdate, MarkPrice)


# --------------------------------------------------------------------------- exchange I/O


@unique
class FailureKind(Enum):
    """What to do about a failed exchange call (errors grouped by remedy)."""

    TEMPORARY = "temporary"        # network, 5xx, 429: retry later with backoff
    UNKNOWN_OUTCOME = "unknown"    # timed out: the order may exist; look it up by client id
    WOULD_TRIGGER = "would_trigger"  # -2021: price already past the stop
    REJECTED = "rejected"          # the exchange refused the order: do not retry as is
    NOT_FOUND = "not_found"        # the order is not there (already gone)
    HALT = "halt"                  # authentication, permissions, config: stop trading


@dataclass(frozen=True, slots=True)
class ExchangeFailure:
    """A translated exchange error, carried as data between actors."""

    kind: FailureKind
    """The remedy group."""
    code: int | None
    """Binance error code, if any."""
    message: str
    """The exchange's (or transport's) message."""
    http_status: int | None = None
    """429 (rate limited) or 418 (IP banned) when the exchange refused the call; else None."""
    retry_after_ms: int | None = None
    """The refusal's Retry-After, in ms: the pool sends nothing of that kind before it."""


@dataclass(frozen=True, slots=True)
class RateUsage:
    """What the exchange's last response of one call said about the rate limits."""

    used_weight_1m: int | None
    """X-MBX-USED-WEIGHT-1M: request weight this IP used in the current minute."""
    order_count_10s: int | None
    """X-MBX-ORDER-COUNT-10S: orders the account placed in the 10 s window (orders only)."""
    order_count_1m: int | None
    """X-MBX-ORDER-COUNT-1M: orders the account placed in the minute (orders only)."""
    http_status: int | None = None
    """429 (rate limited) or 418 (IP banned) when the call was refused; else None."""
    code: int | None = None
    """Binance code of the refusal: -1003 request weight, -1015 orders; None if none."""
    retry_after_ms: int | None = None
    """Retry-After of the refusal, in ms (None when the exchange sent none)."""


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Read the exchange's published rate limits (exchangeInfo `rateLimits`)."""

    reason: str = "start"
    """Why (the pool asks once at start, again after a failure)."""


@dataclass(frozen=True, slots=True)
class AccountLimits:
    """The rate limits the exchange publishes (None: it published none of that kind)."""

    orders_per_10s: int | None
    """ORDERS per 10 SECOND."""
    orders_per_min: int | None
    """ORDERS per 1 MINUTE."""
    weight_per_min: int | None
    """REQUEST_WEIGHT per 1 MINUTE."""


@dataclass(frozen=True, slots=True)
class PlaceMarket:
    """Place a MARKET order."""

    symbol: str
    """Exchange symbol."""
    side: str
    """BUY or SELL."""
    qty: Decimal
    """Base quantity."""
    client_id: str
    """Deterministic client order id."""
    reduce_only: bool
    """True for closes: never increases the position."""


@dataclass(frozen=True, slots=True)
class PlaceStop:
    """Place a reduce-only STOP_MARKET or a TRAILING_STOP_MARKET (algo order)."""

    symbol: str
    """Exchange symbol."""
    side: str
    """BUY or SELL (the closing side)."""
    qty: Decimal
    """Base quantity: the full position."""
    client_id: str
    """Deterministic client algo id."""
    order_type: str
    """STOP_MARKET or TRAILING_STOP_MARKET."""
    trigger_price: Decimal | None
    """Stop trigger price (STOP_MARKET)."""
    working_type: str
    """MARK_PRICE or CONTRACT_PRICE."""
    callback_rate_pct: Decimal | None = None
    """TRAILING_STOP_MARKET callback rate, percent."""
    activate_price: Decimal | None = None
    """TRAILING_STOP_MARKET activation price."""


@dataclass(frozen=True, slots=True)
class CancelStop:
    """Cancel an algo (stop) order."""

    symbol: str
    """Exchange symbol."""
    algo_id: str | None
    """Exchange algo id, if known."""
    client_id: str
    """Client algo id (used when the algo id is unknown)."""


@dataclass(frozen=True, slots=True)
class LookupOrder:
    """Find an order by client id after an unknown outcome."""

    symbol: str
    """Exchange symbol."""
    client_id: str
    """Client order id to look for."""
    algo: bool
    """True: an algo (stop) order; False: a plain order."""


@dataclass(frozen=True, slots=True)
class FetchSymbol:
    """Fetch the symbol's position, open orders and open algo orders (reconcile)."""

    symbol: str
    """Exchange symbol."""
    explain: tuple[StopRef, ...] = ()
    """Our stops that could have closed the position: if it is flat, read their history."""


@dataclass(frozen=True, slots=True)
class StopRef:
    """One of our stops, named for a history lookup."""

    client_id: str
    """Client algo id (deterministic, always known)."""
    algo_id: str | None
    """Exchange algo id, if it was accepted."""
    order_type: str
    """STOP_MARKET or TRAILING_STOP_MARKET."""


@dataclass(frozen=True, slots=True)
class StopOutcome:
    """What the exchange's history says about one of our stops (GET algoOrder + userTrades)."""

    client_id: str
    """Client algo id."""
    algo_id: str | None
    """Exchange algo id."""
    order_type: str
    """STOP_MARKET or TRAILING_STOP_MARKET."""
    found: bool
    """False: the exchange does not know it (never placed, or purged from its history)."""
    status: str | None = None
    """algoStatus: NEW, CANCELED, TRIGGERED, FINISHED, EXPIRED, ..."""
    child_order_id: str | None = None
    """actualOrderId: the market order the stop became when it triggered."""
    fill_qty: Decimal = Decimal(0)
    """Quantity the child order filled (sum of its trades)."""
    fill_price: Decimal | None = None
    """Average fill price of those trades (None: no trade found)."""
    realized_pnl: Decimal | None = None
    """Sum of the trades' realizedPnl (None: not reported)."""
    commission: Decimal | None = None
    """Sum of the trades' commission."""
    commission_asset: str | None = None
    """The commission's asset."""
    fill_time_ms: int | None = None
    """The exchange's time of the last trade."""
    trades: int = 0
    """How many trades."""
    error: str | None = None
    """Why the history could not be read (the lookup failed after its retries)."""


@dataclass(frozen=True, slots=True)
class ExchangeRequest:
    """An exchange call for a worker: one operation, replied to `reply_to`."""

    request_id: str
    """Id the reply carries back."""
    op: (PlaceMarket | PlaceStop | CancelStop | LookupOrder | FetchSymbol | FetchPositions
         | FetchAccount | FetchLimits)
    """The operation."""
    reply_to: Any
    """ActorAddress that gets the ExchangeReply."""
    engine_ms: int = field(default_factory=now_ms)
    """When the request was made."""
    held_notices: bool = False
    """True: the requester keeps a deadline for it (actors/deadlines.py) and wants a
    RequestHeld from the pool every few seconds while the pool still holds it."""


@dataclass(frozen=True, slots=True)
class RequestHeld:
    """The pool still holds a request (queued, or in a worker's call): the requester's
    deadline for it starts again."""

    request_id: str
    """The request."""
    queued: bool
    """True while it waits in the pool's queue (a 429/418 pause, the order budget, busy
    workers); False while a worker runs it."""
    held_secs: float
    """How long the pool has held it so far."""


@dataclass(frozen=True, slots=True)
class OrderInfo:
    """An order as the exchange reports it (plain or algo)."""

    order_id: str
    """Exchange id (orderId or algoId)."""
    client_id: str
    """Client id."""
    symbol: str
    """Exchange symbol."""
    order_type: str
    """MARKET, STOP_MARKET, TRAILING_STOP_MARKET, ..."""
    side: str
    """BUY or SELL."""
    status: str
    """Exchange status (NEW, FILLED, CANCELED, ...)."""
    qty: Decimal
    """Order quantity."""
    filled_qty: Decimal
    """Filled quantity."""
    avg_price: Decimal | None
    """Average fill price."""
    trigger_price: Decimal | None
    """Stop trigger price, if any."""
    reduce_only: bool
    """Reduce-only flag."""
    close_position: bool
    """closePosition flag."""
    algo: bool
    """True for algo (conditional) orders."""
    callback_rate_pct: Decimal | None = None
    """TRAILING_STOP_MARKET callbackRate, percent (None otherwise)."""
    activate_price: Decimal | None = None
    """TRAILING_STOP_MARKET activatePrice (None when it had none, or otherwise)."""


@dataclass(frozen=True, slots=True)
class SymbolSnapshot:
    """The exchange's truth for one symbol, from REST."""

    symbol: str
    """Exchange symbol."""
    amount: Decimal
    """Signed position amount (0 = flat)."""
    entry_price: Decimal
    """Entry price (0 when flat)."""
    mark_price: Decimal | None
    """Mark price, if reported."""
    open_orders: tuple[OrderInfo, ...]
    """Open plain orders."""
    open_algo_orders: tuple[OrderInfo, ...]
    """Open algo (stop) orders."""
    fetched_ms: int
    """When the snapshot was taken."""
    rules: MarketRulesInfo | None = None
    """The symbol's trading rules (from the cached market list)."""
    stop_history: tuple[StopOutcome, ...] = ()
    """Flat while FetchSymbol.explain named stops: what the history says about each."""


@dataclass(frozen=True, slots=True)
class ExchangeReply:
    """The outcome of an ExchangeRequest: a result or a failure, never both."""

    request_id: str
    """The request this answers."""
    op: (PlaceMarket | PlaceStop | CancelStop | LookupOrder | FetchSymbol | FetchPositions
         | FetchAccount | FetchLimits)
    """The operation that was attempted."""
    result: (OrderInfo | SymbolSnapshot | tuple[PositionInfo, ...] | AccountSnapshot
             | AccountLimits | None)
    """The result (LookupOrder: None when not found)."""
    failure: ExchangeFailure | None
    """The failure, if the call failed."""
    engine_ms: int = field(default_factory=now_ms)
    """When the worker finished the call."""


@dataclass(frozen=True, slots=True)
class MarketRulesInfo:
    """A symbol's trading rules, from the exchange's market list."""

    symbol: str
    """Exchange symbol."""
    tick_size: Decimal
    """Price increment."""
    step_size: Decimal
    """Quantity increment."""
    min_qty: Decimal
    """Smallest quantity."""


# --------------------------------------------------------------------------- wiring


@dataclass(frozen=True, slots=True)
class ExchangeSettings:
    """How an exchange worker reaches the exchange (no secrets: keys come from env names)."""

    base_url: str | None
    """REST base replacing the venue's own (the simulator, or exchange.rest_url); None:
    the venue's hosts as ccxt knows them."""
    venue: str
    """live | demo | testnet (Binance's venues) | simulator (paper mode)."""
    paper_key: str
    """The simulator's API key (paper mode only)."""
    paper_secret: str
    """The simulator's API secret (paper mode only)."""
    api_key_env: str
    """Env variable holding the live API key."""
    api_secret_env: str
    """Env variable holding the live API secret."""
    timeout_ms: int
    """REST timeout per request."""


@dataclass(frozen=True, slots=True)
class PoolInit:
    """Start the exchange pool: N workers and the account-wide order budgets."""

    settings: ExchangeSettings
    """How workers reach the exchange."""
    workers: int
    """Worker processes (each holds one ccxt client)."""
    orders_per_10s: int
    """Account-wide order budget per 10 s."""
    orders_per_min: int
    """Account-wide order budget per minute."""
    deadline_secs: float = 0.0
    """Longest a worker may run one request before it is answered UNKNOWN_OUTCOME and the
    worker replaced; 0: derived from settings.timeout_ms (actors/workers.py)."""


@dataclass(frozen=True, slots=True)
class WorkerInit:
    """Configure one exchange worker."""

    settings: ExchangeSettings
    """How to reach the exchange."""


@dataclass(frozen=True, slots=True)
class WorkerIdle:
    """A worker finished its request and can take another."""

    request_id: str
    """The request it finished."""
    usage: RateUsage | None = None
    """The exchange's rate-limit counters from the call's last response (None: no reply)."""
    markets: int | None = None
    """After the warm-up: how many markets the worker's client loaded (None: none, or not a
    warm-up)."""


@dataclass(frozen=True, slots=True)
class PoolStatus:
    """The exchange pool's budget against the venue's counters (pushed to the supervisor on
    change, at most once a second; actors/pacing.py)."""

    orders_limit_10s: int
    """Order budget in force per 10 s (config, lowered to what the exchange publishes)."""
    orders_limit_1m: int
    """Order budget in force per minute."""
    orders_used_10s: int
    """Orders the pool counts in the last 10 s: its own plus others the server reported."""
    orders_used_1m: int
    """The same for the last minute."""
    orders_sent_10s: int
    """Orders this pool sent in the last 10 s."""
    orders_sent_1m: int
    """Orders this pool sent in the last minute."""
    server_orders_10s: int | None
    """The last X-MBX-ORDER-COUNT-10S reading (None: none within its window)."""
    server_orders_1m: int | None
    """The last X-MBX-ORDER-COUNT-1M reading (None: none within its window)."""
    server_weight_1m: int | None
    """The last X-MBX-USED-WEIGHT-1M reading (None: none within a minute)."""
    weight_used_1m: int | None
    """Request weight of the minute as the pool estimates it (the reading plus what it sent)."""
    weight_limit_1m: int
    """Request weight allowed per minute."""
    queued: int
    """Requests waiting in the pool (paced or no idle worker)."""
    paused_secs: float
    """Longest pause left from a 429 / 418 (0: none)."""
    pid: int
    """The pool's process id."""


@dataclass(frozen=True, slots=True)
class SymbolInit:
    """Start a symbol actor: recover from the store, then reconcile with the exchange."""

    symbol: str
    """Exchange symbol."""
    epoch: int
    """Fencing epoch of this instance."""
    store_target: Any
    """Resolved store settings (system.config.StoreTarget)."""
    pool: Any
    """ActorAddress of the exchange pool."""
    policy: Any
    """actors.protection.ProtectionPolicy for this symbol."""
    reason: str = "startup"
    """Why the actor was started (startup, restart, event, command)."""
    request_deadline_secs: float = 10.0
    """An exchange request the pool has said nothing about for this long (no reply, no
    RequestHeld) is settled as UNKNOWN_OUTCOME (actors/deadlines.py)."""
    view_refresh_secs: float = 0.0
    """Also push the view this long after a change the table does not need (mark, stop,
    counters: for the metrics); 0: only when state, side, size or cover change."""


@dataclass(frozen=True, slots=True)
class Ready:
    """A symbol actor finished loading its snapshot (reconcile follows)."""

    symbol: str
    """Exchange symbol."""
    seq: int
    """Journal seq it loaded."""
    state: str
    """State after loading."""
    pid: int
    """Its process id."""


@dataclass(frozen=True, slots=True)
class Retry:
    """Wakeup payload: resend `op` (stale ones are ignored by the state machine)."""

    op: Any
    """The exchange operation to resend."""


# --------------------------------------------------------------------------- account sweep


@dataclass(frozen=True, slots=True)
class FetchPositions:
    """Fetch every non-flat position on the account (the periodic reconciler)."""

    reason: str = "sweep"
    """Why the sweep runs."""


@dataclass(frozen=True, slots=True)
class PositionInfo:
    """One non-flat position on the account."""

    symbol: str
    """Exchange symbol."""
    amount: Decimal
    """Signed position amount."""
    entry_price: Decimal
    """Entry price."""


@dataclass(frozen=True, slots=True)
class FetchAccount:
    """The sweep with its stop check: every non-flat position and every open algo order of
    the account (GET positionRisk and one GET openAlgoOrders without a symbol: weight 5+40)."""

    reason: str = "sweep"
    """Why the sweep runs."""


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """The answer to FetchAccount."""

    positions: tuple[PositionInfo, ...]
    """Every non-flat position."""
    algo_orders: tuple[OrderInfo, ...]
    """Every open algo (conditional) order of the account, any symbol, anyone's."""
    fetched_ms: int
    """Engine time just before the first read: nothing that changed later is in it."""


@dataclass(frozen=True, slots=True)
class StopCheck:
    """The sweep's stop check for one symbol: what the exchange showed at `fetched_ms`. The
    symbol actor compares it with its own state and reconciles if a stop of ours is missing,
    extra or the wrong size (actors/coverage.py)."""

    symbol: str
    """Exchange symbol."""
    amount: Decimal
    """Signed position amount on the exchange (0: flat)."""
    stops: tuple[OrderInfo, ...]
    """Open algo orders of ours (posguard client ids) for the symbol."""
    fetched_ms: int
    """When the exchange was read (AccountSnapshot.fetched_ms)."""
    msg_id: str = field(default_factory=new_id)
    """Message id."""
    engine_ms: int = field(default_factory=now_ms)
    """When posguard created this message."""


# --------------------------------------------------------------------------- supervisor wiring


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """How a stream actor reaches the exchange's WebSockets (no secrets on the wire)."""

    rest_url: str
    """REST base for the listenKey calls (simulator URL, or https://fapi.binance.com)."""
    ws_url: str
    """The venue's one stream base (ws://simulator, or wss://fstream.binance.com); every
    stream path is built on it by system/venues.py."""
    paper_key: str | None
    """The simulator's API key (paper mode); None in live mode."""
    api_key_env: str
    """Env variable holding the live API key (live mode)."""
    keepalive_secs: float
    """listenKey keepalive interval."""
    silence_secs: float
    """A stream silent (no frame, no pong) this long is treated as broken."""
    backoff_min_ms: int
    """First reconnect delay."""
    backoff_max_ms: int
    """Largest reconnect delay."""
    max_age_secs: float = 23.5 * 3600
    """Reconnect before the exchange's 24 h connection limit."""
    timeout_secs: float = 5.0
    """Connect / REST timeout."""


@dataclass(frozen=True, slots=True)
class SupervisorInit:
    """Everything the supervisor needs to build and run its children."""

    epoch: int
    """Fencing epoch of this instance."""
    store_target: Any
    """Resolved store settings (system.config.StoreTarget)."""
    pool: PoolInit
    """Exchange pool settings."""
    protection: Any
    """system.config.ProtectionConfig (policy per symbol)."""
    supervisor: Any
    """system.config.SupervisorConfig (restart intensity, backoff, passivation)."""
    streams: StreamSettings | None
    """User/market stream settings; None runs without streams (tests of the supervisor)."""
    reconcile_interval_secs: float
    """Periodic account sweep interval (0 disables it)."""
    launcher_pid: int
    """The `posguard run` process (shown by `actors`)."""
    mode: str = "paper"
    """paper or live (shown by `status`)."""
    restarts: tuple[tuple[str, str | None, int], ...] = ()
    """(kind, symbol, restarts) the previous supervisor had counted (the launcher carries
    them), so `status` and `actors` counters survive the supervisor's re-creation."""
    stop_check_min_interval_secs: float = 10.0
    """Least time between two sweeps that also read every open algo order (weight 40)."""
    view_refresh_secs: float = 0.0
    """SymbolInit.view_refresh_secs for every symbol actor (metrics.refresh_secs, 0: off)."""


@dataclass(frozen=True, slots=True)
class ChildFailing:
    """A child tells its parent why it is about to exit (shown as last_exit_reason)."""

    symbol: str | None
    """The symbol of a symbol actor, None for other children."""
    reason: str
    """Why it exits."""


@dataclass(frozen=True, slots=True)
class ParentCheck:
    """Timer payload: exit if the parent process is gone (Thespian leaves orphans)."""

    ppid: int
    """The parent pid seen at start."""


@dataclass(frozen=True, slots=True)
class Timer:
    """Timer payload of the supervisor and the stream actors (stale generations ignored)."""

    kind: str
    """What the timer is for."""
    gen: int = 0
    """Generation: a timer whose generation is not current is ignored."""
    symbol: str | None = None
    """Symbol it concerns, if any."""


# --------------------------------------------------------------------------- admin (CLI)


@dataclass(frozen=True, slots=True)
class Where:
    """Ask the supervisor for a symbol's actor address (create=True: create it if needed)."""

    symbol: str
    """Exchange symbol."""
    create: bool
    """Create (and recover) the actor if it does not exist."""


@dataclass(frozen=True, slots=True)
class Located:
    """The answer to Where."""

    symbol: str
    """Exchange symbol."""
    address: Any
    """ActorAddress of the symbol actor, None if there is none (see detail)."""
    detail: str
    """running, created, quarantined: <why>, not running, shutting down."""


@dataclass(frozen=True, slots=True)
class StatusQuery:
    """Ask the supervisor for every actor it runs."""

    msg_id: str = field(default_factory=new_id)
    """Message id."""


@dataclass(frozen=True, slots=True)
class ActorEntry:
    """One actor as the supervisor sees it (`posguard actors`)."""

    kind: str
    """symbol, user_stream, market_stream, exchange_pool, exchange_worker."""
    symbol: str | None
    """The symbol of a symbol actor."""
    pid: int | None
    """Process id (None while starting or when not running)."""
    state: str
    """Symbol state (FLAT, PROTECTED, ..., QUARANTINED) or running/starting/passivated."""
    restarts: int
    """Restarts by the supervisor since the system started."""
    last_exit_reason: str | None
    """Why it last exited."""
    address: Any = None
    """ActorAddress (None when not running)."""
    view: SymbolView | None = None
    """The symbol actor's latest pushed view (symbol actors only)."""
    poison_messages: int = 0
    """PoisonMessages this actor produced (a handler raised twice)."""


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """A stream actor's health (pushed to the supervisor on every change)."""

    kind: str
    """user or market."""
    state: str
    """connecting, connected, reconnecting, stopped."""
    frames: int
    """Frames received since start."""
    bad_frames: int
    """Malformed frames (logged, counted, skipped)."""
    reconnects: int
    """Reconnects since start."""
    last_frame_ms: int
    """When the last frame (or pong) arrived."""
    last_error: str | None
    """Why the last connection ended."""
    subscriptions: int = 0
    """Market stream: symbols subscribed."""
    pid: int = 0
    """The stream actor's process id."""
    event_lag_ms: int | None = None
    """The last event's lag: read by posguard minus the exchange's event time (E), ms."""


@dataclass(frozen=True, slots=True)
class SupervisorStatus:
    """The answer to StatusQuery."""

    initialized: bool
    """False for a supervisor nobody has initialised (e.g. just re-created)."""
    stopping: bool
    """True once a shutdown was requested: commands are refused."""
    actors: tuple[ActorEntry, ...]
    """Every actor the supervisor runs or remembers (quarantined, passivated)."""
    streams: tuple[StreamStatus, ...]
    """User and market stream health."""
    poison_messages: int
    """PoisonMessages received (a handler raised twice)."""
    pid: int
    """The supervisor's pid."""
    epoch: int
    """Fencing epoch."""
    mode: str = "paper"
    """paper or live."""
    exchange_url: str | None = None
    """The simulator's URL in paper mode, None for Binance."""
    markets: int | None = None
    """Markets in the venue's list once an exchange worker has loaded it (None: not yet)."""
    recovering: tuple[str, ...] | None = None
    """The symbols the store listed as live when this supervisor started, each recovered by
    its actor (None: the store has not been read yet)."""
    pool: PoolStatus | None = None
    """The exchange pool's latest budget status (None until it sent one)."""


@dataclass(frozen=True, slots=True)
class RestartSymbol:
    """Operator: stop one symbol actor; the supervisor recreates it from its snapshot."""

    symbol: str
    """Exchange symbol."""


@dataclass(frozen=True, slots=True)
class RestartDone:
    """The answer to RestartSymbol (sent once the new actor has loaded its snapshot)."""

    symbol: str
    """Exchange symbol."""
    ok: bool
    """False when there was nothing to restart or the restart failed."""
    detail: str
    """What happened."""
    pid: int | None = None
    """The new actor's pid."""
    seq: int | None = None
    """The journal seq the new actor restored from its snapshot."""


@dataclass(frozen=True, slots=True)
class ShutdownRequest:
    """Operator or launcher: stop accepting commands; the launcher shuts the system down."""

    reason: str
    """Who asked."""


@dataclass(frozen=True, slots=True)
class ShutdownAccepted:
    """The answer to ShutdownRequest."""

    busy_symbols: tuple[str, ...]
    """Symbols with a request in flight (the launcher waits for them, bounded)."""


@dataclass(frozen=True, slots=True)
class StreamConnected:
    """The user stream (re)connected: events may have been missed, every symbol reconciles."""

    kind: str
    """user or market."""
    connection: int
    """1 for the first connection, then one more per reconnect."""


@dataclass(frozen=True, slots=True)
class Subscriptions:
    """The market stream's routing: exactly these symbols, ticks to these addresses."""

    routes: tuple[tuple[str, Any], ...]
    """(symbol, ActorAddress) for every symbol that has a running actor."""


@dataclass(frozen=True, slots=True)
class Started:
    """A child reports its process id to its parent (for `actors` and orphan cleanup)."""

    kind: str
    """exchange_pool, exchange_worker, user_stream, market_stream."""
    pid: int
    """Its process id."""


@dataclass(frozen=True, slots=True)
class MarketsLoaded:
    """The pool tells the supervisor that a worker loaded the venue's market list."""

    count: int
    """How many markets it holds."""


@dataclass(frozen=True, slots=True)
class WorkerGone:
    """The pool tells the supervisor that one of its workers is dead (its pid is dropped)."""

    pid: int
    """The dead worker's process id (as its Started reported it)."""
    reason: str
    """Why the pool considers it dead (exit notice, missed deadline, ...)."""


@dataclass(frozen=True, slots=True)
class Forward:
    """The supervisor hands a command or query to a symbol actor; the answer goes to reply_to."""

    payload: Any
    """OpenPosition, ClosePosition, ReconcileRequest, StateQuery or TimingsQuery."""
    reply_to: Any
    """ActorAddress (the CLI's endpoint) that gets the CommandResult, SymbolView or timings."""
