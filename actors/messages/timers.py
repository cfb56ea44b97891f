"""Timer payloads: what an actor hands `wakeupAfter` and gets back in its WakeupMessage.

One type per timer, so a handler tells them apart with isinstance and a stale one by its
fields (a generation, a symbol), never by a string. Thespian cannot cancel a timer: a stale
one still arrives, and its handler ignores it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# --------------------------------------------------------------------------- every actor


@dataclass(frozen=True, slots=True)
class ParentCheck:
    """Exit if the parent process is gone (Thespian leaves orphans); re-armed each time."""

    ppid: int
    """The parent pid seen at start."""


@dataclass(frozen=True, slots=True)
class ExitNow:
    """A dying actor's last timer: end the process with `code` (actors/lifecycle.py)."""

    code: int
    """The process exit code."""


# --------------------------------------------------------------------------- symbol actor


@dataclass(frozen=True, slots=True)
class Retry:
    """Resend `op` (stale ones are ignored by the state machine)."""

    op: Any
    """The exchange operation to resend."""


@dataclass(frozen=True, slots=True)
class ViewRefresh:
    """Push the view if anything it shows changed since the last push (actors/view_push.py)."""


@dataclass(frozen=True, slots=True)
class DeadlineCheck:
    """Settle every request past its deadline as UNKNOWN_OUTCOME (actors/deadlines.py)."""


# --------------------------------------------------------------------------- exchange pool


@dataclass(frozen=True, slots=True)
class LimitsRetry:
    """Read the exchange's published rate limits again (the last read failed)."""


@dataclass(frozen=True, slots=True)
class PoolSweep:
    """Check the workers' processes and deadlines, vouch for held requests; re-armed."""


# --------------------------------------------------------------------------- stream actors


@dataclass(frozen=True, slots=True)
class Reconnect:
    """Connect again after the backoff (ignored if another connection came meanwhile)."""

    gen: int
    """The connection generation it was armed for: a stale one is ignored."""


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """Is the stream silent, or too old for the exchange's 24 h limit? Re-armed."""


@dataclass(frozen=True, slots=True)
class Keepalive:
    """User stream: keep the listenKey alive (a failed keepalive reconnects); re-armed."""


# --------------------------------------------------------------------------- supervisor


@dataclass(frozen=True, slots=True)
class Respawn:
    """Recreate a child after its restart backoff (ignored if it was respawned meanwhile)."""

    gen: int
    """The child's generation when it exited: a stale one is ignored."""
    symbol: str | None = None
    """The symbol of a symbol actor (its route), None for other children."""


@dataclass(frozen=True, slots=True)
class Housekeeping:
    """Passivate idle symbol actors, refresh the market stream's subscriptions; re-armed."""


@dataclass(frozen=True, slots=True)
class AccountSweep:
    """Ask the pool for the periodic account sweep; re-armed at the reconcile interval."""


@dataclass(frozen=True, slots=True)
class Recover:
    """List the store's live symbols again and recover each (the last read failed)."""


SUPERVISOR_TIMERS = (Respawn, Housekeeping, AccountSweep, Recover)
"""The supervisor's own timers (it ignores any other payload)."""


# --------------------------------------------------------------------------- market stream


@dataclass(frozen=True, slots=True)
class SyncDue:
    """The control-frame budget has room again: subscribe what is still missing."""
