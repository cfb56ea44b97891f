"""Engine records: mutable ones owned by the engine alone, and the frozen trade record."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(slots=True)
class Position:
    """One-way (BOTH) position of a symbol; amt > 0 long, < 0 short."""

    symbol: str
    amt: Decimal = ZERO
    entry: Decimal = ZERO
    realized: Decimal = ZERO
    """Cumulative realized PnL of the symbol (USDT), the `cr` of ACCOUNT_UPDATE."""
    update_ms: int = 0


@dataclass(slots=True)
class Order:
    """A plain order (MARKET) or the MARKET child of a triggered algo order."""

    order_id: int
    client_id: str
    symbol: str
    side: str
    orig_type: str
    """MARKET for plain orders, STOP_MARKET / TRAILING_STOP_MARKET for algo children."""
    orig_qty: Decimal
    reduce_only: bool
    close_position: bool
    time_ms: int
    stop_price: Decimal = ZERO
    working_type: str = "CONTRACT_PRICE"
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    realized: Decimal = ZERO
    update_ms: int = 0
    price_protect: bool = False
    activate_price: Decimal = ZERO
    """A trailing stop's child: the algo order's activatePrice (0 if none)."""
    price_rate: Decimal = ZERO
    """A trailing stop's child: the algo order's callbackRate (%)."""

    @property
    def avg_price(self) -> Decimal:
        """Average fill price (0 before the first fill)."""
        return self.cum_quote / self.executed_qty if self.executed_qty else ZERO


@dataclass(slots=True)
class AlgoOrder:
    """A conditional (algo) order: STOP_MARKET or TRAILING_STOP_MARKET."""

    algo_id: int
    client_algo_id: str
    symbol: str
    side: str
    order_type: str
    quantity: Decimal
    """0 for closePosition orders."""
    trigger_price: Decimal
    """Stop price; for a trailing stop the current stop level once activated (else 0)."""
    reduce_only: bool
    close_position: bool
    working_type: str
    create_ms: int
    activate_price: Decimal = ZERO
    callback_rate: Decimal = ZERO
    activated: bool = False
    extreme: Decimal = ZERO
    """Trailing: highest (SELL) / lowest (BUY) price since activation."""
    status: str = "NEW"
    update_ms: int = 0
    trigger_ms: int = 0
    child_id: int = 0
    fill_price: Decimal = ZERO
    fill_qty: Decimal = ZERO
    reject_reason: str = ""
    price_protect: bool = False
    """priceProtect: do not fire while mark and contract price differ by more than
    the symbol's triggerProtect."""
    trigger_direction: int = 0
    """Bybit's triggerDirection: 1 fires when the price rises to the trigger, 2 when it
    falls; 0 (Binance) = by side (a SELL stop falls, a BUY stop rises)."""
    attached: str = ""
    """Bybit position-attached stop: "StopLoss" | "TrailingStop" (stopOrderType); "" for an
    order placed as an order. Attached stops follow the position's size and go with it."""
    trail_distance: Decimal = ZERO
    """Attached TrailingStop: the stop's distance behind the extreme, in price (not %)."""
    cancel_type: str = ""
    """Why a cancelled order went (Bybit cancelType), e.g. CancelByUser, CancelByTpSlTsClear."""

    @property
    def is_open(self) -> bool:
        """Resting and not yet triggered."""
        return self.status == "NEW"


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill of the account, as GET /fapi/v1/userTrades lists it."""

    trade_id: int
    """Trade id (the `t` of ORDER_TRADE_UPDATE)."""
    order_id: int
    """The order that filled: a plain order or the child of a triggered algo order."""
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    realized: Decimal
    """Realized PnL of this fill (USDT)."""
    fee: Decimal
    """Commission (USDT)."""
    time_ms: int
