"""The order-budget scheduler's traffic between a symbol actor and the exchange pool
(actors/dispatch.py): a stop move the budget cannot take now is not queued, it is wished for.

- pool -> symbol `MoveDeferred`: the move was NOT sent (nothing reached a worker); the
  symbol is on the pool's wanting list. Its old stop still rests, so there is no gap.
- symbol -> pool `MoveWanted`: the symbol's latest urgency (on each mark tick while it
  wants a move; None withdraws the wish, and any grant it holds).
- pool -> symbol `MoveGrant`: budget is free for one move: the symbol places it now, at
  the target of its LATEST trail state (the pool lets that placement through undeferred).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MoveDeferred:
    """A stop move was held back, not sent: the budget binds (or others wait for it)."""

    request_id: str
    """The ExchangeRequest it answers (its deadline is settled by this)."""
    op: Any
    """The PlaceStop or AmendStop that was not sent (its client id names the pending stop to
    forget)."""


@dataclass(frozen=True, slots=True)
class MoveWanted:
    """A symbol wants to move its stop this urgently (None: it no longer does)."""

    symbol: str
    """The symbol (one wish per symbol: the latest wins)."""
    urgency_bps: float | None
    """Profit the resting stop gives back against the ideal one, bps of the mark
    (actors/urgency.py); None withdraws the wish."""


@dataclass(frozen=True, slots=True)
class MoveGrant:
    """The pool has order budget for one move of `symbol`'s stop: place it now."""

    symbol: str
    """The symbol granted."""
