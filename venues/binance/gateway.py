"""The Binance USD-M gateway: the only place that talks to ccxt.

- Paper mode points an unmodified `ccxt.binanceusdm` at the simulator; live mode at Binance
  with keys from the environment.
- ccxt errors are translated once (venues/binance/errors.py) into errors grouped by
  remedy (FailureKind).
- Order placement is never retried: a timeout becomes UNKNOWN_OUTCOME and the caller looks
  the order up by its deterministic client id. Reads retry with jittered exponential backoff.
- Account-wide order budgets are enforced by the caller (the exchange pool), not here; the
  gateway reports what the venue said about them after every call (rate_usage: the
  X-MBX-* headers, and a 429/418 with its Retry-After), and never retries into a 429/418.
Runs only inside exchange worker processes (ccxt costs ~64 MB of memory per process).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import ccxt

from venue.errors import ExchangeFailure, FailureKind, RateUsage
from venue.interface import ExchangeError
from venue.replies import (
    AccountLimits,
    AccountSnapshot,
    MarketRulesInfo,
    OrderInfo,
    PositionInfo,
    SymbolSnapshot,
)
from venue.requests import (
    CancelStop,
    FetchAccount,
    FetchLimits,
    FetchPositions,
    FetchSymbol,
    LookupOrder,
    PlaceMarket,
    PlaceStop,
)
from venues.binance.errors import rate_usage, translate
from venues.binance.history import stop_outcome
from venues.binance.hosts import VENUES
from venues.binance.orders import decimal_or_none, market_params, order_info, stop_params

T = TypeVar("T")


def _log() -> logging.Logger:
    # Looked up per call: a Thespian actor process replaces the logging manager when it
    # starts, so a logger fetched at import time writes nowhere (actors/log.py).
    return logging.getLogger(__name__)


def build_client(*, venue: str, base_url: str | None, api_key: str, secret: str,
                 timeout_ms: int) -> ccxt.binanceusdm:
    """A sync ccxt.binanceusdm for `venue`, at `base_url` instead of its hosts when given.

    The venue switch is ccxt's own (demo: `enable_demo_trading`, testnet: sandbox mode), so
    the hosts are the ones ccxt's maintainers keep current; `base_url` (the simulator, or
    exchange.rest_url) then replaces only the host of each USD-M URL.
    """
    if venue not in (*VENUES, "simulator"):
        raise ValueError(f"unknown venue {venue!r}")
    from venues.binance.ccxt_factory import new_binanceusdm, point_at
    client = new_binanceusdm(api_key, secret, timeout_ms)
    if venue == "demo":
        client.enable_demo_trading(True)
    elif venue == "testnet":
        # ccxt 4.5.90 refuses signed calls on the futures testnet unless told otherwise: it
        # calls it deprecated in favour of Demo Trading. Binance still serves it, so posguard
        # still reaches it when asked to (and `posguard check` says which venue it is on).
        client.set_sandbox_mode(True)
        client.options["disableFuturesSandboxWarning"] = True
    if base_url is not None:
        point_at(client, base_url)
    if venue == "simulator":
        # ccxt's throttle spaces a client's requests 50 ms apart (Binance's request weight);
        # in paper mode it would only add queueing (4 workers = 80 requests/s): the pool's
        # order budget and the server's own rate-limit headers pace the engine instead.
        client.enableRateLimit = False
    return client


class Gateway:
    """Typed exchange operations over one ccxt client (one per worker process)."""

    def __init__(self, client: ccxt.binanceusdm, *, read_attempts: int = 4,
                 backoff_base_secs: float = 0.2, sleep: Callable[[float], None] = time.sleep,
                 now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._ex = client
        self._read_attempts = read_attempts
        self._backoff = backoff_base_secs
        self._sleep = sleep
        self._now_ms = now_ms
        self._refusal: ExchangeFailure | None = None

    # ---- the venue's rate-limit counters (read by the worker after every call)

    def begin_call(self) -> None:
        """Forget the previous call's headers: a call that gets no response reports none."""
        self._ex.last_response_headers = None
        self._refusal = None

    def rate_usage(self) -> RateUsage | None:
        """The last response's counters, and its 429/418 refusal if it was one."""
        return rate_usage(self._ex.last_response_headers, self._refusal)

    def _translate(self, e: Exception, *, placing: bool) -> ExchangeError:
        err = translate(e, placing=placing, headers=self._ex.last_response_headers)
        if err.failure.http_status is not None:
            self._refusal = err.failure
        return err

    # ---- plumbing

    def _unified(self, symbol: str) -> str:
        self._ensure_markets()
        market = self._ex.markets_by_id.get(symbol)
        if not market:
            raise ExchangeError(ExchangeFailure(FailureKind.REJECTED, -1121,
                                                f"unknown symbol {symbol}"))
        return market[0]["symbol"]

    def _ensure_markets(self) -> None:
        if not self._ex.markets:
            self._read(self._ex.load_markets)

    def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """A safe-to-repeat call: retried on TEMPORARY errors with jittered backoff."""
        for attempt in range(1, self._read_attempts + 1):
            try:
                return fn(*args)
            except ccxt.BaseError as e:
                err = self._translate(e, placing=False)
                # A 429/418 is never retried here: the pool pauses for its Retry-After (one
                # more request into a 429 is how an IP earns a 418 ban).
                if err.failure.kind not in (FailureKind.TEMPORARY, FailureKind.UNKNOWN_OUTCOME) \
                        or err.failure.http_status is not None \
                        or attempt == self._read_attempts:
                    raise err from e
                delay = self._backoff * (2 ** (attempt - 1)) * (0.5 + random.random())
                _log().warning("exchange read failed (%s), retry %d in %.2fs", err, attempt,
                               delay)
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _place(self, fn: Callable[..., T], *args: Any) -> T:
        """An order-creating call: exactly one attempt (see module docstring)."""
        try:
            return fn(*args)
        except ccxt.BaseError as e:
            raise self._translate(e, placing=True) from e

    # ---- operations

    def warm_up(self) -> int:
        """Load the market list (a worker does this once, before its first order); its size."""
        self._ensure_markets()
        return len(self._ex.markets_by_id or {})

    def market_rules(self, symbol: str) -> MarketRulesInfo:
        """Tick size, step size and minimum quantity of `symbol`."""
        unified = self._unified(symbol)
        info = self._ex.markets[unified]["info"]
        filters = {f.get("filterType"): f for f in info.get("filters", [])}
        return MarketRulesInfo(symbol, Decimal(filters["PRICE_FILTER"]["tickSize"]),
                               Decimal(filters["LOT_SIZE"]["stepSize"]),
                               Decimal(filters["LOT_SIZE"]["minQty"]))

    def place_market(self, op: PlaceMarket) -> OrderInfo:
        """Place a MARKET order (reduce-only for closes)."""
        unified = self._unified(op.symbol)
        order = self._place(self._ex.create_order, unified, "market", op.side.lower(),
                            float(op.qty), None, market_params(op))
        return order_info(op.symbol, order["info"], algo=False)

    def place_stop(self, op: PlaceStop) -> OrderInfo:
        """Place a reduce-only STOP_MARKET or TRAILING_STOP_MARKET algo order."""
        unified = self._unified(op.symbol)
        order = self._place(self._ex.create_order, unified, "market", op.side.lower(),
                            float(op.qty), None, stop_params(op))
        return order_info(op.symbol, order["info"], algo=True)

    def cancel_stop(self, op: CancelStop) -> OrderInfo | None:
        """Cancel an algo order; None if it was already gone (safe to repeat)."""
        unified = self._unified(op.symbol)
        params: dict[str, Any] = {"trigger": True}
        if op.algo_id is None:
            params["clientAlgoId"] = op.client_id
        try:
            reply = self._read(self._ex.cancel_order, op.algo_id, unified, params)
        except ExchangeError as e:
            if e.failure.kind is FailureKind.NOT_FOUND:
                return None
            raise
        info = dict(reply.get("info") or {})
        info.setdefault("algoStatus", "CANCELED")
        info.setdefault("symbol", op.symbol)
        return order_info(op.symbol, info, algo=True)

    def lookup(self, op: LookupOrder) -> OrderInfo | None:
        """Find an order by client id; None if the exchange does not know it."""
        unified = self._unified(op.symbol)
        params: dict[str, Any] = {"clientOrderId": op.client_id}
        if op.algo:
            params["trigger"] = True
        try:
            order = self._read(self._ex.fetch_order, None, unified, params)
        except ExchangeError as e:
            if e.failure.kind is FailureKind.NOT_FOUND:
                return None
            raise
        return order_info(op.symbol, order["info"], algo=op.algo)

    def fetch_symbol(self, op: FetchSymbol) -> SymbolSnapshot:
        """Position, open orders and open algo orders of one symbol; flat with stops named in
        `op.explain`: also what the history says about each (venues/binance/history.py)."""
        unified = self._unified(op.symbol)
        positions = self._read(self._ex.fetch_positions, [unified])
        amount, entry, mark = Decimal(0), Decimal(0), None
        for p in positions:
            info = p.get("info") or {}
            if info.get("symbol") == op.symbol and info.get("positionSide", "BOTH") == "BOTH":
                amount = Decimal(str(info.get("positionAmt", "0")))
                entry = Decimal(str(info.get("entryPrice", "0")))
                mark = decimal_or_none(info.get("markPrice"))
        plain = self._read(self._ex.fetch_open_orders, unified)
        algo = self._read(self._ex.fetch_open_orders, unified, None, None, {"trigger": True})
        history = tuple(stop_outcome(self._read, self._ex, unified, ref)
                        for ref in op.explain) if amount == 0 else ()
        return SymbolSnapshot(
            op.symbol, amount, entry, mark,
            tuple(order_info(op.symbol, o["info"], algo=False) for o in plain),
            tuple(order_info(op.symbol, o["info"], algo=True) for o in algo),
            self._now_ms(), self.market_rules(op.symbol), history)

    def open_positions(self) -> list[tuple[str, Decimal, Decimal]]:
        """Every non-flat position on the account as (symbol, signed amount, entry)."""
        self._ensure_markets()
        rows = self._read(self._ex.fetch_positions)
        out = []
        for p in rows:
            info = p.get("info") or {}
            amount = Decimal(str(info.get("positionAmt", "0")))
            if amount != 0:
                out.append((info["symbol"], amount, Decimal(str(info.get("entryPrice", "0")))))
        return out

    def positions(self, op: FetchPositions) -> tuple[PositionInfo, ...]:
        """Every non-flat position on the account (the periodic reconciler)."""
        return tuple(PositionInfo(s, a, e) for s, a, e in self.open_positions())

    def account(self, op: FetchAccount) -> AccountSnapshot:
        """Every non-flat position and every open algo order of the account (the sweep's stop
        check): GET positionRisk, then GET openAlgoOrders without a symbol (weight 40) through
        ccxt's implicit method, since its fetch_open_orders refuses a call with no symbol."""
        fetched = self._now_ms()  # before the reads: nothing that changed later is in them
        positions = self.positions(FetchPositions(op.reason))
        rows = self._read(self._ex.fapiPrivateGetOpenAlgoOrders, {})
        orders = tuple(order_info(str(r.get("symbol", "")), r, algo=True) for r in rows or ())
        return AccountSnapshot(positions, orders, fetched)

    def limits(self, op: FetchLimits) -> AccountLimits:
        """The rate limits exchangeInfo publishes (ORDERS 10 s / 1 min, REQUEST_WEIGHT 1 min).

        These are the venue's defaults; an account with other limits sees them in
        GET /fapi/v1/rateLimit/order (not read yet: the configured budget stays the ceiling).
        """
        info = self._read(self._ex.fapiPublicGetExchangeInfo)
        found: dict[tuple[str, str, int], int] = {}
        for r in info.get("rateLimits") or []:
            key = (str(r.get("rateLimitType")), str(r.get("interval")),
                   int(r.get("intervalNum") or 0))
            found[key] = int(r["limit"])
        return AccountLimits(found.get(("ORDERS", "SECOND", 10)),
                             found.get(("ORDERS", "MINUTE", 1)),
                             found.get(("REQUEST_WEIGHT", "MINUTE", 1)))

    def execute(self, op: Any) -> Any:
        """Run one operation message (the worker's single entry point)."""
        handlers: dict[type, Callable[[Any], Any]] = {
            PlaceMarket: self.place_market, PlaceStop: self.place_stop,
            CancelStop: self.cancel_stop, LookupOrder: self.lookup,
            FetchSymbol: self.fetch_symbol, FetchPositions: self.positions,
            FetchAccount: self.account,
            FetchLimits: self.limits}
        handler = handlers.get(type(op))
        if handler is None:
            raise TypeError(f"unknown exchange operation {type(op).__name__}")
        return handler(op)
