"""Stream payloads, field for field as Binance sends them today.

Checked against the models of Binance's SDK (binance-sdk-derivatives-trading-usds-futures
18.1.0, `websocket_streams/models/`) and its CHANGELOG; tests/integration/sim/
test_sdk_stream_conformance.py holds every frame to those models. Fields the models call
conditional are sent only when their condition holds: `AP`/`cr` of ORDER_TRADE_UPDATE with
TRAILING_STOP_MARKET orders, `ia` of ALGO_UPDATE with trailing orders, ACCOUNT_UPDATE's
`a.S` only with FUNDING_FEE (the simulator charges no funding), `M` only with AMENDMENT (the
simulator amends nothing).
"""

from __future__ import annotations

from decimal import Decimal

from system.sim.markets import Market
from system.sim.model import AlgoOrder, Order, Position

TRAILING = "TRAILING_STOP_MARKET"
SYMBOL_TYPE_UM = 1
"""markPriceUpdate `st`: 1 = USDT-M (SDK: "(After CM migration) Symbol type: 1 = UM")."""


def _d8(x: Decimal) -> str:
    return f"{x:.8f}"


def order_trade_update(o: Order, m: Market, exec_type: str, now_ms: int, *,
                       last_qty: Decimal = Decimal(0), last_price: Decimal = Decimal(0),
                       fee: Decimal = Decimal(0), realized: Decimal = Decimal(0),
                       trade_id: int = 0) -> dict:
    """ORDER_TRADE_UPDATE for one order change (x = exec_type, X = the order's status).

    The child of a trailing stop adds `AP` (activation price, "0" if none was given) and `cr`
    (callback rate), which Binance pushes only with TRAILING_STOP_MARKET orders.
    """
    body = {
        "s": o.symbol, "c": o.client_id, "S": o.side, "o": "MARKET", "f": "GTC",
        "q": m.fmt_qty(o.orig_qty), "p": "0",
        "ap": m.fmt_price(o.avg_price) if o.executed_qty else "0",
        "sp": m.fmt_price(o.stop_price) if o.stop_price else "0",
        "x": exec_type, "X": o.status, "i": o.order_id,
        "l": m.fmt_qty(last_qty), "z": m.fmt_qty(o.executed_qty),
        "L": m.fmt_price(last_price) if last_price else "0", "N": "USDT", "n": _d8(fee),
        "T": now_ms, "t": trade_id, "b": "0", "a": "0", "m": False, "R": o.reduce_only,
        "wt": o.working_type, "ot": o.orig_type, "ps": "BOTH", "cp": o.close_position,
        "rp": _d8(realized), "pP": False, "si": 0, "ss": 0, "V": "EXPIRE_MAKER",
        "pm": "NONE", "gtd": 0, "er": "0"}
    if o.orig_type == TRAILING:
        body["AP"] = m.fmt_price(o.activate_price) if o.activate_price else "0"
        body["cr"] = str(o.price_rate)
    return {"e": "ORDER_TRADE_UPDATE", "E": now_ms, "T": now_ms, "o": body}


def trade_lite(o: Order, m: Market, now_ms: int, *, last_qty: Decimal, last_price: Decimal,
               trade_id: int) -> dict:
    """TRADE_LITE: Binance's lean fill event, pushed ahead of the fill's ORDER_TRADE_UPDATE."""
    return {"e": "TRADE_LITE", "E": now_ms, "T": now_ms, "s": o.symbol,
            "q": m.fmt_qty(o.orig_qty), "p": "0", "m": False, "c": o.client_id, "S": o.side,
            "L": m.fmt_price(last_price), "l": m.fmt_qty(last_qty), "t": trade_id,
            "i": o.order_id}


def account_config_update(symbol: str, leverage: int, now_ms: int) -> dict:
    """ACCOUNT_CONFIG_UPDATE for a leverage change (the `ac` variant; `ai` is multi-assets)."""
    return {"e": "ACCOUNT_CONFIG_UPDATE", "E": now_ms, "T": now_ms,
            "ac": {"s": symbol, "l": leverage}}


def position_row(p: Position, m: Market, mark: Decimal) -> dict:
    """One entry of ACCOUNT_UPDATE.a.P."""
    up = (mark - p.entry) * p.amt if p.amt else Decimal(0)
    return {"s": p.symbol, "pa": m.fmt_qty(p.amt) if p.amt else "0",
            "ep": m.fmt_price(p.entry) if p.amt else "0.0", "bep": m.fmt_price(p.entry)
            if p.amt else "0", "cr": _d8(p.realized), "up": _d8(up), "mt": "cross",
            "iw": "0", "ps": "BOTH"}


def account_update(wallet: Decimal, rows: list[dict], now_ms: int,
                   reason: str = "ORDER") -> dict:
    """ACCOUNT_UPDATE with the USDT balance and the changed positions."""
    return {"e": "ACCOUNT_UPDATE", "E": now_ms, "T": now_ms, "a": {
        "m": reason, "B": [{"a": "USDT", "wb": _d8(wallet), "cw": _d8(wallet), "bc": "0"}],
        "P": rows}}


def algo_update(a: AlgoOrder, m: Market, now_ms: int) -> dict:
    """ALGO_UPDATE for one change of a conditional order.

    `act` (the order type placed in the matching engine) is "0" until the order is placed
    there (TRIGGERED, FINISHED), as in Binance's own CANCELED example; trailing orders carry
    `ia`, whether they have activated.
    """
    placed = a.child_id != 0
    body = {
        "caid": a.client_algo_id, "aid": a.algo_id, "at": "CONDITIONAL", "o": a.order_type,
        "s": a.symbol, "S": a.side, "ps": "BOTH", "f": "GTC",
        "q": m.fmt_qty(a.quantity), "X": a.status,
        "ai": str(a.child_id) if a.child_id else "",
        "ap": m.fmt_price(a.fill_price) if a.fill_price else "0",
        "aq": m.fmt_qty(a.fill_qty), "act": "MARKET" if placed else "0",
        "tp": m.fmt_price(a.trigger_price) if a.trigger_price else "0", "p": "0",
        "V": "EXPIRE_MAKER", "wt": a.working_type, "pm": "NONE", "cp": a.close_position,
        "pP": False, "R": a.reduce_only, "tt": a.trigger_ms, "gtd": 0,
        "rm": a.reject_reason}
    if a.order_type == TRAILING:
        body["ia"] = a.activated
    return {"e": "ALGO_UPDATE", "T": now_ms, "E": now_ms, "o": body}


def listen_key_expired(key: str, now_ms: int) -> dict:
    """The last event on a user stream whose listenKey expired."""
    return {"e": "listenKeyExpired", "E": now_ms, "listenKey": key}


def mark_price_update(symbol: str, price: str, now_ms: int) -> dict:
    """markPriceUpdate (the SDK model's fields in its order).

    The simulator has no separate index, settlement estimate or moving average: `i`, `P` and
    `ap` (mark price moving average, SDK CHANGELOG 9.1.0) all equal the mark.
    """
    next_funding = (now_ms // 28_800_000 + 1) * 28_800_000
    return {"e": "markPriceUpdate", "E": now_ms, "s": symbol, "p": price, "i": price,
            "P": price, "r": "0.00010000", "ap": price, "T": next_funding,
            "st": SYMBOL_TYPE_UM}
