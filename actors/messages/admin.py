"""Operator requests the supervisor answers itself (where is a symbol, restart, shut down)
and `Forward`, the wrapper it hands a command to a symbol actor in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
class Forward:
    """The supervisor hands a command or query to a symbol actor; the answer goes to reply_to."""

    payload: Any
    """OpenPosition, ClosePosition, ReconcileRequest, StateQuery or TimingsQuery."""
    reply_to: Any
    """ActorAddress (the CLI's endpoint) that gets the CommandResult, SymbolView or timings."""
