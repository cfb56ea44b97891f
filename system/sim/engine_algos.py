"""Algo (conditional) orders of the engine: placement, cancel, triggering on mark or contract.

A mixin of `Engine` (system/sim/engine.py): it reads and changes the engine's state and is
never used alone. Kept apart because conditional orders are their own concept on Binance
(the algo service, /fapi/v1/algoOrder) and the engine module would otherwise pass 400 lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from system.sim import errors as E
from system.sim import events as ev
from system.sim import triggers
from system.sim.errors import SimError, err
from system.sim.markets import TRIGGER_PROTECT, Market
from system.sim.model import ZERO, AlgoOrder, Order

MIN_CALLBACK, MAX_CALLBACK = Decimal("0.1"), Decimal("10")


@dataclass(frozen=True, slots=True)
class AlgoRequest:
    """A validated POST /fapi/v1/algoOrder."""

    symbol: str
    side: str
    order_type: str
    quantity: Decimal
    trigger_price: Decimal
    reduce_only: bool
    close_position: bool
    client_algo_id: str
    working_type: str = "CONTRACT_PRICE"
    activate_price: Decimal = ZERO
    callback_rate: Decimal = ZERO
    price_protect: bool = False
    trigger_direction: int = 0
    """Bybit's triggerDirection (1 rises, 2 falls); 0 = Binance's by-side rule."""


class AlgoOrders:
    """The algo-order half of the engine (mixed into Engine)."""

    def reference_price(self, a: AlgoOrder) -> Decimal:
        """The price `a` watches: the mark for MARK_PRICE, else the contract (last) price."""
        return self.marks[a.symbol] if a.working_type == "MARK_PRICE" else self.prices[a.symbol]

    def place_algo(self, r: AlgoRequest) -> AlgoOrder:
        """POST /fapi/v1/algoOrder (STOP_MARKET / TRAILING_STOP_MARKET)."""
        m = self.market(r.symbol)
        self._validate_algo(m, r)
        now = self.clock.now_ms()
        a = AlgoOrder(next(self._algo_ids), r.client_algo_id, r.symbol, r.side, r.order_type,
                      r.quantity, r.trigger_price, r.reduce_only, r.close_position,
                      r.working_type, now, activate_price=r.activate_price,
                      callback_rate=r.callback_rate, update_ms=now,
                      price_protect=r.price_protect, trigger_direction=r.trigger_direction)
        price = self.reference_price(a)
        if a.trigger_direction:
            check_direction(m, a.trigger_direction, a.trigger_price, price)
        elif triggers.fires_immediately(a, price):
            raise err(E.IMMEDIATE_TRIGGER)
        if a.order_type == "TRAILING_STOP_MARKET":
            a.trigger_price = ZERO
            triggers.observe(a, price)  # no activatePrice: tracking starts now
        self.algos[a.algo_id] = a
        self._prune(self.algos)
        if self.probe is not None:
            self.probe.placed(a.symbol, self.clock.monotonic(), a.order_type,
                              m.fmt_price(a.trigger_price), m.fmt_qty(a.quantity),
                              a.client_algo_id)
        self._emit_algo(a, now)
        self._meter(r.symbol)
        return a

    def cancel_algo(self, symbol: str | None, algo_id: int | None,
                    client_id: str | None) -> AlgoOrder:
        """DELETE /fapi/v1/algoOrder: by id or client id, the symbol optional (-2011)."""
        a = self.find_algo(symbol, algo_id, client_id, error=E.UNKNOWN_ORDER)
        if not a.is_open:
            raise err(E.UNKNOWN_ORDER)
        self._cancel(a)
        return a

    def cancel_all_algos(self, symbol: str) -> list[AlgoOrder]:
        """DELETE /fapi/v1/algoOpenOrders: every open algo order of the symbol."""
        self.market(symbol)
        gone = self.open_algos(symbol)
        for a in gone:
            self._cancel(a)
        return gone

    def _cancel(self, a: AlgoOrder, cancel_type: str = "CancelByUser") -> None:
        a.status, a.cancel_type = "CANCELED", cancel_type
        a.update_ms = self.clock.now_ms()
        if self.probe is not None:
            self.probe.cancelled(a.symbol, self.clock.monotonic(), a.client_algo_id)
        self._emit_algo(a, a.update_ms)
        self._meter(a.symbol)

    def _observe(self, symbol: str, contract_moved: bool, mark_moved: bool) -> None:
        # Each order sees only the price it works on: a mark-only move is no tick for a
        # CONTRACT_PRICE order, a contract move without a mark move none for a MARK_PRICE one.
        for a in self.open_algos(symbol):
            if not a.is_open:  # an earlier trigger on this tick closed the position: gone
                continue
            on_mark = a.working_type == "MARK_PRICE"
            if not (mark_moved if on_mark else contract_moved):
                continue
            if self._fires(a, self.reference_price(a)) and not self._protected(a):
                self._trigger(a)

    def _protected(self, a: AlgoOrder) -> bool:
        # priceProtect: Binance holds the trigger while mark and contract price differ by
        # more than the symbol's triggerProtect (the order stays NEW and fires later).
        if not a.price_protect:
            return False
        mark, last = self.marks[a.symbol], self.prices[a.symbol]
        return abs(mark - last) / last > TRIGGER_PROTECT

    def _validate_algo(self, m: Market, r: AlgoRequest) -> None:
        # "" = none given (Bybit's orderLinkId is optional); Binance always has one.
        if r.client_algo_id and any(a.client_algo_id == r.client_algo_id
                                    for a in self.open_algos()):
            raise err(E.DUPLICATE_CLIENT_ID)
        if r.order_type == "STOP_MARKET" and not m.price_ok(r.trigger_price):
            raise err(E.BAD_TICK)
        if r.activate_price and not m.price_ok(r.activate_price):
            raise err(E.BAD_TICK)
        if r.order_type == "TRAILING_STOP_MARKET" and not (
                MIN_CALLBACK <= r.callback_rate <= MAX_CALLBACK):
            raise err(E.BAD_CALLBACK)
        if r.close_position:
            if any(a.close_position and a.side == r.side for a in self.open_algos(m.symbol)):
                raise err(E.CLOSE_POSITION_EXISTS)
            return
        self._check_qty(m, r.quantity)
        amt = self.ledger.position(m.symbol).amt
        if r.reduce_only and amt and (amt > 0) == (r.side == "BUY"):
            raise err(E.REDUCE_ONLY_REJECTED)
        if not r.reduce_only:
            ref = r.trigger_price or r.activate_price or self.prices[m.symbol]
            self._check_notional(m, r.quantity, ref)

    def _trigger_qty(self, a: AlgoOrder) -> Decimal:
        amt = self.ledger.position(a.symbol).amt
        closing = amt != 0 and (amt > 0) == (a.side == "SELL")
        if a.close_position or a.reduce_only:
            qty = abs(amt) if a.close_position else min(a.quantity, abs(amt))
            return qty if closing else ZERO
        return a.quantity

    def _trigger(self, a: AlgoOrder) -> None:
        m = self.markets[a.symbol]
        now = self.clock.now_ms()
        price = self.prices[a.symbol]  # the child is a MARKET order: it fills at the last price
        a.trigger_ms = a.update_ms = now
        a.status = "TRIGGERING"
        self._emit_algo(a, now)
        qty = self._trigger_qty(a)
        if qty == 0:
            a.status, a.reject_reason = "EXPIRED", "ReduceOnly Order is rejected."
            self._emit_algo(a, now)
            self._meter(a.symbol)
            return
        trailing = a.order_type == "TRAILING_STOP_MARKET"
        o = Order(next(self._order_ids), a.client_algo_id, a.symbol, a.side, a.order_type,
                  qty, a.reduce_only, a.close_position, now, stop_price=a.trigger_price,
                  working_type=a.working_type, update_ms=now, price_protect=a.price_protect,
                  activate_price=a.activate_price if trailing else ZERO,
                  price_rate=a.callback_rate if trailing else ZERO)
        self._add_order(o)
        a.child_id, a.status = o.order_id, "TRIGGERED"
        self._emit_algo(a, now)
        first = len(self.outbox)
        self.outbox.append(ev.order_trade_update(o, m, "NEW", now))
        self._fill(o, m, qty, price)
        self._mark_child(a, first)
        a.status, a.fill_price, a.fill_qty = "FINISHED", price, qty
        self._emit_algo(a, now)


def direction_fires(direction: int, trigger: Decimal, price: Decimal) -> bool:
    """Bybit's triggerDirection: 1 fires at or above the trigger, 2 at or below."""
    return price >= trigger if direction == 1 else price <= trigger


def check_direction(m: Market, direction: int, trigger: Decimal, price: Decimal) -> None:
    """Bybit's placement check (error.mdx 110092 / 110093): the trigger lies ahead of price."""
    if direction == 1 and trigger <= price:
        raise SimError(110092, f"expect Rising, but trigger_price[{m.fmt_price(trigger)}] <= "
                               f"current[{m.fmt_price(price)}]")
    if direction == 2 and trigger >= price:
        raise SimError(110093, f"expect Falling, but trigger_price[{m.fmt_price(trigger)}] >= "
                               f"current[{m.fmt_price(price)}]")
