"""Mutable engine records (owned by the engine alone) and their Binance REST renderings."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from system.sim.markets import Market

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

    @property
    def is_open(self) -> bool:
        """Resting and not yet triggered."""
        return self.status == "NEW"


def order_json(o: Order, m: Market) -> dict:
    """/fapi/v1/order reply (RESULT response type) for a plain order."""
    return {
        "orderId": o.order_id, "symbol": o.symbol, "status": o.status,
        "clientOrderId": o.client_id, "price": "0", "avgPrice": m.fmt_price(o.avg_price)
        if o.executed_qty else "0.00", "origQty": m.fmt_qty(o.orig_qty),
        "executedQty": m.fmt_qty(o.executed_qty), "cumQty": m.fmt_qty(o.executed_qty),
        "cumQuote": f"{o.cum_quote:.8f}", "timeInForce": "GTC", "type": o.orig_type
        if o.orig_type == "MARKET" else "MARKET", "reduceOnly": o.reduce_only,
        "closePosition": o.close_position, "side": o.side, "positionSide": "BOTH",
        "stopPrice": m.fmt_price(o.stop_price) if o.stop_price else "0",
        "workingType": o.working_type, "priceProtect": False, "origType": o.orig_type,
        "priceMatch": "NONE", "selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": 0,
        "time": o.time_ms, "updateTime": o.update_ms or o.time_ms,
    }


def algo_json(a: AlgoOrder, m: Market) -> dict:
    """/fapi/v1/algoOrder reply and openAlgoOrders row."""
    return {
        "algoId": a.algo_id, "clientAlgoId": a.client_algo_id, "algoType": "CONDITIONAL",
        "orderType": a.order_type, "symbol": a.symbol, "side": a.side,
        "positionSide": "BOTH", "timeInForce": "GTC", "quantity": m.fmt_qty(a.quantity),
        "algoStatus": a.status, "actualOrderId": str(a.child_id) if a.child_id else "",
        "actualPrice": m.fmt_price(a.fill_price) if a.fill_price else "0",
        "triggerPrice": m.fmt_price(a.trigger_price) if a.trigger_price else "0",
        "price": "0", "icebergQuantity": None, "tpTriggerPrice": "0", "tpPrice": "0",
        "slTriggerPrice": "0", "slPrice": "0", "tpOrderType": "", "selfTradePreventionMode":
        "EXPIRE_MAKER", "workingType": a.working_type, "priceMatch": "NONE",
        "closePosition": a.close_position, "priceProtect": False, "reduceOnly": a.reduce_only,
        "activatePrice": m.fmt_price(a.activate_price) if a.activate_price else "",
        "callbackRate": str(a.callback_rate) if a.callback_rate else "",
        "createTime": a.create_ms, "updateTime": a.update_ms or a.create_ms,
        "triggerTime": a.trigger_ms, "goodTillDate": 0,
    }
