"""The supervisor's status for the launcher and the CLI: every actor, the streams, the pool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.messages.views import SymbolView
from venue.envelope import Envelope


@dataclass(frozen=True, slots=True)
class StatusQuery(Envelope):
    """Ask the supervisor for every actor it runs."""


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
    account: str = "main"
    """The account this supervisor protects ("?" before its SupervisorInit)."""
    venue: str = ""
    """The account's exchange adapter name (venues/: binanceusdm, bybit); "" before init."""
    pools: tuple[tuple[str, PoolStatus], ...] = ()
    """Several accounts merged (system/account_run.ops_status): each account's pool status,
    named (`pool` is then None); empty: `pool` is the one account's."""
