"""Builders for driving the pure symbol state machine (actors/symbol_machine.py) in tests.

Nothing here talks to an exchange: events and replies are built by hand, and `Driver` keeps
the current state, applies triggers through `handle` and records every Step it returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from actors.machine.trailing import claim
from actors.messages import (
    AlgoUpdate,
    CancelStop,
    ExchangeFailure,
    ExchangeReply,
    FailureKind,
    LookupOrder,
    MarkPrice,
    OpenPosition,
    OrderInfo,
    OrderUpdate,
    PlaceMarket,
    PlaceStop,
    PositionUpdate,
    SymbolSnapshot,
)
from actors.protection import MarketRules, ProtectionPolicy, TrailingPolicy
from actors.symbol_machine import Context, Step, Trigger, handle
from actors.symbol_state import SymbolState
from venue.interface import Capabilities
from venue.requests import AmendStop
from venues.binance.adapter import CAPABILITIES

AMEND_CAPS = replace(CAPABILITIES, amend_in_place=True)
"""A venue that amends a resting stop in place (as Bybit does); otherwise Binance's rules."""

D = Decimal
SYMBOL = "BTCUSDT"
EPOCH = 7
T0 = 1_795_263_300_000
RULES = MarketRules(tick_size=D("0.1"), step_size=D("0.001"), min_qty=D("0.001"))


def policy(on_stop_would_trigger: str = "close", **trailing: Any) -> ProtectionPolicy:
    """ProtectionPolicy defaults, with optional overrides (e.g. mode="native")."""
    return ProtectionPolicy(trailing=TrailingPolicy(**trailing),
                            on_stop_would_trigger=on_stop_would_trigger)  # type: ignore[arg-type]


def ctx(now_ms: int = T0, pol: ProtectionPolicy | None = None,
        rules: MarketRules | None = RULES, venue: Capabilities = CAPABILITIES) -> Context:
    """The Context every test uses unless it says otherwise (`venue=AMEND_CAPS`: a venue
    that amends in place)."""
    return Context(epoch=EPOCH, policy=pol or ProtectionPolicy(), rules=rules, now_ms=now_ms,
                   venue=venue)


# --------------------------------------------------------------------------- stream events


def mark(price: str | Decimal, event_ms: int = T0) -> MarkPrice:
    return MarkPrice(SYMBOL, D(price), event_ms)


def position(amount: str | Decimal, entry: str | Decimal = "60000", reason: str = "ORDER",
             event_ms: int = T0) -> PositionUpdate:
    return PositionUpdate(SYMBOL, D(amount), D(entry), reason, event_ms, event_ms)


def order_update(client_id: str, *, order_type: str = "STOP_MARKET", side: str = "SELL",
                 exec_type: str = "TRADE", status: str = "FILLED", qty: str = "0.010",
                 avg: str = "58800", pnl: str = "0", event_ms: int = T0) -> OrderUpdate:
    return OrderUpdate(SYMBOL, client_id, "8389765999", order_type, side, exec_type, status,
                       D(qty), D(qty), D(avg), D(pnl), True, False, event_ms, event_ms)


def algo_update(client_id: str, status: str = "NEW", *, algo_id: str = "4000000001",
                side: str = "SELL", trigger: str = "58800", qty: str = "0.010",
                order_type: str = "STOP_MARKET", reason: str = "",
                event_ms: int = T0) -> AlgoUpdate:
    return AlgoUpdate(SYMBOL, client_id, algo_id, order_type, side, status, D(trigger),
                      D(qty), False, reason, event_ms)


# --------------------------------------------------------------------------- replies


def failure(kind: FailureKind, code: int | None = None, message: str = "boom"
            ) -> ExchangeFailure:
    return ExchangeFailure(kind, code, message)


WOULD_TRIGGER = ExchangeFailure(FailureKind.WOULD_TRIGGER, -2021,
                                "Order would immediately trigger.")
TIMEOUT = ExchangeFailure(FailureKind.UNKNOWN_OUTCOME, None, "read timeout")


def order_info(client_id: str, *, order_id: str = "1001", order_type: str = "MARKET",
               side: str = "BUY", status: str = "FILLED", qty: str = "0.010",
               filled: str | None = None, avg: str | None = "60000",
               trigger: str | None = None, algo: bool = False,
               close_position: bool = False) -> OrderInfo:
    return OrderInfo(order_id, client_id, SYMBOL, order_type, side, status, D(qty),
                     D(qty if filled is None else filled), None if avg is None else D(avg),
                     None if trigger is None else D(trigger), order_type != "MARKET",
                     close_position, algo)


def stop_info(client_id: str, trigger: str, *, algo_id: str = "4000000001",
              side: str = "SELL", qty: str = "0.010", status: str = "NEW") -> OrderInfo:
    """An open algo STOP_MARKET as the exchange lists it."""
    return order_info(client_id, order_id=algo_id, order_type="STOP_MARKET", side=side,
                      status=status, qty=qty, filled="0", avg=None, trigger=trigger,
                      algo=True)


def trailing_info(client_id: str, *, algo_id: str = "4000000002", side: str = "SELL",
                  qty: str = "0.010", status: str = "NEW", callback: str = "0.5",
                  activate: str | None = "60600") -> OrderInfo:
    """An open algo TRAILING_STOP_MARKET as the exchange lists it."""
    info = order_info(client_id, order_id=algo_id, order_type="TRAILING_STOP_MARKET",
                      side=side, status=status, qty=qty, filled="0", avg=None, algo=True)
    return replace(info, callback_rate_pct=D(callback),
                   activate_price=None if activate is None else D(activate))


def reply(op: Any, result: Any = None, fail: ExchangeFailure | None = None) -> ExchangeReply:
    return ExchangeReply("req-" + getattr(op, "client_id", "fetch"), op, result, fail)


def accept(op: PlaceStop, algo_id: str = "4000000001") -> ExchangeReply:
    """The exchange accepted a PlaceStop (a STOP_MARKET or a TRAILING_STOP_MARKET)."""
    if op.order_type == "TRAILING_STOP_MARKET":
        return reply(op, trailing_info(
            op.client_id, algo_id=algo_id, side=op.side, qty=str(op.qty),
            callback=str(op.callback_rate_pct),
            activate=None if op.activate_price is None else str(op.activate_price)))
    assert op.trigger_price is not None
    return reply(op, stop_info(op.client_id, str(op.trigger_price), algo_id=algo_id,
                               side=op.side, qty=str(op.qty)))


def amended(op: AmendStop, qty: str = "0.010", algo_id: str = "4000000001") -> ExchangeReply:
    """The exchange amended the stop as `op` asked (the reply is the stop as amended)."""
    return reply(op, stop_info(op.client_id, str(op.trigger_price), algo_id=algo_id,
                               qty=str(op.qty) if op.qty is not None else qty))


def filled(op: PlaceMarket, avg: str = "60000") -> ExchangeReply:
    """A market order filled completely."""
    return reply(op, order_info(op.client_id, side=op.side, qty=str(op.qty), avg=avg))


def snapshot(amount: str = "0", entry: str = "0", stops: tuple[OrderInfo, ...] = (),
             mark_price: str | None = "60000") -> SymbolSnapshot:
    return SymbolSnapshot(SYMBOL, D(amount), D(entry), None if mark_price is None else
                          D(mark_price), (), stops, T0)


# --------------------------------------------------------------------------- driver


@dataclass
class Driver:
    """Applies triggers one at a time, like the actor shell, and remembers every Step."""

    s: SymbolState = field(default_factory=lambda: SymbolState(SYMBOL))
    pol: ProtectionPolicy = field(default_factory=ProtectionPolicy)
    now_ms: int = T0
    steps: list[Step | None] = field(default_factory=list)
    venue: Capabilities = CAPABILITIES
    """What the venue can do (AMEND_CAPS: it amends a resting stop in place)."""

    def apply(self, trigger: Trigger, event: Any, advance_ms: int = 1000) -> Step | None:
        self.now_ms += advance_ms
        c = ctx(self.now_ms, self.pol, venue=self.venue)
        # As the actor shell does (actors/symbol.py): an attached trailing stop's update is ours.
        step = handle(self.s, trigger, claim(self.s, event, c), c)
        self.steps.append(step)
        if step is not None:
            self.s = step.state
        return step

    @property
    def requests(self) -> list[Any]:
        """Every request emitted so far, in order."""
        return [r for st in self.steps if st is not None for r in st.requests]

    @property
    def kinds(self) -> list[str]:
        return [st.kind for st in self.steps if st is not None]


def only(step: Step | None, kind: type) -> Any:
    """The single request of type `kind` in `step` (fails if there is not exactly one)."""
    assert step is not None
    found = [r for r in step.requests if isinstance(r, kind)]
    assert len(found) == 1, f"expected one {kind.__name__}, got {step.requests!r}"
    return found[0]


def stop_in_flight() -> tuple[Driver, PlaceStop]:
    """A long of 0.010 just filled: its first stop is sent, no reply yet."""
    d = Driver()
    op = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", D("0.010"), "cmd-1")),
              PlaceMarket)
    return d, only(d.apply(Trigger.MARKET_REPLY, filled(op)), PlaceStop)


__all__ = ["AmendStop", "CancelStop", "LookupOrder", "PlaceMarket", "PlaceStop", "Trigger"]
