"""Init messages: everything a supervisor, pool, worker, symbol or stream actor is started
with (no secrets: keys come from env names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from venue.interface import Capabilities, Venue


@dataclass(frozen=True, slots=True)
class ExchangeSettings:
    """How an exchange worker reaches the exchange (no secrets: keys come from env names)."""

    base_url: str | None
    """REST base replacing the venue's own (the simulator, or exchange.rest_url); None:
    the venue's hosts as ccxt knows them."""
    environment: str
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
    venue: Venue = field(kw_only=True)
    """The exchange's adapter (venues/): builds the worker's gateway, counts its limits."""
    max_in_flight: int = field(default=64, kw_only=True)
    """Requests one worker has in flight at once (exchange.max_in_flight)."""


@dataclass(frozen=True, slots=True)
class PoolInit:
    """Start the exchange pool: N workers and the account-wide order budgets."""

    settings: ExchangeSettings
    """How workers reach the exchange."""
    workers: int
    """Worker processes (each holds one asynchronous ccxt client, up to
    settings.max_in_flight requests in flight)."""
    orders_per_10s: int
    """Account-wide order budget per 10 s."""
    orders_per_min: int
    """Account-wide order budget per minute."""
    deadline_secs: float = 0.0
    """Longest a worker may hold one request before the pool answers it UNKNOWN_OUTCOME and
    ends the worker (its loop hangs: its own in-worker deadline did not answer); 0: derived
    from settings.timeout_ms (actors/workers.py: pool_deadline_secs)."""


@dataclass(frozen=True, slots=True)
class WorkerInit:
    """Configure one exchange worker."""

    settings: ExchangeSettings
    """How to reach the exchange."""
    deadline_secs: float = 0.0
    """Longest one call may run in the worker before it is cancelled and answered
    UNKNOWN_OUTCOME; 0: derived from settings.timeout_ms (actors/workers.py)."""


@dataclass(frozen=True, slots=True)
class SymbolInit:
    """Start a symbol actor: recover from the store, then reconcile with the exchange."""

    symbol: str
    """Exchange symbol."""
    epoch: int
    """Fencing epoch of this instance."""
    store: Any
    """Opens the store: store(epoch, clock) -> persistence.store.Store (picklable:
    persistence.factory.StoreFactory)."""
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
    clock: Any = field(kw_only=True)
    """Wall and monotonic time (actors.clock.Clock), the one the launcher runs on."""
    venue: Capabilities = field(kw_only=True)
    """What the venue can do and accepts (its adapter's capabilities)."""
    account: str = field(default="main", kw_only=True)
    """The account this symbol's position is on (config `exchanges[].account`): the symbol
    actor is keyed by (account, symbol); its client ids name the account
    (actors/client_ids.py make(..., account=))."""


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """How a stream actor reaches the exchange's WebSockets (no secrets on the wire)."""

    rest_url: str
    """REST base for the listenKey calls (simulator URL, or https://fapi.binance.com)."""
    ws_url: str
    """The venue's one stream base (ws://simulator, or wss://fstream.binance.com); every
    stream path is built on it by the venue's adapter."""
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
    venue: Venue = field(kw_only=True)
    """The exchange's adapter (venues/): stream URLs, frame parsing, the session key."""
    market_shards: int = field(default=1, kw_only=True)
    """Market-stream actors (actors/market_shards.py), each its own connection."""
    paper_secret: str | None = field(default=None, kw_only=True)
    """The simulator's API secret (paper mode), for a venue whose private socket signs its
    own authentication (Venue.user_stream_greeting); None in live mode."""
    api_secret_env: str = field(default="", kw_only=True)
    """Env variable holding the live API secret (read inside the user-stream actor only,
    for Venue.user_stream_greeting; Binance's listenKey needs none)."""
    account: str = field(default="", kw_only=True)
    """The account these streams serve, named in every log line ("" before accounts)."""


@dataclass(frozen=True, slots=True)
class SupervisorInit:
    """Everything the supervisor needs to build and run its children."""

    epoch: int
    """Fencing epoch of this instance."""
    store: Any
    """Opens the store: store(epoch, clock) -> persistence.store.Store (picklable:
    persistence.factory.StoreFactory); handed on in every SymbolInit."""
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
    clock: Any = field(kw_only=True)
    """Wall and monotonic time (actors.clock.Clock), handed on in every SymbolInit."""
    account: str = field(default="main", kw_only=True)
    """The account this supervisor protects (one supervisor per account, globalName
    `posguard:<account>`); handed on in every SymbolInit and named in its status."""
