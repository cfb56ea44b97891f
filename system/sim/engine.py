"""The matching engine: prices and marks, orders, fills, the meter. Pure and synchronous.

Driven only from the server's event loop; time comes from the injected clock. Every
state change appends user-stream events to `outbox`, which the server drains and
publishes in order. Algo (conditional) orders live in the AlgoOrders mixin.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from system.clock import Clock
from system.sim import errors as E
from system.sim import events as ev
from system.sim.engine_algos import AlgoOrders, AlgoRequest
from system.sim.engine_attached import AttachedStops
from system.sim.errors import SimError, err
from system.sim.ledger import Ledger
from system.sim.markets import Market, build_markets
from system.sim.meter import UnprotectedMeter
from system.sim.model import ZERO, AlgoOrder, Order, Trade
from system.sim.probe import Probe
from system.sim.settings import SimSettings

__all__ = ["AlgoRequest", "Engine"]

HUNDRED = Decimal(100)
HIDDEN_AFTER_MS = 3 * 86_400_000
"""A CANCELED / EXPIRED order without a fill is not found 3 days after creation (Binance)."""
FORGOTTEN_AFTER_MS = 90 * 86_400_000
"""Any order is not found 90 days after creation (Binance)."""


@dataclass(slots=True)
class _Partial:
    due: float
    order_id: int


class Engine(AlgoOrders, AttachedStops):
    """Accounts, positions, orders and algo orders of the one simulated account."""

    def __init__(self, settings: SimSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.markets: dict[str, Market] = build_markets(settings.synthetic_symbols)
        self.probe: Probe | None = None
        """Records accepted algo orders and cancels when set (Sim sets it; reset keeps it)."""
        self.basis = Decimal(str(settings.mark_basis_pct)) / HUNDRED
        self.reset()

    def reset(self) -> None:
        """Back to the starting state: start prices, full balance, no orders, one-way mode."""
        s = self.settings
        self.prices = {sym: m.start_price for sym, m in self.markets.items()}
        """Contract (last) prices: MARKET fills and CONTRACT_PRICE triggers."""
        self.marks = {sym: self._derived_mark(sym) for sym in self.markets}
        """Mark prices: MARK_PRICE triggers, unrealized PnL, margin, the mark stream."""
        self.ledger = Ledger(Decimal(str(s.starting_balance_usdt)),
                             Decimal(str(s.taker_fee_pct)), s.default_leverage,
                             s.max_fills_kept)
        self.orders: dict[int, Order] = {}
        self.algos: dict[int, AlgoOrder] = {}
        self.trades: deque[Trade] = deque(maxlen=s.max_history_kept)
        self.dual_side = False
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

    def live_symbols(self) -> set[str]:
        """Symbols with a position, an open order or an open algo order (what v3 lists)."""
        live = {s for s, p in self.ledger.positions.items() if p.amt}
        live.update(o.symbol for o in self.open_orders())
        live.update(a.symbol for a in self.open_algos())
        return live

    def visible(self, create_ms: int, status: str, filled: bool) -> bool:
        """Binance's query horizon: old unfilled cancels after 3 days, anything after 90."""
        age = self.clock.now_ms() - create_ms
        if age > FORGOTTEN_AFTER_MS:
            return False
        return not (status in ("CANCELED", "EXPIRED") and not filled and age > HIDDEN_AFTER_MS)

    def find_order(self, symbol: str, order_id: int | None, client_id: str | None) -> Order:
        """A plain order by id or client id (the newest of that client id), or -2013."""
        for o in reversed(self.orders.values()):
            if o.symbol == symbol and (o.order_id == order_id or (
                    client_id is not None and o.client_id == client_id)) and self.visible(
                    o.time_ms, o.status, o.executed_qty > 0):
                return o
        raise err(E.NO_SUCH_ORDER)

    def find_algo(self, symbol: str | None, algo_id: int | None, client_id: str | None,
                  error: tuple[int, str] = E.NO_SUCH_ORDER) -> AlgoOrder:
        """An algo order by id or client id (the newest of that client id), or `error`."""
        for a in reversed(self.algos.values()):
            if symbol in (None, a.symbol) and (a.algo_id == algo_id or (
                    client_id is not None and a.client_algo_id == client_id)) and self.visible(
                    a.create_ms, a.status, a.fill_qty > 0):
                return a
        raise err(error)

    # ---- prices ----------------------------------------------------------------------
    def _derived_mark(self, symbol: str) -> Decimal:
        return self.markets[symbol].round_price(self.prices[symbol] * (1 + self.basis))

    def set_price(self, symbol: str, price: Decimal, mark: Decimal | None = None) -> None:
        """Move a symbol's contract price; the mark follows at the basis unless given.

        Each resting algo order sees the price of its workingType and fires on it.
        """
        m = self.market(symbol)
        self.prices[symbol] = m.round_price(price)
        self.marks[symbol] = self._derived_mark(symbol) if mark is None else m.round_price(mark)
        self._observe(symbol, contract_moved=True, mark_moved=True)

    def set_mark(self, symbol: str, mark: Decimal) -> None:
        """Move only the mark (the contract price stays); MARK_PRICE orders may fire."""
        m = self.market(symbol)
        self.marks[symbol] = m.round_price(mark)
        self._observe(symbol, contract_moved=False, mark_moved=True)

    # ---- account configuration -----------------------------------------------------
    def set_leverage(self, symbol: str, leverage: int) -> None:
        """POST /fapi/v1/leverage."""
        self.market(symbol)
        if not 1 <= leverage <= 125:
            raise SimError(-4028, f"Leverage {leverage} is not valid")
        self.ledger.leverage[symbol] = leverage
        self.outbox.append(ev.account_config_update(symbol, leverage, self.clock.now_ms()))

    def set_dual_side(self, dual: bool) -> None:
        """POST /fapi/v1/positionSide/dual: refused while anything is open (-4067/-4068)."""
        if dual == self.dual_side:
            raise SimError(-4059, "No need to change position side.")
        if self.open_orders() or self.open_algos():
            raise SimError(-4067, "Position side cannot be changed if there exists open "
                                  "orders.")
        if any(p.amt for p in self.ledger.positions.values()):
            raise SimError(-4068, "Position side cannot be changed if there exists position.")
        self.dual_side = dual

    # ---- plain orders ----------------------------------------------------------------
    def place_market(self, symbol: str, side: str, qty: Decimal, client_id: str,
                     reduce_only: bool) -> Order:
        """A MARKET order: fills at the current price (or partly, if a fault is armed)."""
        m = self.market(symbol)
        self._check_qty(m, qty)
        if client_id and any(o.client_id == client_id for o in self.open_orders()):
            raise err(E.DUPLICATE_CLIENT_ID)
        price = self.prices[symbol]
        qty = self._reduce_only_qty(symbol, side, qty) if reduce_only else qty
        if not reduce_only:
            self._check_notional(m, qty, price)
            self._check_margin(symbol, side, qty, price)
        now = self.clock.now_ms()
        o = Order(next(self._order_ids), client_id, symbol, side, "MARKET", qty,
                  reduce_only, False, now, update_ms=now)
        self._add_order(o)
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
            o = self.orders.get(p.order_id)
            if o is not None and o.status == "PARTIALLY_FILLED":
                m = self.markets[o.symbol]
                rest = o.orig_qty - o.executed_qty
                if o.reduce_only:
                    rest = min(rest, abs(self.ledger.position(o.symbol).amt))
                if rest > 0:
                    self._fill(o, m, rest, self.prices[o.symbol], final=True)

    # ---- history -----------------------------------------------------------------------
    def _add_order(self, o: Order) -> None:
        self.orders[o.order_id] = o
        self._prune(self.orders)

    def _prune(self, records: dict) -> None:
        # Bounded history: past max_history_kept the oldest *closed* records go; an open
        # order is never forgotten (it must stay cancellable and protect its position).
        excess = len(records) - self.settings.max_history_kept
        if excess <= 0:
            return
        closed = [k for k, r in records.items() if r.status not in
                  ("NEW", "PARTIALLY_FILLED")]
        for k in closed[:excess]:
            del records[k]

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
        trade_id = next(self._trade_ids)
        self.trades.append(Trade(trade_id, o.order_id, o.symbol, o.side, price, qty, realized,
                                 fee, now))
        # Binance pushes TRADE_LITE, its low-latency fill event, ahead of ORDER_TRADE_UPDATE.
        self.outbox.append(ev.trade_lite(o, m, now, last_qty=qty, last_price=price,
                                         trade_id=trade_id))
        self.outbox.append(ev.order_trade_update(
            o, m, "TRADE", now, last_qty=qty, last_price=price, fee=fee, realized=realized,
            trade_id=trade_id))
        self._follow_position(o.symbol)  # attached stops (Bybit) resize or go first
        self._account_event(o.symbol, now)
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
        if opening and need > self.ledger.available(self.marks):
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
