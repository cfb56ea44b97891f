"""Each operation (venue/requests.py) as a program of ccxt.bybit calls, and its reply.

The same contract as venues/binance/operations.py (a generator yields calls.Call and gets its
result, or has the call's ExchangeError thrown in), driven by gateway.py and
async_gateway.py. Every v5 call goes through ccxt's implicit methods with the bodies of
orders.py; ccxt still signs, throttles and raises on `retCode != 0` (errors.py translates).
Bybit acknowledges create / amend / cancel with ids only: the reply is what was asked,
confirmed by the order topic (or a LookupOrder) afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from decimal import Decimal
from typing import Any

from venue.errors import ExchangeFailure, FailureKind
from venue.interface import ExchangeError
from venue.replies import (
    AccountLimits,
    AccountSnapshot,
    MarketRulesInfo,
    OrderInfo,
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
from venue.vocab import OrderKind, OrderStatus
from venues.bybit import orders, vocab
from venues.bybit.calls import Call
from venues.bybit.history import stop_outcome

Program = Generator[Call, Any, Any]
NowMs = Callable[[], int]
CAT = orders.CATEGORY
OPEN_STATUSES = ("New", "PartiallyFilled", "Untriggered", "Triggered", "Active")
"""orderStatus of an order that still works (/v5/order/realtime also serves closed ones)."""
MAX_PAGES = 50
NOT_MODIFIED = 34040
"""trading-stop's "not modified": the position's stops already are what was asked."""
"""A cursor that never ends is a venue fault, not a reason to loop forever."""


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

def _log() -> logging.Logger:
    # Looked up per call: an actor process replaces the logging manager (actors/log.py).
    return logging.getLogger("venues.bybit.gateway")


def _markets(client: Any) -> Generator[Call, Any, None]:
    if not client.markets:
        yield Call("load_markets")


def _market(client: Any, symbol: str) -> Generator[Call, Any, dict[str, Any]]:
    yield from _markets(client)
    for m in (client.markets_by_id or {}).get(symbol) or ():
        if m.get("linear") and m.get("swap"):
            return m
    raise ExchangeError(ExchangeFailure(FailureKind.REJECTED, None,
                                        f"unknown linear symbol {symbol}"))


def market_rules(market: dict[str, Any], symbol: str) -> MarketRulesInfo:
    """Tick size, qty step and minimum qty of a linear market (instruments-info's filters)."""
    info = market["info"]
    return MarketRulesInfo(symbol, Decimal(str(info["priceFilter"]["tickSize"])),
                           Decimal(str(info["lotSizeFilter"]["qtyStep"])),
                           Decimal(str(info["lotSizeFilter"]["minOrderQty"])))


def _result(reply: Any) -> dict[str, Any]:
    result = reply.get("result") if isinstance(reply, dict) else None
    return result if isinstance(result, dict) else {}


def rows(method: str, params: dict[str, Any]) -> Generator[Call, Any, list[dict[str, Any]]]:
    """Every row of a paginated v5 list (result.list, following nextPageCursor)."""
    out: list[dict[str, Any]] = []
    query = dict(params)
    for _ in range(MAX_PAGES):
        result = _result((yield Call(method, (query,))))
        out.extend(r for r in result.get("list") or () if isinstance(r, dict))
        cursor = result.get("nextPageCursor") or ""
        if not cursor or not result.get("list"):
            return out
        query = {**params, "cursor": cursor}
    raise ExchangeError(ExchangeFailure(FailureKind.TEMPORARY, None,
                                        f"{method}: more than {MAX_PAGES} pages"))


def _signed(row: dict[str, Any]) -> Decimal:
    size = Decimal(str(row.get("size") or "0"))
    side = row.get("side") or ""
    return Decimal(0) if side == "" else -size if side == "Sell" else size


def _entry(row: dict[str, Any]) -> Decimal:
    return Decimal(str(row.get("avgPrice") or row.get("entryPrice") or "0"))


# ---- placements

def place_market(client: Any, op: PlaceMarket, now_ms: NowMs) -> Program:
    """A Market order; its state read back once (the ack has ids only): a failed read
    leaves the acknowledged NEW (the order topic brings the fill)."""
    yield from _market(client, op.symbol)
    ack = _result((yield Call("privatePostV5OrderCreate", (orders.market_body(op),),
                              placing=True)))
    info = orders.acknowledged(op, ack, algo=False, order_type=OrderKind.MARKET)
    try:
        found = yield from _find(op.symbol, {"orderLinkId": op.client_id})
    except ExchangeError as e:
        _log().warning("%s placed; its read-back failed (%s): the order topic brings its fill",
                       op.client_id, e)
        return info
    return found or info


def place_stop(client: Any, op: PlaceStop, now_ms: NowMs) -> Program:
    """STOP_MARKET: a reduce-only conditional market order; TRAILING_STOP_MARKET: the
    position-attached trailing stop (trading-stop)."""
    market = yield from _market(client, op.symbol)
    if op.order_type == OrderKind.TRAILING:
        return (yield from _trailing(market, op))
    ack = _result((yield Call("privatePostV5OrderCreate", (orders.stop_body(op),),
                              placing=True)))
    return orders.acknowledged(op, ack, algo=True, order_type=OrderKind.STOP)


def _trailing(market: dict[str, Any], op: PlaceStop) -> Program:
    """trading-stop with the distance of the callback rate at the reference price (the
    activation price, else the mark), then the system TrailingStop order's id."""
    if op.callback_rate_pct is None:
        raise ExchangeError(ExchangeFailure(FailureKind.REJECTED, None,
                                            f"{op.client_id}: trailing without a callback rate"))
    reference = op.activate_price
    if reference is None:
        held = yield from rows("privateGetV5PositionList", {"category": CAT,
                                                             "symbol": op.symbol})
        reference = next((Decimal(str(r["markPrice"])) for r in held
                          if r.get("markPrice") not in (None, "")), None)
        if reference is None:
            raise ExchangeError(ExchangeFailure(FailureKind.TEMPORARY, None,
                                                f"{op.symbol}: no mark price to trail from"))
    tick = market_rules(market, op.symbol).tick_size
    distance = orders.trailing_distance(reference, op.callback_rate_pct, tick)
    unchanged = None
    try:
        yield Call("privatePostV5PositionTradingStop", (orders.trailing_body(op, distance),),
                   placing=True)
    except ExchangeError as e:
        if e.failure.code != NOT_MODIFIED:
            raise
        # The position's trailing stop already is this one (the same distance and activation
        # set again: a re-send after an unknown outcome, Bybit's -4116): placed, if it rests.
        unchanged = e
    info = orders.acknowledged(op, {}, algo=True, order_type=OrderKind.TRAILING)
    try:
        live = yield from rows("privateGetV5OrderRealtime", {"category": CAT,
                                                             "symbol": op.symbol})
    except ExchangeError as e:
        if unchanged is not None:
            raise unchanged from e
        _log().warning("%s trailing stop set; reading its order id failed (%s)",
                       op.client_id, e)
        return info
    system = next((r for r in live if r.get("stopOrderType") in vocab.TRAILING_STOP_TYPES
                   and r.get("orderStatus") in OPEN_STATUSES), None)
    if system is None:
        if unchanged is not None:
            raise unchanged  # "not modified", yet no trailing stop rests: a refusal
        return info
    return OrderInfo(str(system.get("orderId", "")), op.client_id, op.symbol,
                     OrderKind.TRAILING, op.side, OrderStatus.NEW, info.qty, Decimal(0), None,
                     None, True, False, True, op.callback_rate_pct,
                     orders.decimal_or_none(system.get("triggerPrice")) or op.activate_price)


def amend_stop(client: Any, op: AmendStop, now_ms: NowMs) -> Program:
    """/v5/order/amend of the resting conditional order: the stop as amended (the ack has
    ids only; its new trigger and size are what was asked). One attempt (placing): a
    network failure is UNKNOWN_OUTCOME, 110001 NOT_FOUND (it no longer rests)."""
    yield from _market(client, op.symbol)
    ack = _result((yield Call("privatePostV5OrderAmend", (orders.amend_body(op),),
                              placing=True)))
    return OrderInfo(str(ack.get("orderId") or op.algo_id or ""), op.client_id, op.symbol,
                     OrderKind.STOP, "", OrderStatus.NEW, op.qty or Decimal(0), Decimal(0),
                     None, op.trigger_price, True, False, True)


def cancel_stop(client: Any, op: CancelStop, now_ms: NowMs) -> Program:
    """Cancel a conditional order; None if it was already gone (safe to repeat)."""
    yield from _market(client, op.symbol)
    try:
        ack = _result((yield Call("privatePostV5OrderCancel",
                                  (orders.cancel_body(op.symbol, op.algo_id, op.client_id),))))
    except ExchangeError as e:
        if e.failure.kind is FailureKind.NOT_FOUND:
            return None
        raise
    return OrderInfo(str(ack.get("orderId") or op.algo_id or ""),
                     str(ack.get("orderLinkId") or op.client_id), op.symbol, OrderKind.STOP,
                     "", OrderStatus.CANCELED, Decimal(0), Decimal(0), None, None, True,
                     False, True)


# ---- reads

def _find(symbol: str, key: dict[str, Any]) -> Generator[Call, Any, OrderInfo | None]:
    """One order by orderLinkId or orderId: /v5/order/realtime (open and the last 500
    closed), then /v5/order/history; None when neither knows it."""
    for method in ("privateGetV5OrderRealtime", "privateGetV5OrderHistory"):
        reply = yield Call(method, ({"category": CAT, "symbol": symbol, **key},))
        found = [r for r in _result(reply).get("list") or () if isinstance(r, dict)]
        if found:
            return orders.order_info(symbol, found[0])
    return None


def lookup(client: Any, op: LookupOrder, now_ms: NowMs) -> Program:
    """An order by client id (orderLinkId); None if Bybit does not know it."""
    yield from _market(client, op.symbol)
    try:
        return (yield from _find(op.symbol, {"orderLinkId": op.client_id}))
    except ExchangeError as e:
        if e.failure.kind is FailureKind.NOT_FOUND:
            return None
        raise


def fetch_symbol(client: Any, op: FetchSymbol, now_ms: NowMs) -> Program:
    """Position and open orders (plain and conditional, one list on Bybit) of one symbol;
    flat with stops named in `op.explain`: what became of each (history.py)."""
    market = yield from _market(client, op.symbol)
    held = yield from rows("privateGetV5PositionList", {"category": CAT, "symbol": op.symbol})
    amount, entry, mark, changed_ms = Decimal(0), Decimal(0), None, 0
    for r in held:
        if r.get("symbol") == op.symbol and int(r.get("positionIdx") or 0) == 0:
            amount, entry = _signed(r), _entry(r)
            mark = orders.decimal_or_none(r.get("markPrice"))
            changed_ms = venue_ms(r.get("updatedTime"))
    live = yield from rows("privateGetV5OrderRealtime", {"category": CAT, "symbol": op.symbol})
    working = [orders.order_info(op.symbol, r) for r in live
               if r.get("orderStatus") in OPEN_STATUSES]
    history = []
    if amount == 0:
        for ref in op.explain:
            history.append((yield from stop_outcome(op.symbol, ref)))
    return SymbolSnapshot(op.symbol, amount, entry, mark,
                          tuple(o for o in working if not o.algo),
                          tuple(o for o in working if o.algo), now_ms(),
                          market_rules(market, op.symbol), tuple(history), changed_ms)


def positions(client: Any, op: FetchPositions, now_ms: NowMs) -> Program:
    """Every non-flat linear USDT position on the account."""
    yield from _markets(client)
    held = yield from rows("privateGetV5PositionList", {"category": CAT, "settleCoin": "USDT",
                                                         "limit": 200})
    return tuple(PositionInfo(str(r["symbol"]), _signed(r), _entry(r)) for r in held
                 if _signed(r) != 0 and int(r.get("positionIdx") or 0) == 0)


def account(client: Any, op: FetchAccount, now_ms: NowMs) -> Program:
    """Every non-flat position and every open conditional order of the account."""
    fetched = now_ms()
    held = yield from positions(client, FetchPositions(op.reason), now_ms)
    live = yield from rows("privateGetV5OrderRealtime", {"category": CAT, "settleCoin": "USDT",
                                                         "limit": 50})
    algos = tuple(o for o in (orders.order_info(str(r.get("symbol", "")), r) for r in live
                              if r.get("orderStatus") in OPEN_STATUSES) if o.algo)
    return AccountSnapshot(held, algos, fetched)


def limits(client: Any, op: FetchLimits, now_ms: NowMs) -> Program:
    """Bybit publishes no account-wide order budget to read (its limits are per endpoint
    per second, in the response headers): nothing to report, no call made."""
    return AccountLimits(None, None, None)
    yield  # a generator like every program


_PROGRAMS: dict[type, Callable[[Any, Any, NowMs], Program]] = {
    PlaceMarket: place_market, PlaceStop: place_stop, AmendStop: amend_stop,
    CancelStop: cancel_stop, LookupOrder: lookup, FetchSymbol: fetch_symbol,
    FetchPositions: positions, FetchAccount: account, FetchLimits: limits}
