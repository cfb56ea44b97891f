"""The matching engine: orders, algo orders, triggering, the meter. Pure and synchronous.

Driven only from the server's event loop; time comes from the injected clock. Every
state change appends user-stream events to `outbox`, which the server drains and
publishes in order.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

from system.clock import Clock
from system.sim import errors as E
from system.sim import events as ev
from system.sim import triggers
from system.sim.errors import SimError, err
from system.sim.ledger import Ledger
from system.sim.markets import Market, build_markets
from system.sim.meter import UnprotectedMeter
from system.sim.model import ZERO, AlgoOrder, Order
from system.sim.probe import Probe
from system.sim.settings import SimSettings

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


@dataclass(slots=True)
class _Partial:
    due: float
    order_id: int


class Engine:
    """Accounts, positions, orders and algo orders of the one simulated account."""

    def __init__(self, settings: SimSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.markets: dict[str, Market] = build_markets(settings.synthetic_symbols)
        self.probe: Probe | None = None
        """Records accepted algo orders and cancels when set (Sim sets it; reset keeps it)."""
        self.reset()

    def reset(self) -> None:
        """Back to the starting state: start prices, full balance, no orders."""
        s = self.settings
        self.prices = {sym: m.start_price for sym, m in self.markets.items()}
        self.ledger = Ledger(Decimal(str(s.starting_balance_usdt)),
                             Decimal(str(s.taker_fee_pct)), s.default_leverage,
                             s.max_fills_kept)
        self.orders: dict[int, Order] = {}
        self.algos: dict[int, AlgoOrder] = {}
        self.meter = UnprotectedMeter(s.max_gaps_kept)
        self.outbox: list[dict] = []
        self._order_ids = itertools.count(8_389_765_000)
        self._algo_ids = itertools.count(4_000_000_000)
        self._trade_ids = itertools.count(5_123_456)
        self._partial_armed: dict[str, tuple[Decimal, int]] = {}
        self._partials: list[_Partial] = []

    # ---- lookups -------------------------------------------------------------------
    def market(self, symbol: str) -> Market:
        """The market or -1121."""
        m = self.markets.get(symbol)
        if m is None:
            raise err(E.BAD_SYMBOL)
        return m

    def drain(self) -> list[dict]:
        """Take the pending user-stream events, oldest first."""
        out, self.outbox = self.outbox, []
        return out

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Plain orders still working (only partially filled MARKET orders ever are)."""
        return [o for o in self.orders.values() if o.status in ("NEW", "PARTIALLY_FILLED")
                and symbol in (None, o.symbol)]

    def open_algos(self, symbol: str | None = None) -> list[AlgoOrder]:
        """Resting algo orders."""
        return [a for a in self.algos.values() if a.is_open and symbol in (None, a.symbol)]

    def find_order(self, symbol: str, order_id: int | None, client_id: str | None) -> Order:
        """A plain order by id or client id, or -2013."""
        for o in self.orders.values():
            if o.symbol == symbol and (o.order_id == order_id or
                                       (client_id is not None and o.client_id == client_id)):
                return o
        raise err(E.NO_SUCH_ORDER)

    def find_algo(self, symbol: str | None, algo_id: int | None,
                  client_id: str | None) -> AlgoOrder:
        """An algo order by id or client id, or -2013."""
        for a in self.algos.values():
            if symbol in (None, a.symbol) and (a.algo_id == algo_id or (
                    client_id is not None and a.client_algo_id == client_id)):
                return a
        raise err(E.NO_SUCH_ORDER)

    # ---- prices ----------------------------------------------------------------------
    def set_price(self, symbol: str, price: Decimal) -> None:
        """Move a symbol's contract (= mark) price and fire what that tick triggers."""
        m = self.market(symbol)
        self.prices[symbol] = m.round_price(price)
        for a in self.open_algos(symbol):
            if a.is_open and triggers.observe(a, self.prices[symbol]):
                self._trigger(a)

    def set_leverage(self, symbol: str, leverage: int) -> None:
        """POST /fapi/v1/leverage."""
        self.market(symbol)
        if not 1 <= leverage <= 125:
            raise SimError(-4028, f"Leverage {leverage} is not valid")
        self.ledger.leverage[symbol] = leverage

    # ---- plain orders ----------------------------------------------------------------
    def place_market(self, symbol: str, side: str, qty: Decimal, client_id: str,
                     reduce_only: bool) -> Order:
        """A MARKET order: fills at the current price (or partly, if a fault is armed)."""
        m = self.market(symbol)
        self._check_qty(m, qty)
        if any(o.client_id == client_id for o in self.open_orders()):
            raise err(E.DUPLICATE_CLIENT_ID)
        price = self.prices[symbol]
        qty = self._reduce_only_qty(symbol, side, qty) if reduce_only else qty
        if not reduce_only:
            self._check_notional(m, qty, price)
            self._check_margin(symbol, side, qty, price)
        now = self.clock.now_ms()
        o = Order(next(self._order_ids), client_id, symbol, side, "MARKET", qty,
                  reduce_only, False, now, update_ms=now)
        self.orders[o.order_id] = o
        self.outbox.append(ev.order_trade_update(o, m, "NEW", now))
        first = qty
        armed = self._partial_armed.pop(symbol, None)
        if armed is not None:
            first = m.floor_qty(qty * armed[0]) or m.step
            self._partials.append(_Partial(self.clock.monotonic() + armed[1] / 1000, o.order_id))
        self._fill(o, m, min(first, qty), price)
        return o

    def cancel_order(self, symbol: str, order_id: int | None, client_id: str | None) -> Order:
        """DELETE /fapi/v1/order: only a still-working order can be cancelled (-2011)."""
        m = self.market(symbol)
        try:
            o = self.find_order(symbol, order_id, client_id)
        except SimError:
            raise err(E.UNKNOWN_ORDER) from None
        if o.status not in ("NEW", "PARTIALLY_FILLED"):
            raise err(E.UNKNOWN_ORDER)
        o.status = "CANCELED"
        o.update_ms = self.clock.now_ms()
        self._partials = [p for p in self._partials if p.order_id != o.order_id]
        self.outbox.append(ev.order_trade_update(o, m, "CANCELED", o.update_ms))
        return o

    def arm_partial(self, symbol: str, fraction: float, after_ms: int) -> None:
        """Next MARKET order on `symbol` fills `fraction` now and the rest after `after_ms`."""
        self.market(symbol)
        self._partial_armed[symbol] = (Decimal(str(fraction)), after_ms)

    def run_due(self) -> None:
        """Complete partial fills whose time has come."""
        now = self.clock.monotonic()
        due = [p for p in self._partials if p.due <= now]
        self._partials = [p for p in self._partials if p.due > now]
        for p in due:
            o = self.orders[p.order_id]
            if o.status == "PARTIALLY_FILLED":
                m = self.markets[o.symbol]
                rest = o.orig_qty - o.executed_qty
                if o.reduce_only:
                    rest = min(rest, abs(self.ledger.position(o.symbol).amt))
                if rest > 0:
                    self._fill(o, m, rest, self.prices[o.symbol], final=True)

    # ---- algo orders -----------------------------------------------------------------
    def place_algo(self, r: AlgoRequest) -> AlgoOrder:
        """POST /fapi/v1/algoOrder (STOP_MARKET / TRAILING_STOP_MARKET)."""
        m = self.market(r.symbol)
        self._validate_algo(m, r)
        now = self.clock.now_ms()
        a = AlgoOrder(next(self._algo_ids), r.client_algo_id, r.symbol, r.side, r.order_type,
                      r.quantity, r.trigger_price, r.reduce_only, r.close_position,
                      r.working_type, now, activate_price=r.activate_price,
                      callback_rate=r.callback_rate, update_ms=now)
        price = self.prices[r.symbol]
        if triggers.fires_immediately(a, price):
            raise err(E.IMMEDIATE_TRIGGER)
        if a.order_type == "TRAILING_STOP_MARKET":
            a.trigger_price = ZERO
            triggers.observe(a, price)  # no activatePrice: tracking starts now
        self.algos[a.algo_id] = a
        if self.probe is not None:
            self.probe.placed(a.symbol, self.clock.monotonic(), a.order_type,
                              m.fmt_price(a.trigger_price), m.fmt_qty(a.quantity),
                              a.client_algo_id)
        self.outbox.append(ev.algo_update(a, m, now))
        self._meter(r.symbol)
        return a

    def cancel_algo(self, symbol: str, algo_id: int | None, client_id: str | None) -> AlgoOrder:
        """DELETE /fapi/v1/algoOrder."""
        m = self.market(symbol)
        try:
            a = self.find_algo(symbol, algo_id, client_id)
        except SimError:
            raise err(E.UNKNOWN_ORDER) from None
        if not a.is_open:
            raise err(E.UNKNOWN_ORDER)
        a.status = "CANCELED"
        a.update_ms = self.clock.now_ms()
        if self.probe is not None:
            self.probe.cancelled(symbol, self.clock.monotonic(), a.client_algo_id)
        self.outbox.append(ev.algo_update(a, m, a.update_ms))
        self._meter(symbol)
        return a

    def _validate_algo(self, m: Market, r: AlgoRequest) -> None:
        if any(a.client_algo_id == r.client_algo_id for a in self.open_algos()):
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

    def _trigger(self, a: AlgoOrder) -> None:
        m = self.markets[a.symbol]
        now = self.clock.now_ms()
        price = self.prices[a.symbol]
        a.trigger_ms = a.update_ms = now
        a.status = "TRIGGERING"
        self.outbox.append(ev.algo_update(a, m, now))
        amt = self.ledger.position(a.symbol).amt
        closing = amt != 0 and (amt > 0) == (a.side == "SELL")
        if a.close_position or a.reduce_only:
            qty = abs(amt) if a.close_position else min(a.quantity, abs(amt))
            qty = qty if closing else ZERO
        else:
            qty = a.quantity
        if qty == 0:
            a.status, a.reject_reason = "EXPIRED", "ReduceOnly Order is rejected."
            self.outbox.append(ev.algo_update(a, m, now))
            self._meter(a.symbol)
            return
        o = Order(next(self._order_ids), a.client_algo_id, a.symbol, a.side, a.order_type,
                  qty, a.reduce_only, a.close_position, now, stop_price=a.trigger_price,
                  working_type=a.working_type, update_ms=now)
        self.orders[o.order_id] = o
        a.child_id, a.status = o.order_id, "TRIGGERED"
        self.outbox.append(ev.algo_update(a, m, now))
        self.outbox.append(ev.order_trade_update(o, m, "NEW", now))
        self._fill(o, m, qty, price)
        a.status, a.fill_price, a.fill_qty = "FINISHED", price, qty
        self.outbox.append(ev.algo_update(a, m, now))

    # ---- fills and checks ------------------------------------------------------------
    def _fill(self, o: Order, m: Market, qty: Decimal, price: Decimal,
              final: bool = False) -> None:
        now = self.clock.now_ms()
        realized, fee = self.ledger.apply_fill(o.symbol, o.side, qty, price, now)
        o.executed_qty += qty
        o.cum_quote += qty * price
        o.realized += realized
        o.update_ms = now
        o.status = "FILLED" if (o.executed_qty >= o.orig_qty or final) else "PARTIALLY_FILLED"
        self.outbox.append(ev.order_trade_update(
            o, m, "TRADE", now, last_qty=qty, last_price=price, fee=fee, realized=realized,
            trade_id=next(self._trade_ids)))
        row = ev.position_row(self.ledger.position(o.symbol), m, self.prices[o.symbol])
        self.outbox.append(ev.account_update(self.ledger.wallet, [row], now))
        self._meter(o.symbol)

    def _check_qty(self, m: Market, qty: Decimal) -> None:
        if qty <= 0:
            raise err(E.QTY_TOO_SMALL)
        if not m.qty_ok(qty):
            raise err(E.BAD_PRECISION)
        if qty > m.max_qty:
            raise SimError(-4005, "Quantity greater than max quantity.")

    def _check_notional(self, m: Market, qty: Decimal, price: Decimal) -> None:
        if qty * price < m.min_notional:
            raise SimError(-4164, f"Order's notional must be no smaller than "
                                  f"{m.min_notional} (unless you choose reduce only).")

    def _check_margin(self, symbol: str, side: str, qty: Decimal, price: Decimal) -> None:
        opening = self.ledger.opening_qty(symbol, side, qty)
        need = opening * price / self.ledger.leverage_of(symbol) + self.ledger.fee(qty, price)
        if opening and need > self.ledger.available(self.prices):
            raise err(E.MARGIN_INSUFFICIENT)

    def _reduce_only_qty(self, symbol: str, side: str, qty: Decimal) -> Decimal:
        # Binance trims a reduce-only order to the position; one that cannot reduce is -2022.
        amt = self.ledger.position(symbol).amt
        if amt == 0 or (amt > 0) == (side == "BUY"):
            raise err(E.REDUCE_ONLY_REJECTED)
        return min(qty, abs(amt))

    def _meter(self, symbol: str) -> None:
        amt = self.ledger.position(symbol).amt
        closing_side = "SELL" if amt > 0 else "BUY"
        cover: Decimal | None = ZERO
        for a in self.open_algos(symbol):
            if a.side != closing_side or not (a.reduce_only or a.close_position):
                continue
            if a.close_position:
                cover = None
                break
            cover += a.quantity
        self.meter.update(symbol, self.clock.monotonic(), abs(amt), cover)
