"""Requester-side deadlines: no exchange request a symbol actor sends waits forever.

Who answers what (issue 13):
- A worker answers the request it ran (ExchangeReply, straight to the requester).
- The pool answers UNKNOWN_OUTCOME for a worker that died or overran its in-worker deadline
  (actors/workers.py), and vouches for a request it still holds, queued or in a call, with a
  RequestHeld every HELD_NOTICE_SECS (only for requests marked `held_notices`).
- The requester (actors/symbol.py) settles a request as UNKNOWN_OUTCOME when it has heard
  nothing about it, neither reply nor RequestHeld, for `silence_secs`. That covers what the
  pool cannot: the request or its reply lost in transit, the pool dead or wedged.

Why a silence deadline and not a fixed one (decided for posguard): a request held by a 429
or 418 pause waits as long as the venue's Retry-After says (a ban lasts minutes to days), and
one queued behind busy workers after a restart waits for hundreds of others. A fixed deadline
short enough to matter would declare those lost while the pool is about to send them; each
lookup that follows would queue behind them too and be declared lost in turn, until the symbol
is quarantined for nothing. The pool knows which requests it holds: it says so, and the
requester's deadline measures only the pool's silence. The in-worker deadline is the pool's.

A reply that arrives for a request already settled (declared lost, or answered once: a dead
worker's last reply racing the pool's UNKNOWN_OUTCOME) is recognised here and not applied.

InFlight is the pure bookkeeping; Deadlines is the actor mixin the symbol actor uses.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum, unique
from typing import Any

from actors.log import ActorLogger
from actors.messages import (
    DeadlineCheck,
    ExchangeFailure,
    ExchangeReply,
    ExchangeRequest,
    FailureKind,
    RequestHeld,
)

log = ActorLogger("posguard.symbol")  # looked up per call: see actors/log.py

DEFAULT_SILENCE_SECS = 10.0
"""Default requester deadline: 3 x the longest gap between the pool's RequestHeld notices
(HELD_NOTICE_SECS plus one pool sweep), with room for a busy pool's message backlog."""
SETTLED_MEMORY = 512
"""Settled request ids remembered to recognise late or second replies (a symbol actor has a
handful of requests in flight; this is minutes of them)."""


@unique
class Settled(Enum):
    """What a reply is, given the requests in flight."""

    FIRST = "first"          # the answer to a request in flight: apply it
    LATE = "late"            # its request was already declared lost: ignore it
    DUPLICATE = "duplicate"  # its request was already answered: ignore it
    UNKNOWN = "unknown"      # not a request we sent (or long forgotten): apply it


@dataclass(frozen=True, slots=True)
class Expired:
    """A request nobody said anything about within the deadline."""

    request_id: str
    """The request."""
    op: Any
    """Its operation (the synthesised reply carries it, so the machine can match it)."""
    silent_secs: float
    """How long it went unanswered."""


@dataclass(slots=True)
class _Pending:
    op: Any
    due: float


class InFlight:
    """The requests one requester has in flight, each with a silence deadline.

    Times are seconds on the caller's monotonic clock.
    """

    def __init__(self, silence_secs: float = DEFAULT_SILENCE_SECS) -> None:
        self.silence_secs = silence_secs
        self._pending: dict[str, _Pending] = {}
        self._settled: collections.OrderedDict[str, bool] = collections.OrderedDict()
        """request id -> True if it was declared lost, False if it was answered."""

    def __len__(self) -> int:
        return len(self._pending)

    def sent(self, request_id: str, op: Any, now: float) -> None:
        """A request went to the pool."""
        self._pending[request_id] = _Pending(op, now + self.silence_secs)

    def heard(self, request_id: str, now: float) -> bool:
        """The pool vouched for the request (RequestHeld): its deadline starts again.
        False if it is no longer in flight."""
        p = self._pending.get(request_id)
        if p is None:
            return False
        p.due = max(p.due, now + self.silence_secs)
        return True

    def settle(self, request_id: str) -> Settled:
        """A reply arrived: should it be applied?"""
        if self._pending.pop(request_id, None) is not None:
            self._remember(request_id, lost=False)
            return Settled.FIRST
        lost = self._settled.get(request_id)
        if lost is None:
            return Settled.UNKNOWN
        return Settled.LATE if lost else Settled.DUPLICATE

    def expire(self, now: float) -> list[Expired]:
        """Remove and return the requests past their deadline (in the order they were sent)."""
        due = [(rid, p) for rid, p in self._pending.items() if p.due <= now]
        for rid, _ in due:
            del self._pending[rid]
            self._remember(rid, lost=True)
        return [Expired(rid, p.op, now - (p.due - self.silence_secs)) for rid, p in due]

    def next_due(self) -> float | None:
        """The earliest deadline (None: nothing in flight)."""
        return min((p.due for p in self._pending.values()), default=None)

    def _remember(self, request_id: str, *, lost: bool) -> None:
        self._settled[request_id] = lost
        while len(self._settled) > SETTLED_MEMORY:
            self._settled.popitem(last=False)


MIN_TIMER_SECS = 0.001


class Deadlines:
    """Mixin for an actor that sends ExchangeRequests (it needs send, wakeupAfter and
    myAddress): every request it sends gets a deadline, the pool's RequestHeld restarts it,
    and a reply is applied at most once. One timer at a time, for the earliest deadline, and
    none while nothing is in flight (a symbol actor must stay light)."""

    # The actor's (annotations only: Thespian's Actor provides them).
    send: Callable[[Any, Any], None]
    wakeupAfter: Callable[..., None]
    myAddress: Any

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.inflight = InFlight()
        """Exchange requests sent and not yet answered, with their deadlines."""
        self.mono: Callable[[], float] = time.monotonic
        self.deadline_timer_at: float | None = None
        """When the earliest pending DeadlineCheck timer fires (timers cannot be cancelled)."""

    def send_request(self, pool: Any, request_id: str, op: Any) -> None:
        """Send one exchange request to the pool; its deadline starts now."""
        self.inflight.sent(request_id, op, self.mono())
        self.send(pool, ExchangeRequest(request_id, op, self.myAddress, held_notices=True))
        self.arm_deadlines()

    def receiveMsg_RequestHeld(self, msg: RequestHeld, sender: Any) -> None:
        """The pool still holds one of our requests (queued or in a call): its deadline
        starts again."""
        self.inflight.heard(msg.request_id, self.mono())
        self.arm_deadlines()

    def first_reply(self, msg: ExchangeReply) -> bool:
        """True if `msg` is to be applied; False (logged) for a reply to a request already
        settled: declared lost (it is being looked up by client id: applying this too would
        act on one request twice), or answered (a dead worker's last reply racing the pool's
        UNKNOWN_OUTCOME for it)."""
        settled = self.inflight.settle(msg.request_id)
        if settled in (Settled.LATE, Settled.DUPLICATE):
            log.info("%s: %s reply to %s %s ignored (%s)", getattr(msg.op, "symbol", "?"),
                     settled.value, type(msg.op).__name__, msg.request_id,
                     msg.failure.message if msg.failure else "ok")
            return False
        return True

    def expired_replies(self) -> list[ExchangeReply]:
        """On the DeadlineCheck timer: an UNKNOWN_OUTCOME reply for each request past its deadline
        (the caller applies them, then calls arm_deadlines)."""
        self.deadline_timer_at = None
        what = f"no reply within {self.inflight.silence_secs:g} s"
        out = []
        for x in self.inflight.expire(self.mono()):
            log.warning("%s: %s to %s %s; outcome unknown", getattr(x.op, "symbol", "?"), what,
                        type(x.op).__name__, getattr(x.op, "client_id", x.request_id))
            out.append(ExchangeReply(x.request_id, x.op, None,
                                     ExchangeFailure(FailureKind.UNKNOWN_OUTCOME, None, what)))
        return out

    def arm_deadlines(self) -> None:
        """A timer for the earliest deadline, unless one pending fires earlier."""
        due = self.inflight.next_due()
        if due is None or (self.deadline_timer_at is not None and self.deadline_timer_at <= due):
            return
        self.deadline_timer_at = due
        self.wakeupAfter(timedelta(seconds=max(due - self.mono(), MIN_TIMER_SECS)),
                         payload=DeadlineCheck())
