"""Every message that crosses an actor boundary: frozen, slotted dataclasses, nothing else.

Split by concern; `from actors.messages import X` works for every one of them:
- venue.envelope: `Envelope`, the base of every message with an id and an engine time
  (`msg_id`, `engine_ms`, keyword-only); commands add `event_ms` (`Command`), stream events
  `received_mono` (`StreamEvent`);
- venue.events / requests / replies / errors: what an exchange adapter produces or consumes
  (stream events, exchange operations, their results, failures by remedy);
- commands: commands to a symbol actor and their answer;
- views: queries to a symbol actor and its view, counters and timings;
- exchange: the exchange pool's requests, replies and notices;
- settings: the init messages every actor is started with;
- wiring: what parents and children tell each other;
- status: the supervisor's status of every actor;
- admin: operator requests the supervisor answers, and `Forward`;
- timers: timer payloads, one type per timer.

Prices and quantities are Decimal (exact tick/step arithmetic). Messages are pickled by
Thespian: they must stay top-level classes of importable modules (pickle names a class by
its module, so both ends run the same code).
"""

from __future__ import annotations

from actors.messages.admin import (
    Forward,
    Located,
    RestartDone,
    RestartSymbol,
    ShutdownAccepted,
    ShutdownRequest,
    Where,
)
from actors.messages.commands import (
    ClosePosition,
    Command,
    CommandResult,
    OpenPosition,
    ReconcileRequest,
    StopCheck,
)
from actors.messages.exchange import (
    ExchangeReply,
    ExchangeRequest,
    RequestHeld,
    WorkerDone,
    WorkerDrain,
    WorkerIdle,
)
from actors.messages.schedule import (
    MoveDeferred,
    MoveGrant,
    MoveWanted,
)
from actors.messages.settings import (
    ExchangeSettings,
    PoolInit,
    StreamSettings,
    SupervisorInit,
    SymbolInit,
    WorkerInit,
)
from actors.messages.status import (
    ActorEntry,
    PoolStatus,
    StatusQuery,
    StreamStatus,
    SupervisorStatus,
)
from actors.messages.timers import (
    SUPERVISOR_TIMERS,
    AccountSweep,
    DeadlineCheck,
    ExitNow,
    HealthCheck,
    Housekeeping,
    Keepalive,
    LimitsRetry,
    ParentCheck,
    PoolSweep,
    Reconnect,
    Recover,
    Respawn,
    Retry,
    SyncDue,
    ViewRefresh,
)
from actors.messages.views import (
    StateQuery,
    SymbolCounters,
    SymbolTimings,
    SymbolView,
    TimingsQuery,
)
from actors.messages.wiring import (
    ChildFailing,
    MarketsLoaded,
    Ready,
    Started,
    StreamConnected,
    Subscriptions,
    WorkerGone,
)
from venue.envelope import (
    Envelope,
    new_id,
    now_ms,
)
from venue.errors import (
    ExchangeFailure,
    FailureKind,
    RateUsage,
)
from venue.events import (
    STREAM_EVENTS,
    AlgoUpdate,
    MarkPrice,
    OrderUpdate,
    PositionUpdate,
    StreamEvent,
)
from venue.replies import (
    AccountLimits,
    AccountSnapshot,
    MarketRulesInfo,
    OrderInfo,
    PositionInfo,
    StopOutcome,
    SymbolSnapshot,
)
from venue.requests import (
    AmendStop,
    CancelStop,
    FetchAccount,
    FetchLimits,
    FetchPositions,
    FetchSymbol,
    LookupOrder,
    PlaceMarket,
    PlaceStop,
    StopPurpose,
    StopRef,
)

__all__ = [
    "AccountLimits",
    "AmendStop",
    "AccountSnapshot",
    "AccountSweep",
    "ActorEntry",
    "AlgoUpdate",
    "CancelStop",
    "ChildFailing",
    "ClosePosition",
    "Command",
    "CommandResult",
    "DeadlineCheck",
    "Envelope",
    "ExchangeFailure",
    "ExchangeReply",
    "ExchangeRequest",
    "ExchangeSettings",
    "ExitNow",
    "FailureKind",
    "FetchAccount",
    "FetchLimits",
    "FetchPositions",
    "FetchSymbol",
    "Forward",
    "HealthCheck",
    "Housekeeping",
    "Keepalive",
    "LimitsRetry",
    "Located",
    "LookupOrder",
    "MarkPrice",
    "MarketRulesInfo",
    "MarketsLoaded",
    "MoveDeferred",
    "MoveGrant",
    "MoveWanted",
    "OpenPosition",
    "OrderInfo",
    "OrderUpdate",
    "ParentCheck",
    "PlaceMarket",
    "PlaceStop",
    "PoolInit",
    "PoolStatus",
    "PoolSweep",
    "PositionInfo",
    "PositionUpdate",
    "RateUsage",
    "Ready",
    "ReconcileRequest",
    "Reconnect",
    "Recover",
    "RequestHeld",
    "Respawn",
    "RestartDone",
    "RestartSymbol",
    "Retry",
    "SyncDue",
    "STREAM_EVENTS",
    "SUPERVISOR_TIMERS",
    "ShutdownAccepted",
    "ShutdownRequest",
    "Started",
    "StateQuery",
    "StatusQuery",
    "StopCheck",
    "StopOutcome",
    "StopPurpose",
    "StopRef",
    "StreamConnected",
    "StreamEvent",
    "StreamSettings",
    "StreamStatus",
    "Subscriptions",
    "SupervisorInit",
    "SupervisorStatus",
    "SymbolCounters",
    "SymbolInit",
    "SymbolSnapshot",
    "SymbolTimings",
    "SymbolView",
    "TimingsQuery",
    "ViewRefresh",
    "Where",
    "WorkerGone",
    "WorkerDone",
    "WorkerDrain",
    "WorkerIdle",
    "WorkerInit",
    "new_id",
    "now_ms",
]
