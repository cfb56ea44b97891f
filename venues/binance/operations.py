"""Each operation (venue/requests.py) as a program of ccxt calls, and its reply (venue/replies.py).

The one place that says which calls an operation makes and what its result is: the blocking
gateway (gateway.py) and the asynchronous one (async_gateway.py) both drive these programs
(a generator yields venues.binance.calls.Call and receives its result, or has the call's
ExchangeError thrown in). Placements are single Calls with `placing=True`; everything else is
a read. Needs the client's market list for symbol ids: a program loads it first when absent
(ccxt's own load_markets; the async client shares one load among concurrent callers).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from decimal import Decimal
from typing import Any

from venue.errors import ExchangeFailure, FailureKind
from venue.interface import ExchangeError
from venue.replies import (
    AccountLimits,
    AccountSnapshot,
    MarketRulesInfo,
    PositionInfo,
    SymbolSnapshot,
    venue_ms,
)
from venue.requests import (
    AmendStop,
    CancelStop,
    FetchAccount,
    FetchLimits,
    FetchPositions,
    FetchSymbol,
    LookupOrder,
    PlaceMarket,
    PlaceStop,
)
from venues.binance.calls import Call
from venues.binance.history import stop_outcome
from venues.binance.orders import decimal_or_none, market_params, order_info, stop_params

Program = Generator[Call, Any, Any]
NowMs = Callable[[], int]


def program(client: Any, op: Any, now_ms: NowMs) -> Program:
    """The program of one operation message; TypeError (before any call) for an unknown one."""
    build = _PROGRAMS.get(type(op))
    if build is None:
        raise TypeError(f"unknown exchange operation {type(op).__name__}")
    return build(client, op, now_ms)


def warm_up(client: Any) -> Program:
    """Load the market list (once per client, before its first order); its size."""
    yield from _markets(client)
    return len(client.markets_by_id or {})


# ---- plumbing

def _markets(client: Any) -> Generator[Call, Any, None]:
    if not client.markets:
        yield Call("load_markets")


def _unified(client: Any, symbol: str) -> Generator[Call, Any, str]:
    yield from _markets(client)
    market = (client.markets_by_id or {}).get(symbol)
    if not market:
        raise ExchangeError(ExchangeFailure(FailureKind.REJECTED, -1121,
                                            f"unknown symbol {symbol}"))
    return market[0]["symbol"]


def market_rules(client: Any, symbol: str) -> MarketRulesInfo:
    """Tick size, step size and minimum quantity of `symbol` (markets loaded)."""
    info = client.markets[client.markets_by_id[symbol][0]["symbol"]]["info"]
    filters = {f.get("filterType"): f for f in info.get("filters", [])}
    return MarketRulesInfo(symbol, Decimal(filters["PRICE_FILTER"]["tickSize"]),
                           Decimal(filters["LOT_SIZE"]["stepSize"]),
                           Decimal(filters["LOT_SIZE"]["minQty"]))


# ---- operations

def place_market(client: Any, op: PlaceMarket, now_ms: NowMs) -> Program:
    """A MARKET order (reduce-only for closes)."""
    unified = yield from _unified(client, op.symbol)
    order = yield Call("create_order", (unified, "market", op.side.lower(), float(op.qty), None,
                                        market_params(op)), placing=True)
    return order_info(op.symbol, order["info"], algo=False)


def place_stop(client: Any, op: PlaceStop, now_ms: NowMs) -> Program:
    """A reduce-only STOP_MARKET or TRAILING_STOP_MARKET algo order."""
    unified = yield from _unified(client, op.symbol)
    order = yield Call("create_order", (unified, "market", op.side.lower(), float(op.qty), None,
                                        stop_params(op)), placing=True)
    return order_info(op.symbol, order["info"], algo=True)


def cancel_stop(client: Any, op: CancelStop, now_ms: NowMs) -> Program:
    """Cancel an algo order; None if it was already gone (safe to repeat)."""
    unified = yield from _unified(client, op.symbol)
    params: dict[str, Any] = {"trigger": True}
    if op.algo_id is None:
        params["clientAlgoId"] = op.client_id
    try:
        reply = yield Call("cancel_order", (op.algo_id, unified, params))
    except ExchangeError as e:
        if e.failure.kind is FailureKind.NOT_FOUND:
            return None
        raise
    info = dict(reply.get("info") or {})
    info.setdefault("algoStatus", "CANCELED")
    info.setdefault("symbol", op.symbol)
    return order_info(op.symbol, info, algo=True)


def lookup(client: Any, op: LookupOrder, now_ms: NowMs) -> Program:
    """An order by client id; None if the exchange does not know it."""
    unified = yield from _unified(client, op.symbol)
    params: dict[str, Any] = {"clientOrderId": op.client_id}
    if op.algo:
        params["trigger"] = True
    try:
        order = yield Call("fetch_order", (None, unified, params))
    except ExchangeError as e:
        if e.failure.kind is FailureKind.NOT_FOUND:
            return None
        raise
    return order_info(op.symbol, order["info"], algo=op.algo)


def fetch_symbol(client: Any, op: FetchSymbol, now_ms: NowMs) -> Program:
    """Position, open orders and open algo orders of one symbol; flat with stops named in
    `op.explain`: also what the history says about each (venues/binance/history.py)."""
    unified = yield from _unified(client, op.symbol)
    positions = yield Call("fetch_positions", ([unified],))
    amount, entry, mark, changed_ms = Decimal(0), Decimal(0), None, 0
    for p in positions:
        info = p.get("info") or {}
        if info.get("symbol") == op.symbol and info.get("positionSide", "BOTH") == "BOTH":
            amount = Decimal(str(info.get("positionAmt", "0")))
            entry = Decimal(str(info.get("entryPrice", "0")))
            mark = decimal_or_none(info.get("markPrice"))
            changed_ms = venue_ms(info.get("updateTime"))
    plain = yield Call("fetch_open_orders", (unified,))
    algo = yield Call("fetch_open_orders", (unified, None, None, {"trigger": True}))
    history = []
    if amount == 0:
        for ref in op.explain:
            history.append((yield from stop_outcome(unified, ref)))
    return SymbolSnapshot(
        op.symbol, amount, entry, mark,
        tuple(order_info(op.symbol, o["info"], algo=False) for o in plain),
        tuple(order_info(op.symbol, o["info"], algo=True) for o in algo),
        now_ms(), market_rules(client, op.symbol), tuple(history), changed_ms)


def positions(client: Any, op: FetchPositions, now_ms: NowMs) -> Program:
    """Every non-flat position on the account (the periodic reconciler)."""
    yield from _markets(client)
    rows = yield Call("fetch_positions")
    out = []
    for p in rows:
        info = p.get("info") or {}
        amount = Decimal(str(info.get("positionAmt", "0")))
        if amount != 0:
            out.append(PositionInfo(info["symbol"], amount,
                                    Decimal(str(info.get("entryPrice", "0")))))
    return tuple(out)


def account(client: Any, op: FetchAccount, now_ms: NowMs) -> Program:
    """Every non-flat position and every open algo order of the account (the sweep's stop
    check): GET positionRisk, then GET openAlgoOrders without a symbol (weight 40) through
    ccxt's implicit method, since its fetch_open_orders refuses a call with no symbol."""
    fetched = now_ms()  # before the reads: nothing that changed later is in them
    held = yield from positions(client, FetchPositions(op.reason), now_ms)
    rows = yield Call("fapiPrivateGetOpenAlgoOrders", ({},))
    orders = tuple(order_info(str(r.get("symbol", "")), r, algo=True) for r in rows or ())
    return AccountSnapshot(held, orders, fetched)


def limits(client: Any, op: FetchLimits, now_ms: NowMs) -> Program:
    """The rate limits exchangeInfo publishes (ORDERS 10 s / 1 min, REQUEST_WEIGHT 1 min).

    These are the venue's defaults; an account with other limits sees them in
    GET /fapi/v1/rateLimit/order (not read yet: the configured budget stays the ceiling).
    """
    info = yield Call("fapiPublicGetExchangeInfo")
    found: dict[tuple[str, str, int], int] = {}
    for r in info.get("rateLimits") or []:
        key = (str(r.get("rateLimitType")), str(r.get("interval")),
               int(r.get("intervalNum") or 0))
        found[key] = int(r["limit"])
    return AccountLimits(found.get(("ORDERS", "SECOND", 10)),
                         found.get(("ORDERS", "MINUTE", 1)),
                         found.get(("REQUEST_WEIGHT", "MINUTE", 1)))


def amend_stop(client: Any, op: AmendStop, now_ms: NowMs) -> Program:
    """Refused without a call: Binance's algo orders cannot be modified (Capabilities
    .amend_in_place is False; the engine moves a stop new-first + cancel there). REJECTED
    leaves the old stop resting, as any refused amend does."""
    raise ExchangeError(ExchangeFailure(
        FailureKind.REJECTED, None,
        f"binanceusdm cannot amend stop {op.client_id} in place (amend_in_place is False)"))
    yield  # a generator like every program


_PROGRAMS: dict[type, Callable[[Any, Any, NowMs], Program]] = {
    PlaceMarket: place_market, PlaceStop: place_stop, AmendStop: amend_stop,
    CancelStop: cancel_stop,
    LookupOrder: lookup, FetchSymbol: fetch_symbol, FetchPositions: positions,
    FetchAccount: account, FetchLimits: limits}
