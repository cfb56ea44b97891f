"""Bybit v5 REST renderings: instruments, tickers, orders, positions, the wallet.

Field sets from bybit-linear.md "Endpoints ccxt calls" and Bybit's docs pages it cites
(market/instrument.mdx, order/open-order.mdx, position/position.mdx, account/wallet-balance.mdx).
Numbers are strings, times ms strings, as Bybit sends them.
"""

from __future__ import annotations

from decimal import Decimal

from system.sim.bybit.ids import order_id
from system.sim.markets import Market
from system.sim.model import ZERO, AlgoOrder, Order
from system.sim.views import MAINT_MARGIN_RATE

LAUNCH_MS = "1585526400000"
MAX_LEVERAGE = "100.00"
_PLAIN_STATUS = {"NEW": "New", "PARTIALLY_FILLED": "PartiallyFilled", "FILLED": "Filled",
                 "CANCELED": "Cancelled", "EXPIRED": "Cancelled"}
_ALGO_STATUS = {"NEW": "Untriggered", "TRIGGERING": "Triggered", "TRIGGERED": "Triggered",
                "FINISHED": "Filled", "CANCELED": "Deactivated", "EXPIRED": "Deactivated"}
_CREATE_TYPE = {"": "CreateByUser", "StopLoss": "CreateByStopLoss",
                "TrailingStop": "CreateByTrailingStop"}


def _n(x: Decimal) -> str:
    return format(x.normalize(), "f") if x else "0"


def side(engine_side: str) -> str:
    """BUY / SELL -> Buy / Sell."""
    return "Buy" if engine_side == "BUY" else "Sell"


def instrument(m: Market) -> dict:
    """One row of GET /v5/market/instruments-info?category=linear."""
    return {
        "symbol": m.symbol, "contractType": "LinearPerpetual", "status": "Trading",
        "baseCoin": m.base, "quoteCoin": "USDT", "settleCoin": "USDT",
        "launchTime": LAUNCH_MS, "deliveryTime": "0", "deliveryFeeRate": "",
        "priceScale": str(max(0, -m.tick.normalize().as_tuple().exponent)),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": MAX_LEVERAGE,
                           "leverageStep": "0.01"},
        "priceFilter": {"minPrice": str(m.tick), "maxPrice": "1999999.80",
                        "tickSize": str(m.tick)},
        "lotSizeFilter": {"maxOrderQty": str(m.max_qty), "minOrderQty": str(m.step),
                          "qtyStep": str(m.step), "maxMktOrderQty": str(m.max_qty),
                          "minNotionalValue": str(m.min_notional),
                          "postOnlyMaxOrderQty": str(m.max_qty)},
        "unifiedMarginTrade": True, "fundingInterval": 480, "copyTrading": "both",
        "upperFundingRate": "0.005", "lowerFundingRate": "-0.005", "isPreListing": False,
        "preListingInfo": None,
    }


def ticker(engine, symbol: str, now_ms: int) -> dict:
    """One row of GET /v5/market/tickers?category=linear."""
    m = engine.markets[symbol]
    last, mark = m.fmt_price(engine.prices[symbol]), m.fmt_price(engine.marks[symbol])
    next_funding = (now_ms // 28_800_000 + 1) * 28_800_000
    return {"symbol": symbol, "lastPrice": last, "indexPrice": mark, "markPrice": mark,
            "prevPrice24h": last, "price24hPcnt": "0", "highPrice24h": last,
            "lowPrice24h": last, "prevPrice1h": last, "openInterest": "0",
            "openInterestValue": "0", "turnover24h": "0", "volume24h": "0",
            "fundingRate": "0.0001", "nextFundingTime": str(next_funding),
            "predictedDeliveryPrice": "", "basisRate": "", "deliveryFeeRate": "",
            "deliveryTime": "0", "ask1Size": "1", "bid1Price": last, "ask1Price": last,
            "bid1Size": "1", "basis": ""}


def _order_base(m: Market, oid: int, link: str, o_side: str, qty: Decimal, status: str,
                created: int, updated: int) -> dict:
    return {
        "orderId": order_id(oid), "orderLinkId": link, "blockTradeId": "",
        "symbol": m.symbol, "price": "0", "qty": m.fmt_qty(qty), "side": side(o_side),
        "isLeverage": "", "positionIdx": 0, "orderStatus": status, "cancelType": "UNKNOWN",
        "rejectReason": "EC_NoError", "timeInForce": "IOC", "orderType": "Market",
        "stopOrderType": "", "orderIv": "", "triggerPrice": "", "takeProfit": "",
        "stopLoss": "", "tpTriggerBy": "", "slTriggerBy": "", "triggerDirection": 0,
        "triggerBy": "", "lastPriceOnCreated": "", "reduceOnly": False,
        "closeOnTrigger": False, "smpType": "None", "smpGroup": 0, "smpOrderId": "",
        "tpslMode": "", "tpLimitPrice": "", "slLimitPrice": "", "placeType": "",
        "createType": "CreateByUser", "createdTime": str(created),
        "updatedTime": str(updated), "category": "linear"}


def _fills(row: dict, m: Market, o: Order | None, qty: Decimal, fee_pct: Decimal) -> dict:
    executed = o.executed_qty if o is not None else ZERO
    value = o.cum_quote if o is not None else ZERO
    fee = value * fee_pct / 100  # every fill is a taker fill at the ledger's rate
    row.update({"cumExecQty": m.fmt_qty(executed), "cumExecValue": _n(value),
                "cumExecFee": _n(fee), "cumFeeDetail": {"USDT": _n(fee)} if executed else {},
                "leavesQty": m.fmt_qty(max(ZERO, qty - executed)) if row["orderStatus"] in (
                    "New", "PartiallyFilled", "Untriggered") else "0",
                "leavesValue": "0",
                "avgPrice": m.fmt_price(o.avg_price) if o is not None and executed else ""})
    return row


def plain_order(o: Order, m: Market, fee_pct: Decimal) -> dict:
    """A market order (never a conditional's child: those show as their conditional)."""
    row = _order_base(m, o.order_id, o.client_id, o.side, o.orig_qty,
                      _PLAIN_STATUS.get(o.status, "New"), o.time_ms, o.update_ms or o.time_ms)
    row["reduceOnly"] = o.reduce_only
    return _fills(row, m, o, o.orig_qty, fee_pct)


def conditional_order(a: AlgoOrder, m: Market, child: Order | None,
                      fee_pct: Decimal) -> dict:
    """A conditional order or a position-attached stop, through its whole life."""
    row = _order_base(m, a.algo_id, a.client_algo_id, a.side, a.quantity,
                      _ALGO_STATUS.get(a.status, "Untriggered"), a.create_ms,
                      a.update_ms or a.create_ms)
    trigger = a.trigger_price
    if a.attached == "TrailingStop" and not a.activated:
        trigger = a.activate_price  # docs: a TrailingStop order's triggerPrice is its activation
    row.update({
        "stopOrderType": a.attached or "Stop",
        "triggerPrice": m.fmt_price(trigger) if trigger else "0",
        "triggerDirection": a.trigger_direction or (2 if a.side == "SELL" else 1),
        "triggerBy": "MarkPrice" if a.working_type == "MARK_PRICE" else "LastPrice",
        "reduceOnly": a.reduce_only, "closeOnTrigger": True if a.attached else a.close_position,
        "createType": _CREATE_TYPE.get(a.attached, "CreateByUser"),
        "tpslMode": "Full" if a.attached else ""})
    if a.status in ("CANCELED", "EXPIRED"):
        row["cancelType"] = a.cancel_type or "CancelByUser"
    if a.attached == "StopLoss":
        row["stopLoss"] = row["triggerPrice"]
        row["slTriggerBy"] = row["triggerBy"]
    return _fills(row, m, child, a.quantity, fee_pct)


def position(engine, symbol: str, now_ms: int) -> dict:
    """One row of GET /v5/position/list (flat: side "", size "0")."""
    m = engine.markets[symbol]
    p = engine.ledger.position(symbol)
    mark = engine.marks[symbol]
    lev = engine.ledger.leverage_of(symbol)
    amt = p.amt
    value = abs(amt) * mark
    upnl = (mark - p.entry) * amt if amt else ZERO
    tpsl = engine.tpsl(symbol)
    return {
        "positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": symbol,
        "side": "" if amt == 0 else ("Buy" if amt > 0 else "Sell"),
        "size": m.fmt_qty(abs(amt)) if amt else "0",
        "avgPrice": m.fmt_price(p.entry) if amt else "0",
        "positionValue": _n(abs(amt) * p.entry) if amt else "0",
        "tradeMode": 0, "positionStatus": "Normal", "autoAddMargin": 0, "adlRankIndicator":
        2 if amt else 0, "leverage": str(lev), "positionBalance": "0",
        "markPrice": m.fmt_price(mark), "liqPrice": "", "bustPrice": "",
        "positionMM": _n(value * MAINT_MARGIN_RATE), "positionIM": _n(value / lev),
        "tpslMode": "Full", "takeProfit": "0", "stopLoss": tpsl["stopLoss"],
        "trailingStop": tpsl["trailingStop"], "unrealisedPnl": _n(upnl),
        "curRealisedPnl": _n(p.realized), "cumRealisedPnl": _n(p.realized),
        "seq": p.update_ms, "isReduceOnly": False, "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "", "sessionAvgPrice": "",
        "createdTime": str(p.update_ms or now_ms), "updatedTime": str(p.update_ms or now_ms)}


def wallet(engine) -> dict:
    """GET /v5/account/wallet-balance?accountType=UNIFIED: one USDT coin row."""
    led = engine.ledger
    upnl = led.unrealized(engine.marks)
    im = led.initial_margin(engine.marks)
    mm = sum((abs(p.amt) * engine.marks[p.symbol] * MAINT_MARGIN_RATE
              for p in led.positions.values() if p.amt), ZERO)
    equity = led.wallet + upnl
    avail = led.available(engine.marks)
    coin = {"coin": "USDT", "equity": _n(equity), "usdValue": _n(equity),
            "walletBalance": _n(led.wallet), "locked": "0", "totalPositionIM": _n(im),
            "totalOrderIM": "0", "totalPositionMM": _n(mm), "unrealisedPnl": _n(upnl),
            "cumRealisedPnl": _n(sum((p.realized for p in led.positions.values()), ZERO)),
            "borrowAmount": "0", "accruedInterest": "0",
            # Deprecated for UNIFIED since 2025-01-09 (wallet.mdx): "" makes ccxt compute free.
            "availableToWithdraw": "", "availableToBorrow": "", "bonus": "0",
            "marginCollateral": True, "collateralSwitch": True, "spotHedgingQty": "0"}
    return {"list": [{
        "accountType": "UNIFIED", "totalEquity": _n(equity), "totalWalletBalance":
        _n(led.wallet), "totalMarginBalance": _n(equity), "totalAvailableBalance": _n(avail),
        "totalPerpUPL": _n(upnl), "totalInitialMargin": _n(im),
        "totalMaintenanceMargin": _n(mm), "accountIMRate": "0", "accountMMRate": "0",
        "accountLTV": "0", "coin": [coin]}]}
