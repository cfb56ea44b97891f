"""Queries to a symbol actor and what it answers: its view, its counters, its timings."""

from __future__ import annotations

from dataclasses import dataclass, field

from venue.envelope import Envelope, now_ms


@dataclass(frozen=True, slots=True)
class StateQuery(Envelope):
    """Ask a symbol actor for its SymbolView."""

    symbol: str
    """Exchange symbol."""


@dataclass(frozen=True, slots=True)
class TimingsQuery(Envelope):
    """Ask a symbol actor for its SymbolTimings (stream frame read -> state applied)."""

    symbol: str
    """Exchange symbol."""


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
    inbox_ticks: int = 0
    """Ticks this actor took from its datagram inbox (actors/tick_inbox.py) since it started."""
    inbox_rejected: int = 0
    """Datagrams its inbox read and did not apply (not a tick, or from another user)."""


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
