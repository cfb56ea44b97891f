"""SymbolActor: the one serial owner of a symbol's position and stop.

The shell around the pure state machine (actors/symbol_machine.py): it loads the snapshot,
persists every transition BEFORE sending the exchange requests that depend on it, sends those
requests to the exchange pool (never blocking on the network), and answers admin queries.
Every request it sends has a deadline (actors/deadlines.py): one the pool has said nothing
about for `request_deadline_secs` is fed to the state machine as UNKNOWN_OUTCOME, which looks
the order up by its client id; a reply that comes after that is not applied.
A store failure ends the process at once (incident I-3): nothing runs on unpersisted state;
the supervisor restarts it from the last durable snapshot and it reconciles with the exchange.
"""

from __future__ import annotations

import os
import random
import time
from collections import deque
from datetime import timedelta
from typing import Any

from thespian.actors import ActorExitRequest, WakeupMessage

from actors import tally
from actors.deadlines import Deadlines, InFlight, Settled
from actors.lifecycle import Lifecycle
from actors.log import ActorLogger
from actors.machine.trailing import claim
from actors.messages import (
    AlgoUpdate,
    CancelStop,
    ClosePosition,
    CommandResult,
    DeadlineCheck,
    ExchangeReply,
    FetchSymbol,
    Forward,
    LookupOrder,
    MarkPrice,
    MoveDeferred,
    MoveGrant,
    OpenPosition,
    OrderUpdate,
    ParentCheck,
    PlaceMarket,
    PlaceStop,
    PositionUpdate,
    Ready,
    ReconcileRequest,
    Retry,
    StateQuery,
    StopCheck,
    SymbolInit,
    SymbolSnapshot,
    SymbolTimings,
    TimingsQuery,
    ViewRefresh,
    new_id,
)
from actors.protection import MarketRules
from actors.symbol_machine import (
    STABLE,
    Context,
    Step,
    Trigger,
    allowed,
    fetch_op,
    handle,
    is_trailing,
)
from actors.symbol_state import ReconcileProgress, State, SymbolState, from_dict, to_dict
from actors.symbol_ticks import TickIntake
from actors.view_push import ViewPush
from venue.requests import AmendStop

log = ActorLogger("posguard.symbol")  # looked up per call: see actors/log.py

_REPLY_TRIGGERS = {PlaceMarket: Trigger.MARKET_REPLY, PlaceStop: Trigger.STOP_REPLY,
                   CancelStop: Trigger.CANCEL_REPLY, LookupOrder: Trigger.LOOKUP_REPLY,
                   FetchSymbol: Trigger.SNAPSHOT, AmendStop: Trigger.AMEND_REPLY}
STORE_FAILURE_EXIT = 75
TIMING_SAMPLES = 4096
"""Routing-latency samples kept per series (the latest win): ~70 min of 1 s mark ticks."""


class SymbolActor(TickIntake, ViewPush, Deadlines, Lifecycle):
    """Owns one symbol; handles every message for it strictly one at a time."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.init: SymbolInit | None = None
        self.store: Any = None
        self.s: SymbolState | None = None
        self.seq = 0
        self.rules: MarketRules | None = None
        self.fetch_id: str | None = None
        self.deferred: list[tuple[Any, Any]] = []
        self.pre_init: list[tuple[Trigger, Any]] = []
        self.route_samples: deque[tuple[float, float, float]] = deque(maxlen=TIMING_SAMPLES)
        """User-stream events: (received_mono, latency_ms, delivery_ms)."""
        self.mark_samples: deque[tuple[float, float, float]] = deque(maxlen=TIMING_SAMPLES)
        """Mark ticks: (received_mono, latency_ms, delivery_ms)."""
        self.counters = tally.fresh()
        """Moves, stop failures, append latency, unprotected time (actors/tally.py)."""
        self.quarantines = 0
        """QUARANTINED steps since start (SymbolView.quarantines, for ops/alerts)."""
        self.last_quarantine: str | None = None
        """The last one's reason."""

    # ------------------------------------------------------------------ lifecycle

    def receiveMsg_SymbolInit(self, msg: SymbolInit, sender: Any) -> None:
        """Load the snapshot, answer Ready, then reconcile with the exchange."""
        if self.init is not None:
            return  # a repeated init (e.g. a retried create) changes nothing
        self.init = msg
        self.inflight = InFlight(msg.request_deadline_secs)
        self.watch_parent(sender)
        from persistence.store import StoreError
        try:
            self.store = msg.store(msg.epoch, msg.clock)
            loaded = self.store.load(msg.symbol)
        except StoreError as e:
            self._die(f"store unavailable at start: {e}")
            return
        self.s = from_dict(loaded.state) if loaded.state else SymbolState(msg.symbol)
        self.seq = loaded.seq
        self.send(sender, Ready(msg.symbol, self.seq, self.s.state.value, os.getpid(),
                                self.open_inbox()))
        recovering = Step(self.s.replace(state=State.RECONCILING, reconcile=ReconcileProgress()),
                          "recovery_started", {"reason": msg.reason, "was": self.s.state.value},
                          refetch=True)
        self._commit(recovering, correlation_id=new_id(), event_ms=msg.clock.now_ms())
        for trigger, event in self.pre_init:
            started = time.monotonic()  # delivery then includes the wait for the init
            self._apply(trigger, event)
            self._timed(event, started)
        self.pre_init.clear()

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender: Any) -> None:
        """Close the store connection and the tick inbox; exchange stops stay where they are."""
        self.close_inbox()
        if self.store is not None:
            self.store.close()

    def actor_label(self) -> str:
        """The symbol, in log lines."""
        return self.init.symbol if self.init else "?"

    def failing_symbol(self) -> str | None:
        """The symbol its ChildFailing names."""
        return self.init.symbol if self.init else None

    def _die(self, reason: str) -> None:
        """Fail fast: never continue with state that is not durable (I-3)."""
        self.die(f"{reason}; exiting so the supervisor restarts it from the snapshot",
                 self.init.symbol if self.init else None, STORE_FAILURE_EXIT)

    # ------------------------------------------------------------------ commands

    def receiveMsg_OpenPosition(self, msg: OpenPosition, sender: Any) -> None:
        """Open at market (duplicates by command id are refused)."""
        self._command(Trigger.OPEN, msg, sender)

    def receiveMsg_ClosePosition(self, msg: ClosePosition, sender: Any) -> None:
        """Close at market, then cancel the stops."""
        self._command(Trigger.CLOSE, msg, sender)

    def receiveMsg_ReconcileRequest(self, msg: ReconcileRequest, sender: Any) -> None:
        """Fetch the exchange's truth and repair differences."""
        self._command(Trigger.RECONCILE, msg, sender)

    def receiveMsg_Forward(self, msg: Forward, sender: Any) -> None:
        """A command or query relayed by the supervisor; the answer goes to reply_to."""
        inner = msg.payload
        if isinstance(inner, StateQuery):
            self.send(msg.reply_to, self.view())
            return
        if isinstance(inner, TimingsQuery):
            self.send(msg.reply_to, self.timings(inner.symbol))
            return
        trigger = {OpenPosition: Trigger.OPEN, ClosePosition: Trigger.CLOSE,
                   ReconcileRequest: Trigger.RECONCILE}.get(type(inner))
        if trigger is None:
            log.warning("%s: cannot forward %s", inner, type(inner).__name__)
            return
        self._command(trigger, inner, msg.reply_to)

    def _command(self, trigger: Trigger, msg: Any, sender: Any) -> None:
        if self.dying is not None:
            return
        if self.s is None:
            self.deferred.append((msg, sender))
            return
        command_id = getattr(msg, "command_id", None)
        if command_id is not None and command_id in self.s.command_ids:
            self._answer(sender, msg, "duplicate", f"command {command_id} was already handled")
            return
        if allowed(self.s.state, trigger):
            step = self._apply(trigger, msg)
            if step is not None and step.outcome is not None and command_id is not None:
                self._answer(sender, msg, *step.outcome)
            elif trigger is Trigger.RECONCILE and command_id is None:
                self._answer(sender, msg, "accepted", "reconciling")
        elif self.s.state in STABLE or self.s.state is State.QUARANTINED:
            why = {Trigger.OPEN: "a position is already open",
                   Trigger.CLOSE: "there is no open position"}.get(trigger, "not allowed")
            self._answer(sender, msg, "rejected", f"{why} (state {self.s.state.name})")
        else:
            self.deferred.append((msg, sender))  # served once the request in flight settles

    def _answer(self, sender: Any, msg: Any, outcome: str, detail: str) -> None:
        if sender is None:
            return
        cid = str(getattr(msg, "command_id", None) or getattr(msg, "msg_id", ""))
        self.send(sender, CommandResult(msg.symbol, cid, outcome, detail, self.seq))

    def _serve_deferred(self) -> None:
        while self.deferred and self.s is not None and self.dying is None and (
                self.s.state in STABLE or self.s.state is State.QUARANTINED):
            msg, sender = self.deferred.pop(0)
            trigger = {OpenPosition: Trigger.OPEN, ClosePosition: Trigger.CLOSE,
                       ReconcileRequest: Trigger.RECONCILE}[type(msg)]
            self._command(trigger, msg, sender)

    # ------------------------------------------------------------------ events

    def receiveMsg_PositionUpdate(self, msg: PositionUpdate, sender: Any) -> None:
        """ACCOUNT_UPDATE position for this symbol."""
        self._event(Trigger.POSITION, msg)

    def receiveMsg_OrderUpdate(self, msg: OrderUpdate, sender: Any) -> None:
        """ORDER_TRADE_UPDATE for this symbol."""
        self._event(Trigger.ORDER, msg)

    def receiveMsg_AlgoUpdate(self, msg: AlgoUpdate, sender: Any) -> None:
        """ALGO_UPDATE for this symbol."""
        self._event(Trigger.ALGO, msg)

    def receiveMsg_MarkPrice(self, msg: MarkPrice, sender: Any) -> None:
        """Mark-price tick by message (latest wins upstream; the inbox: actors/symbol_ticks.py)."""
        self.take_tick(msg)

    def on_tick(self, tick: MarkPrice) -> None:
        """A tick newer than the last one applied (TickIntake.take_tick)."""
        self._event(Trigger.MARK, tick)

    def receiveMsg_StopCheck(self, msg: StopCheck, sender: Any) -> None:
        """The periodic sweep's read of our stops on the exchange (actors/machine/coverage.py)."""
        self._event(Trigger.STOP_CHECK, msg)

    def receiveMsg_ExchangeReply(self, msg: ExchangeReply, sender: Any) -> None:
        """A worker's (or the pool's) answer to one of our requests: applied once."""
        if self.first_reply(msg):
            self._reply(msg)

    def _reply(self, msg: ExchangeReply) -> None:
        trigger = Trigger.TRAILING_REPLY if is_trailing(msg.op) else _REPLY_TRIGGERS[type(msg.op)]
        if trigger is Trigger.SNAPSHOT:
            if msg.request_id != self.fetch_id or self.s is None \
                    or self.s.state is not State.RECONCILING:
                return  # an older fetch, superseded by a newer one
            if msg.failure is None and isinstance(msg.result, SymbolSnapshot) \
                    and msg.result.rules:
                r = msg.result.rules
                self.rules = MarketRules(r.tick_size, r.step_size, r.min_qty)
        self._event(trigger, msg)

    def receiveMsg_MoveDeferred(self, msg: MoveDeferred, sender: Any) -> None:
        """The pool did not send our stop move (the order budget binds): it answers the
        request (its deadline is settled) and we wish for the move instead."""
        if self.inflight.settle(msg.request_id) in (Settled.LATE, Settled.DUPLICATE):
            return  # declared lost already: its lookup settles it
        self._event(Trigger.MOVE_DEFERRED, msg)

    def receiveMsg_MoveGrant(self, msg: MoveGrant, sender: Any) -> None:
        """The pool has budget for the move we wished for."""
        self._event(Trigger.MOVE_GRANT, msg)

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> None:
        """A retry timer, the request deadlines' timer, or the parent check."""
        if isinstance(msg.payload, ParentCheck):
            self.check_parent(msg.payload)
        elif isinstance(msg.payload, Retry):
            self._event(Trigger.RETRY, msg.payload.op)
        elif isinstance(msg.payload, ViewRefresh):
            self._refresh_due()
        elif isinstance(msg.payload, DeadlineCheck):
            # The outcome is unknown (the order may exist): the state machine looks each one
            # up by its client id, or retries a read.
            for reply in self.expired_replies():
                if self.dying is None and self.s is not None:
                    self._reply(reply)
            self.arm_deadlines()

    def _event(self, trigger: Trigger, msg: Any) -> None:
        if self.s is None:
            self.pre_init.append((trigger, msg))  # never dropped (I-5): applied after init
            return
        arrived = time.monotonic()
        self._apply(trigger, msg)
        self._timed(msg, arrived)

    def _timed(self, msg: Any, arrived: float) -> None:
        """Record a stream event's routing latency: frame read -> applied (and journaled).

        `arrived` (the handler started) splits it into delivery (stream actor, supervisor,
        transport, queueing) and apply (state machine, journal commit, requests sent).
        """
        received = getattr(msg, "received_mono", 0.0)
        if received <= 0 or self.dying is not None:
            return  # not from a stream (a reply, a timer, a test's tick), or not applied
        # time.monotonic() is one system-wide clock on Linux: comparable across processes.
        series = self.mark_samples if isinstance(msg, MarkPrice) else self.route_samples
        series.append((received, (time.monotonic() - received) * 1000,
                       (arrived - received) * 1000))

    # ------------------------------------------------------------------ queries

    def receiveMsg_StateQuery(self, msg: StateQuery, sender: Any) -> None:
        """Answer with a SymbolView."""
        self.send(sender, self.view())

    def receiveMsg_TimingsQuery(self, msg: TimingsQuery, sender: Any) -> None:
        """Answer with the routing-latency samples (SymbolTimings)."""
        self.send(sender, self.timings(msg.symbol))

    def timings(self, asked: str) -> SymbolTimings:
        """The routing-latency samples kept so far (for `posguard bench`)."""
        route, mark = self.route_samples, self.mark_samples
        return SymbolTimings(self.init.symbol if self.init else asked, os.getpid(),
                             tuple((r, ms) for r, ms, _ in route),
                             tuple((r, ms) for r, ms, _ in mark),
                             tuple(d for _, _, d in route), tuple(d for _, _, d in mark),
                             self.inbox_ticks, self.inbox.rejected if self.inbox else 0)

    # ------------------------------------------------------------------ core

    def _apply(self, trigger: Trigger, event: Any) -> Step | None:
        assert self.s is not None and self.init is not None
        if self.dying is not None:
            return None
        ctx = Context(self.init.epoch, self.init.policy, self.rules, self.init.clock.now_ms(),
                      self.init.venue, self.init.account)
        before = self.s
        event = claim(before, event, ctx)  # an attached trailing stop's update is ours
        step = handle(before, trigger, event, ctx)
        if step is None:
            return None
        # Counted first so that the view _commit may push shows this step (a failed commit
        # ends the actor, counters and all).
        self.counters = tally.stepped(self.counters, before, trigger, event, step, ctx.now_ms)
        if step.kind == "quarantined":
            self.quarantines += 1
            self.last_quarantine = step.state.quarantine_reason
        corr = getattr(event, "command_id", None) or getattr(event, "msg_id", None) \
            or getattr(event, "request_id", None) or new_id()
        if not self._commit(step, correlation_id=corr,
                            event_ms=getattr(event, "event_ms", None) or ctx.now_ms):
            return None  # not durable: nothing was sent, nobody is told it happened
        if step.alert is not None:  # the position is unprotected (actors/machine/coverage.py)
            log.critical("ALERT %s", step.alert)
        if step.retry_after_ms is not None and isinstance(event, ExchangeReply):
            delay = step.retry_after_ms * (0.5 + random.random())
            op = event.op if step.retry_op is None else step.retry_op
            self.wakeupAfter(timedelta(milliseconds=delay), payload=Retry(op))
        self._serve_deferred()
        return step

    def _commit(self, step: Step, *, correlation_id: str, event_ms: int) -> bool:
        """Persist (durable), then act: the exchange hears of nothing not yet journaled.

        False when the write failed: the actor is dying and nothing was sent.
        """
        from persistence.store import StoreError
        assert self.init is not None
        if step.persist:
            started = time.perf_counter()
            try:
                self.seq = self.store.append(
                    self.init.symbol, expected_seq=self.seq, kind=step.kind,
                    payload=step.payload, state=to_dict(step.state), live=step.state.live,
                    correlation_id=str(correlation_id), created_at_ms=int(event_ms))
            except StoreError as e:
                self._die(f"store write failed ({step.kind}): {e}")
                return False
            self.counters = tally.appended(self.counters, time.perf_counter() - started)
        self.s = step.state
        if self.parent_addr is not None:
            if step.persist:
                self._push_view()
            else:
                self._refresh_later()
        for op in step.requests:
            self.send_request(self.init.pool, new_id(), op)
        for notice in step.notices:  # MoveWanted: nothing answers it, so no deadline
            self.send(self.init.pool, notice)
        if step.refetch:
            self.fetch_id = new_id()
            # fetch_op names our stops: a position found closed is explained by their history.
            self.send_request(self.init.pool, self.fetch_id, fetch_op(step.state))
        return True

