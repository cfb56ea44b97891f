"""What parents and children tell each other while running: started, ready, failing, gone,
connected, which symbols to route."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Started:
    """A child reports its process id to its parent (for `actors` and orphan cleanup)."""

    kind: str
    """exchange_pool, exchange_worker, user_stream, market_stream."""
    pid: int
    """Its process id."""


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
    tick_inbox: str | None = None
    """The name of its tick socket (actors/tick_inbox.py); None: ticks by message only."""


@dataclass(frozen=True, slots=True)
class ChildFailing:
    """A child tells its parent why it is about to exit (shown as last_exit_reason)."""

    symbol: str | None
    """The symbol of a symbol actor, None for other children."""
    reason: str
    """Why it exits."""


@dataclass(frozen=True, slots=True)
class WorkerGone:
    """The pool tells the supervisor that one of its workers is dead (its pid is dropped)."""

    pid: int
    """The dead worker's process id (as its Started reported it)."""
    reason: str
    """Why the pool considers it dead (exit notice, missed deadline, ...)."""


@dataclass(frozen=True, slots=True)
class MarketsLoaded:
    """The pool tells the supervisor that a worker loaded the venue's market list."""

    count: int
    """How many markets it holds."""


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
    inboxes: tuple[tuple[str, str], ...] = ()
    """(symbol, tick socket name) for those whose actor has one (market shards only)."""
