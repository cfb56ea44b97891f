"""The simulated instruments: filters, starting prices and exchangeInfo / bracket shapes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

TRIGGER_PROTECT = Decimal("0.0500")
"""exchangeInfo `triggerProtect`: the largest mark/contract gap a priceProtect order fires at."""


@dataclass(frozen=True, slots=True)
class Market:
    """One USDT-M perpetual as the simulator trades it."""

    symbol: str
    """Binance id, e.g. BTCUSDT."""
    base: str
    """Base asset, e.g. BTC."""
    tick: Decimal
    """PRICE_FILTER tickSize."""
    step: Decimal
    """LOT_SIZE stepSize (also minQty)."""
    start_price: Decimal
    """Price of the path at time zero and after reset."""
    min_notional: Decimal
    """MIN_NOTIONAL notional for orders that are not reduce-only (USDT)."""
    max_qty: Decimal = Decimal("1000000")
    """LOT_SIZE maxQty."""

    def price_ok(self, price: Decimal) -> bool:
        """Whether `price` is a positive multiple of the tick size."""
        return price > 0 and price % self.tick == 0

    def qty_ok(self, qty: Decimal) -> bool:
        """Whether `qty` is a multiple of the step size."""
        return qty % self.step == 0

    def round_price(self, price: Decimal) -> Decimal:
        """Nearest tick (at least one tick: the walk never reaches zero)."""
        # Explicit rounding: ccxt sets the thread's decimal context to ROUND_HALF_UP whenever it
        # formats a number, so the context's mode depends on what ran before in the process.
        ticks = (price / self.tick).to_integral_value(rounding=ROUND_HALF_EVEN)
        return (max(ticks, Decimal(1)) * self.tick).quantize(self.tick)

    def floor_qty(self, qty: Decimal) -> Decimal:
        """Truncate to the step size."""
        return (qty / self.step).to_integral_value(rounding=ROUND_DOWN) * self.step

    def fmt_price(self, price: Decimal) -> str:
        """Price rendered with the tick's decimals, as Binance does."""
        return str(price.quantize(self.tick))

    def fmt_qty(self, qty: Decimal) -> str:
        """Quantity rendered with the step's decimals."""
        return str(qty.quantize(self.step))


def _m(symbol: str, tick: str, step: str, price: str, notional: str = "5") -> Market:
    return Market(symbol, symbol[:-4], Decimal(tick), Decimal(step), Decimal(price),
                  Decimal(notional))


# Ticks and steps follow Binance's live filters for these symbols (2025); the three small
# coins are the symbols of the field incidents, kept so their replays run unchanged.
DEFAULT_MARKETS: tuple[Market, ...] = (
    _m("BTCUSDT", "0.10", "0.001", "60000.00", "100"),
    _m("ETHUSDT", "0.01", "0.001", "3000.00", "20"),
    _m("SOLUSDT", "0.0100", "0.01", "150.0000"),
    _m("BNBUSDT", "0.010", "0.01", "600.000"),
    _m("XRPUSDT", "0.0001", "0.1", "0.6000"),
    _m("RSRUSDT", "0.000001", "1", "0.006500"),
    _m("BASUSDT", "0.00001", "1", "0.05000"),
    _m("SKLUSDT", "0.00001", "1", "0.03000"),
)


def build_markets(synthetic: int) -> dict[str, Market]:
    """The default markets plus `synthetic` extra symbols SYM0001USDT.. for scale benches."""
    markets = {m.symbol: m for m in DEFAULT_MARKETS}
    for n in range(1, synthetic + 1):
        sym = f"SYM{n:04d}USDT"
        markets[sym] = _m(sym, "0.0001", "1", "1.0000")
    return markets


ORDER_TYPES = ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
               "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"]


def symbol_info(m: Market) -> dict:
    """One entry of exchangeInfo.symbols in Binance's shape."""
    price_prec = max(0, -m.tick.normalize().as_tuple().exponent)
    qty_prec = max(0, -m.step.normalize().as_tuple().exponent)
    return {
        "symbol": m.symbol, "pair": m.symbol, "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000, "onboardDate": 1569398400000, "status": "TRADING",
        "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
        "baseAsset": m.base, "quoteAsset": "USDT", "marginAsset": "USDT",
        "pricePrecision": price_prec, "quantityPrecision": qty_prec,
        "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN",
        "underlyingSubType": [], "settlePlan": 0, "triggerProtect": str(TRIGGER_PROTECT),
        "liquidationFee": "0.012500", "marketTakeBound": "0.05",
        "filters": [
            {"filterType": "PRICE_FILTER", "tickSize": str(m.tick),
             "minPrice": str(m.tick), "maxPrice": "10000000"},
            {"filterType": "LOT_SIZE", "stepSize": str(m.step), "minQty": str(m.step),
             "maxQty": str(m.max_qty)},
            {"filterType": "MARKET_LOT_SIZE", "stepSize": str(m.step), "minQty": str(m.step),
             "maxQty": str(m.max_qty)},
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": str(m.min_notional)},
            {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500",
             "multiplierDown": "0.9500", "multiplierDecimal": "4"},
        ],
        "orderTypes": list(ORDER_TYPES),
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
    }


def exchange_info(markets: dict[str, Market], now_ms: int, weight_per_min: int = 2400,
                  orders_per_min: int = 1200, orders_per_10s: int = 300) -> dict:
    """GET /fapi/v1/exchangeInfo; `rateLimits` are the limits this simulator enforces."""
    return {
        "timezone": "UTC", "serverTime": now_ms,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": weight_per_min},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1,
             "limit": orders_per_min},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
             "limit": orders_per_10s},
        ],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [symbol_info(m) for m in markets.values()],
    }


def leverage_bracket(m: Market) -> dict:
    """One entry of GET /fapi/v1/leverageBracket (a single bracket is enough for ccxt)."""
    return {"symbol": m.symbol, "notionalCoef": 1.0, "brackets": [
        {"bracket": 1, "initialLeverage": 125, "notionalCap": 50_000_000, "notionalFloor": 0,
         "maintMarginRatio": 0.004, "cum": 0.0}]}
