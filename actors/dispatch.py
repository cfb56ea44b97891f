"""The exchange pool's queue: which waiting request a free worker takes next, and which
symbol's stop may move when the order budget binds (a scheduler, not a FIFO).

Four lanes, each FIFO, taken in this order (decided for posguard, see README design notes):
1. PROTECT: a placement that protects a position with no stop of its size (a first stop, a
   restore, a resize, a re-send after an unknown outcome: PlaceStop.purpose other than MOVE)
   and reduce-only closes;
2. SUPPORT: cancels and lookups (not orders: they never wait behind placements the budget
   holds back);
3. MOVE: stop moves (the managed trail tightening a stop that rests), placed anew or amended
   in place (AmendStop, purpose MOVE; an amend for any other purpose is PROTECT);
4. OTHER: opens and reads.
Within and across lanes a request the pacer holds (a placement over the order budget, a read
spaced out by weight) does not hold the ones behind it that the pacer lets go. Moves may not
use MOVE_RESERVE of either order window (actors/pacing.py), so protection always finds
budget. Reordering across symbols is safe: a symbol actor never has two dependent requests
queued at once (it sends a move's cancel only after the new stop was accepted).

Moves coalesce per symbol (one in flight, the latest target wins, a stale one never sent):
- a move that cannot go now (the pacer would hold it, the free move budget is promised to
  grants, or other symbols already wait) is NOT queued: it leaves the queue unsent, its
  requester gets MoveDeferred and the symbol joins `wanting` (one wish per symbol);
- the symbol keeps its resting stop (nothing was sent: no gap) and sends its latest urgency
  (MoveWanted) on each mark tick; a wish only ever holds the latest figure;
- when budget is free, the most urgent wishes get a MoveGrant (as many as the budget takes);
  the symbol then places the move at its LATEST target, and the pool lets that placement
  through without deferring it again (a grant unused for GRANT_SECS lapses);
- a move never waits for budget holding a stale price: it goes, or it is deferred (checked
  on every dispatch pass); an ungranted one may wait only for a free worker, a granted one
  also behind protection that came after the grant, with the target of its grant's moment.
Nothing else is ever dropped; a held request goes when the pacer says.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, unique
from typing import Any

from actors.messages import (
    CancelStop,
    ExchangeRequest,
    LookupOrder,
    MoveDeferred,
    MoveGrant,
    MoveWanted,
    PlaceStop,
    StopPurpose,
)
from actors.pacing import Pacer, is_move, is_placing, is_protective

GRANT_SECS = 2.0
"""A grant the symbol has not used (placed, or withdrawn) within this long lapses: its
budget goes to the next wish (the symbol may have died; a live one wishes again)."""
_MOVE_PROBE = PlaceStop("", "SELL", Decimal(0), "", "STOP_MARKET", None, "MARK_PRICE",
                        purpose=StopPurpose.MOVE)
"""A move, for asking the pacer about moves in general (its pauses, reserve and weight)."""


@unique
class Lane(Enum):
    """Where a request queues (taken in this order)."""

    PROTECT = "protect"
    SUPPORT = "support"
    MOVE = "move"
    OTHER = "other"


def lane_of(op: Any) -> Lane:
    """The lane of an exchange operation."""
    if is_move(op):
        return Lane.MOVE
    if isinstance(op, CancelStop | LookupOrder):
        return Lane.SUPPORT
    if is_placing(op) and is_protective(op):
        return Lane.PROTECT
    return Lane.OTHER


@dataclass(frozen=True, slots=True)
class Wish:
    """A symbol that wants its stop moved."""

    address: Any
    """The symbol actor (gets the MoveGrant)."""
    urgency_bps: float
    """Its latest urgency (actors/urgency.py)."""
    seq: int
    """When it first wished (ties go to the longest waiting)."""


class Dispatcher:
    """Four FIFO lanes in front of the Pacer, and the per-symbol wishes for stop moves."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer
        self._lanes: dict[Lane, collections.deque[ExchangeRequest]] = {
            lane: collections.deque() for lane in Lane}
        self.wanting: dict[str, Wish] = {}
        """symbol -> its wish (latest urgency)."""
        self.granted: dict[str, tuple[Any, float]] = {}
        """symbol -> (address, when the grant lapses): granted, placement not yet here."""
        self._granted_ids: set[str] = set()
        """Request ids of queued moves that were granted (never deferred again)."""
        self._seq = itertools.count()
        self._out: list[tuple[Any, Any]] = []

    def __len__(self) -> int:
        return sum(len(q) for q in self._lanes.values())

    def __iter__(self) -> Iterator[ExchangeRequest]:
        """Every queued request (in lane order), without taking any."""
        return itertools.chain(*(tuple(q) for q in self._lanes.values()))

    # ------------------------------------------------------------------ the pool's calls

    def submit(self, req: ExchangeRequest) -> None:
        """Queue a request behind the others of its lane (a move that holds a grant is
        marked: it is never deferred)."""
        if is_move(req.op):
            sym = req.op.symbol
            self.wanting.pop(sym, None)  # it is placing now: no longer a wish
            if self.granted.pop(sym, None) is not None:
                self._granted_ids.add(req.request_id)
        self._lanes[lane_of(req.op)].append(req)

    def want(self, msg: MoveWanted, sender: Any) -> None:
        """A symbol's latest urgency (None: withdrawn, and any grant it holds returned)."""
        if msg.urgency_bps is None:
            self.wanting.pop(msg.symbol, None)
            self.granted.pop(msg.symbol, None)
            return
        if msg.symbol in self.granted:
            return  # granted already: its placement is on the way
        old = self.wanting.get(msg.symbol)
        seq = next(self._seq) if old is None else old.seq
        self.wanting[msg.symbol] = Wish(sender, msg.urgency_bps, seq)

    def take(self, now: float) -> ExchangeRequest | None:
        """The next request that may go now (recorded as sent), or None."""
        self._defer(now)
        waits: dict[tuple[Any, ...], float] = {}
        for queue in self._lanes.values():
            for i, req in enumerate(queue):
                if self._wait(req.op, now, waits) <= 0:
                    del queue[i]
                    self._granted_ids.discard(req.request_id)
                    self.pacer.sent(req.op, now)
                    return req
        return None

    def outgoing(self, now: float | None = None) -> list[tuple[Any, Any]]:
        """(address, message) pairs for the pool to send after each dispatch pass: the
        MoveDeferred answers, and (given `now`) the MoveGrants the free budget allows."""
        if now is not None:
            self._defer(now)
            self._grant(now)
        out, self._out = self._out, []
        return out

    def next_wake_secs(self, now: float) -> float | None:
        """How long until a held request may go, or a wish may be granted, or a grant
        lapses (None: nothing is queued or wished for)."""
        waits: dict[tuple[Any, ...], float] = {}
        times = [self._wait(r.op, now, waits) for r in self]
        if self.wanting:
            wait = self.pacer.wait_secs(_MOVE_PROBE, now)
            times.append(wait if wait > 0 else self._wish_wake(now))
        times.extend(until - now for _, until in self.granted.values())
        times = [t for t in times if t is not None]
        return min(times) if times else None

    def drain(self) -> list[ExchangeRequest]:
        """Take every queued request, sent or not (the pool is shutting down); wishes and
        grants are forgotten (nothing more is granted)."""
        out = list(self)
        for q in self._lanes.values():
            q.clear()
        self.wanting.clear()
        self.granted.clear()
        self._granted_ids.clear()
        return out

    # ------------------------------------------------------------------ moves

    def _defer(self, now: float) -> None:
        """Fresh moves that cannot go now leave the queue unsent and become wishes."""
        moves = self._lanes[Lane.MOVE]
        if not moves:
            return
        kept: collections.deque[ExchangeRequest] = collections.deque()
        for req in moves:
            if req.request_id in self._granted_ids or self._may_move(now):
                kept.append(req)
                continue
            sym = req.op.symbol
            old = self.wanting.get(sym)
            seq = next(self._seq) if old is None else old.seq
            # Urgency unknown until the symbol's MoveWanted (sent with its deferral step).
            self.wanting[sym] = Wish(req.reply_to, 0.0 if old is None else old.urgency_bps,
                                     seq)
            self._out.append((req.reply_to, MoveDeferred(req.request_id, req.op)))
        self._lanes[Lane.MOVE] = kept

    def _may_move(self, now: float) -> bool:
        """A fresh (ungranted) move may go now: no one waits before it, and the move budget
        is not all promised to grants."""
        if self.wanting:
            return False
        return self.pacer.move_room(now, _MOVE_PROBE) > len(self.granted)

    def _free_for_grants(self, now: float) -> int:
        """Moves the budget takes now beyond what is promised or queued to take it first."""
        queued = len(self._lanes[Lane.PROTECT]) + len(self._lanes[Lane.MOVE])
        return self.pacer.move_room(now, _MOVE_PROBE) - len(self.granted) - queued

    def _grant(self, now: float) -> None:
        for sym, (_, until) in list(self.granted.items()):
            if until <= now:
                del self.granted[sym]  # lapsed: its budget goes to the next wish
        free = self._free_for_grants(now)
        while free > 0 and self.wanting:
            sym, wish = max(self.wanting.items(),
                            key=lambda kv: (kv[1].urgency_bps, -kv[1].seq))
            del self.wanting[sym]
            self.granted[sym] = (wish.address, now + GRANT_SECS)
            self._out.append((wish.address, MoveGrant(sym)))
            free -= 1

    def _wish_wake(self, now: float) -> float | None:
        """Budget is free for a move but promised or queued: the earliest grant lapse (None:
        the queued protection's own dispatch wakes the pool)."""
        lapses = [until - now for _, until in self.granted.values()]
        return min(lapses) if lapses else None

    def _wait(self, op: Any, now: float, waits: dict[tuple[Any, ...], float]) -> float:
        # Requests of one gate class wait alike: ask the pacer once per class per pass (the
        # queue can hold hundreds of reads after a restart).
        key = (is_placing(op), is_protective(op), is_move(op), self.pacer.weight_of(op))
        if key not in waits:
            waits[key] = self.pacer.wait_secs(op, now)
        return waits[key]
