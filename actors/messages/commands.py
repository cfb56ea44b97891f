"""Commands to a symbol actor (operator, sweep, supervisor) and the answer to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from venue.envelope import Envelope, new_id, now_ms
from venue.replies import OrderInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class Command(Envelope):
    """What every command to a symbol actor carries besides the envelope."""

    event_ms: int = field(default_factory=now_ms)
    """When the command was issued."""


@dataclass(frozen=True, slots=True)
class OpenPosition(Command):
    """Open a position at market and protect it (idempotent by command_id)."""

    symbol: str
    """Exchange symbol, e.g. BTCUSDT."""
    side: str
    """'long' or 'short'."""
    qty: Decimal
    """Base-asset quantity (truncated to the step size)."""
    command_id: str
    """Operator-chosen id; a repeated id is reported as a duplicate, never a second order."""


@dataclass(frozen=True, slots=True)
class ClosePosition(Command):
    """Close the symbol's position at market, then cancel its stops."""

    symbol: str
    """Exchange symbol."""
    command_id: str = field(default_factory=new_id)
    """Id of the command, for the journal's correlation."""


@dataclass(frozen=True, slots=True)
class ReconcileRequest(Command):
    """Fetch the exchange's truth for the symbol and repair any difference."""

    symbol: str
    """Exchange symbol."""
    reason: str
    """Why (startup, stream reconnect, periodic sweep, operator)."""


@dataclass(frozen=True, slots=True)
class StopCheck(Envelope):
    """The sweep's stop check for one symbol: what the exchange showed at `fetched_ms`. The
    symbol actor compares it with its own state and reconciles if a stop of ours is missing,
    extra or the wrong size (actors/machine/coverage.py)."""

    symbol: str
    """Exchange symbol."""
    amount: Decimal
    """Signed position amount on the exchange (0: flat)."""
    stops: tuple[OrderInfo, ...]
    """Open algo orders of ours (posguard client ids) for the symbol."""
    fetched_ms: int
    """When the exchange was read (AccountSnapshot.fetched_ms)."""


@dataclass(frozen=True, slots=True)
class CommandResult(Envelope):
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
