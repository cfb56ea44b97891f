"""What an exchange answers: orders, positions, a symbol's or the account's truth from REST,
its trading rules, its rate limits, a stop's history."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class OrderInfo:
    """An order as the exchange reports it (plain or algo)."""

    order_id: str
    """Exchange id (orderId or algoId)."""
    client_id: str
    """Client id."""
    symbol: str
    """Exchange symbol."""
    order_type: str
    """MARKET, STOP_MARKET, TRAILING_STOP_MARKET, ..."""
    side: str
    """BUY or SELL."""
    status: str
    """Exchange status (NEW, FILLED, CANCELED, ...)."""
    qty: Decimal
    """Order quantity."""
    filled_qty: Decimal
    """Filled quantity."""
    avg_price: Decimal | None
    """Average fill price."""
    trigger_price: Decimal | None
    """Stop trigger price, if any."""
    reduce_only: bool
    """Reduce-only flag."""
    close_position: bool
    """closePosition flag."""
    algo: bool
    """True for algo (conditional) orders."""
    callback_rate_pct: Decimal | None = None
    """TRAILING_STOP_MARKET callbackRate, percent (None otherwise)."""
    activate_price: Decimal | None = None
    """TRAILING_STOP_MARKET activatePrice (None when it had none, or otherwise)."""


@dataclass(frozen=True, slots=True)
class SymbolSnapshot:
    """The exchange's truth for one symbol, from REST."""

    symbol: str
    """Exchange symbol."""
    amount: Decimal
    """Signed position amount (0 = flat)."""
    entry_price: Decimal
    """Entry price (0 when flat)."""
    mark_price: Decimal | None
    """Mark price, if reported."""
    open_orders: tuple[OrderInfo, ...]
    """Open plain orders."""
    open_algo_orders: tuple[OrderInfo, ...]
    """Open algo (stop) orders."""
    fetched_ms: int
    """When the snapshot was taken."""
    rules: MarketRulesInfo | None = None
    """The symbol's trading rules (from the cached market list)."""
    stop_history: tuple[StopOutcome, ...] = ()
    """Flat while FetchSymbol.explain named stops: what the history says about each."""
    position_ms: int = 0
    """The venue's time of the position's last change (Binance positionRisk `updateTime`,
    Bybit `updatedTime`); 0 when it gives none. A stream report older than it is stale."""


@dataclass(frozen=True, slots=True)
class MarketRulesInfo:
    """A symbol's trading rules, from the exchange's market list."""

    symbol: str
    """Exchange symbol."""
    tick_size: Decimal
    """Price increment."""
    step_size: Decimal
    """Quantity increment."""
    min_qty: Decimal
    """Smallest quantity."""


@dataclass(frozen=True, slots=True)
class StopOutcome:
    """What the exchange's history says about one of our stops (GET algoOrder + userTrades)."""

    client_id: str
    """Client algo id."""
    algo_id: str | None
    """Exchange algo id."""
    order_type: str
    """STOP_MARKET or TRAILING_STOP_MARKET."""
    found: bool
    """False: the exchange does not know it (never placed, or purged from its history)."""
    status: str | None = None
    """algoStatus: NEW, CANCELED, TRIGGERED, FINISHED, EXPIRED, ..."""
    child_order_id: str | None = None
    """actualOrderId: the market order the stop became when it triggered."""
    fill_qty: Decimal = Decimal(0)
    """Quantity the child order filled (sum of its trades)."""
    fill_price: Decimal | None = None
    """Average fill price of those trades (None: no trade found)."""
    realized_pnl: Decimal | None = None
    """Sum of the trades' realizedPnl (None: not reported)."""
    commission: Decimal | None = None
    """Sum of the trades' commission."""
    commission_asset: str | None = None
    """The commission's asset."""
    fill_time_ms: int | None = None
    """The exchange's time of the last trade."""
    trades: int = 0
    """How many trades."""
    error: str | None = None
    """Why the history could not be read (the lookup failed after its retries)."""


@dataclass(frozen=True, slots=True)
class PositionInfo:
    """One non-flat position on the account."""

    symbol: str
    """Exchange symbol."""
    amount: Decimal
    """Signed position amount."""
    entry_price: Decimal
    """Entry price."""


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """The answer to FetchAccount."""

    positions: tuple[PositionInfo, ...]
    """Every non-flat position."""
    algo_orders: tuple[OrderInfo, ...]
    """Every open algo (conditional) order of the account, any symbol, anyone's."""
    fetched_ms: int
    """Engine time just before the first read: nothing that changed later is in it."""


@dataclass(frozen=True, slots=True)
class AccountLimits:
    """The rate limits the exchange publishes (None: it published none of that kind)."""

    orders_per_10s: int | None
    """ORDERS per 10 SECOND."""
    orders_per_min: int | None
    """ORDERS per 1 MINUTE."""
    weight_per_min: int | None
    """REQUEST_WEIGHT per 1 MINUTE."""


def venue_ms(value: Any) -> int:
    """A venue timestamp in ms (a number or a numeric string) as an int; 0 when it is absent
    or not a whole non-negative number (the time is then unknown, never guessed)."""
    try:
        ms = int(str(value))
    except (TypeError, ValueError):
        return 0
    return max(ms, 0)
