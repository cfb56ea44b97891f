"""Engine event dicts -> Bybit v5 private topic rows (`position`, `order`, `execution`, `wallet`).

The engine drains Binance-shaped dicts plus the Bybit marks SIMREST adds on this front
(/work/h16/simrest-events.md: `_algo_id`, `_attached`, `_amended`, `_trigger_direction`,
`_trigger_by`, `_cancel_type`, `_trail_distance`, `_active_price`, `_tpsl`). `translate` turns
one dict into the rows Bybit pushes for it, in Bybit's order, reading the engine only for what
a Binance event does not carry (created times, leverage, the mark, cumulative fees).

Row fields follow Bybit's docs (`websocket/private/{order,execution,position,wallet}.mdx`) as
summarised in /work/shared/protocol/bybit-linear.md. One conditional order keeps one orderId
from Untriggered to Filled: the MARKET child the engine spawns at trigger is reported under
its parent's orderId, and the parent's FINISHED is not pushed again (the child's fill already
said Filled). Where no source settled a value (createType of a user's conditional order,
closedSize of a fill that is not reduce-only) the choice is noted at the field.
"""

from __future__ import annotations

import itertools
import uuid
from decimal import Decimal

from system.sim.bybit.ids import order_id
from system.sim.engine import Engine

ZERO = Decimal(0)
MAINT_MARGIN_RATE = Decimal("0.004")
"""As system/sim/views.py: the single bracket's maintenance margin rate."""

SIDE = {"BUY": "Buy", "SELL": "Sell"}
TRIGGER_BY = {"MARK_PRICE": "MarkPrice", "CONTRACT_PRICE": "LastPrice"}
ALGO_STATUS = {"NEW": "Untriggered", "TRIGGERED": "Triggered", "CANCELED": "Deactivated",
               "EXPIRED": "Deactivated"}
"""ALGO_UPDATE X -> orderStatus; TRIGGERING and FINISHED push nothing (see module doc)."""
ORDER_STATUS = {"NEW": "New", "PARTIALLY_FILLED": "PartiallyFilled", "FILLED": "Filled",
                "CANCELED": "Cancelled", "EXPIRED": "Cancelled"}
CREATE_TYPE = {"StopLoss": "CreateByStopLoss", "TrailingStop": "CreateByTrailingStop"}
# A user's conditional order: enum.mdx lists CreateByStopOrder, a captured frame
# (nautilus_trader ws_account_order_stop_market.json) shows CreateByUser; the capture wins.
USER_CREATE_TYPE = "CreateByUser"


def _dec(text) -> Decimal:
    return Decimal(str(text)) if text not in (None, "") else ZERO


def _plain(x: Decimal) -> str:
    return format(x.normalize(), "f") if x else "0"


def translate(event: dict, engine: Engine) -> list[tuple[str, dict]]:
    """(topic, data row) pairs Bybit pushes for one engine event, oldest first."""
    kind = event.get("e")
    if kind == "ALGO_UPDATE":
        return _algo_frames(event, engine)
    if kind == "ORDER_TRADE_UPDATE":
        return _order_frames(event, engine)
    if kind == "ACCOUNT_UPDATE":
        return _account_frames(event, engine)
    if kind == "ACCOUNT_CONFIG_UPDATE":
        return [("position", position_row(engine, event["ac"]["s"], event["T"]))]
    return []  # TRADE_LITE (Bybit's execution.fast is not served), listenKeyExpired


# ---- order ---------------------------------------------------------------------------
def _order_base(symbol: str, oid: str, link_id: str, side: str, status: str) -> dict:
    """The fields every order row has, with the values of a fresh, unfilled market order."""
    return {
        "category": "linear", "symbol": symbol, "orderId": oid, "orderLinkId": link_id,
        "blockTradeId": "", "side": SIDE[side], "positionIdx": 0, "orderStatus": status,
        "cancelType": "UNKNOWN", "rejectReason": "EC_NoError", "timeInForce": "IOC",
        "isLeverage": "", "price": "0", "qty": "0", "avgPrice": "", "leavesQty": "0",
        "leavesValue": "0", "cumExecQty": "0", "cumExecValue": "0", "cumExecFee": "0",
        "cumFeeDetail": {}, "feeCurrency": "", "orderType": "Market", "stopOrderType": "",
        "orderIv": "", "marketUnit": "", "triggerPrice": "0", "takeProfit": "0",
        "stopLoss": "0", "tpslMode": "", "tpLimitPrice": "0", "slLimitPrice": "0",
        "tpTriggerBy": "", "slTriggerBy": "", "triggerDirection": 0, "triggerBy": "",
        "lastPriceOnCreated": "", "reduceOnly": False, "closeOnTrigger": False,
        "placeType": "", "smpType": "None", "smpGroup": 0, "smpOrderId": "",
        "createType": "CreateByUser", "createdTime": "0", "updatedTime": "0"}


def _direction(event: dict, algo, side: str) -> int:
    d = event.get("_trigger_direction") or getattr(algo, "trigger_direction", 0)
    return d or (2 if side == "SELL" else 1)  # Binance's by-side rule, as the engine fires


def _algo_row(event: dict, engine: Engine, status: str) -> dict:
    o = event["o"]
    algo = engine.algos.get(o["aid"])
    attached = event.get("_attached") or getattr(algo, "attached", "")
    row = _order_base(o["s"], order_id(o["aid"]), o["caid"], o["S"], status)
    trigger = o["tp"]
    if _dec(trigger) == 0 and attached == "TrailingStop":
        trigger = event.get("_active_price", "0")  # Bybit shows activePrice until it trails
    row.update({
        "qty": o["q"], "leavesQty": o["q"] if status == "Untriggered" else "0",
        "stopOrderType": attached or "Stop",
        "createType": CREATE_TYPE.get(attached, USER_CREATE_TYPE),
        "triggerPrice": trigger, "triggerDirection": _direction(event, algo, o["S"]),
        "triggerBy": event.get("_trigger_by") or TRIGGER_BY.get(o["wt"], "LastPrice"),
        "reduceOnly": bool(o["R"]), "closeOnTrigger": bool(o["R"] or o["cp"]),
        "tpslMode": "Full" if attached else "",
        "createdTime": str(algo.create_ms if algo is not None else event["T"]),
        "updatedTime": str(event["T"])})
    if o["X"] == "CANCELED":
        row["cancelType"] = event.get("_cancel_type", "CancelByUser")
    elif o["X"] == "EXPIRED":  # fired with nothing to reduce
        row["cancelType"] = "CancelByReduceOnly"
    return row


def _algo_frames(event: dict, engine: Engine) -> list[tuple[str, dict]]:
    o = event["o"]
    status = ALGO_STATUS.get(o["X"])
    if status is None:
        return []
    frames = [("order", _algo_row(event, engine, status))]
    if not event.get("_attached") and o["X"] in ("NEW", "CANCELED"):
        # position.mdx: a position push follows every order create/amend/cancel, changed or
        # not. Attached stops are followed by the engine's own ACCOUNT_UPDATE instead.
        frames.append(("position", position_row(engine, o["s"], event["T"])))
    return frames


def _cum_fee(engine: Engine, engine_order_id: int) -> Decimal:
    return sum((t.fee for t in engine.trades if t.order_id == engine_order_id), ZERO)


def _order_row(event: dict, engine: Engine) -> dict:
    o = event["o"]
    aid = event.get("_algo_id")
    row = _order_base(o["s"], order_id(aid if aid is not None else o["i"]), o["c"], o["S"],
                      ORDER_STATUS.get(o["X"], "New"))
    qty, done, avg = _dec(o["q"]), _dec(o["z"]), _dec(o["ap"])
    fee = _cum_fee(engine, o["i"])
    closed = o["X"] in ("FILLED", "CANCELED", "EXPIRED")
    parent = engine.algos.get(aid) if aid is not None else None
    plain = engine.orders.get(o["i"])
    created = parent.create_ms if parent else (plain.time_ms if plain else event["T"])
    row.update({
        "qty": o["q"], "cumExecQty": o["z"], "cumExecValue": _plain(done * avg),
        "avgPrice": o["ap"] if done else "", "cumExecFee": _plain(fee),
        "cumFeeDetail": {"USDT": _plain(fee)} if fee else {},
        "leavesQty": "0" if closed else _plain(qty - done), "reduceOnly": bool(o["R"]),
        "createdTime": str(created), "updatedTime": str(event["T"])})
    if aid is not None:
        attached = event.get("_attached") or getattr(parent, "attached", "")
        row.update({
            "stopOrderType": attached or "Stop",
            "createType": CREATE_TYPE.get(attached, USER_CREATE_TYPE),
            "triggerPrice": o["sp"], "triggerDirection": _direction(event, parent, o["S"]),
            "triggerBy": TRIGGER_BY.get(o["wt"], "LastPrice"),
            "closeOnTrigger": bool(o["R"] or o["cp"]), "tpslMode": "Full" if attached else ""})
    return row


def _execution_row(event: dict, engine: Engine, order: dict) -> dict:
    o = event["o"]
    last_qty, last_price = _dec(o["l"]), _dec(o["L"])
    # closedSize: what the fill took off a position. Exact for reduce-only and stop fills;
    # an ordinary order that realised PnL is counted as closing in full (the event does not
    # say how much of it flipped the position).
    closing = bool(o["R"]) or order["stopOrderType"] != "" or _dec(o["rp"]) != 0
    fee_rate = engine.ledger.fee_pct / 100
    return {
        "category": "linear", "symbol": o["s"], "orderId": order["orderId"],
        "orderLinkId": o["c"], "side": order["side"], "orderType": "Market",
        "stopOrderType": order["stopOrderType"], "createType": order["createType"],
        "execType": "Trade", "execId": str(uuid.UUID(int=o["t"])), "execPrice": o["L"],
        "execQty": o["l"], "execValue": _plain(last_qty * last_price), "execFee": o["n"],
        "feeRate": _plain(fee_rate), "feeCurrency": "USDT", "closedSize":
        o["l"] if closing else "0", "execPnl": o["rp"], "leavesQty": order["leavesQty"],
        "orderPrice": "0", "orderQty": o["q"], "isMaker": False,
        "markPrice": engine.markets[o["s"]].fmt_price(engine.marks[o["s"]]),
        "indexPrice": "", "underlyingPrice": "", "blockTradeId": "", "tradeIv": "",
        "markIv": "", "marketUnit": "", "isLeverage": "", "execTime": str(event["T"]),
        "seq": engine_seq(engine)}


def _order_frames(event: dict, engine: Engine) -> list[tuple[str, dict]]:
    row = _order_row(event, engine)
    if event["o"]["x"] == "TRADE":
        return [("execution", _execution_row(event, engine, row)), ("order", row)]
    return [("order", row)]


# ---- position and wallet ---------------------------------------------------------------
_SEQ = itertools.count(8_327_597_000)


def engine_seq(engine: Engine) -> int:
    """Bybit's `seq` (ties fills to position updates): rising across the process."""
    return next(_SEQ)


def _engine_tpsl(engine: Engine, symbol: str) -> dict:
    """stopLoss / trailingStop / activePrice of the symbol's resting attached stops."""
    out = {"stopLoss": "0", "trailingStop": "0", "activePrice": "0"}
    m = engine.markets[symbol]
    for a in engine.open_algos(symbol):
        kind = getattr(a, "attached", "")
        if kind == "StopLoss":
            out["stopLoss"] = m.fmt_price(a.trigger_price)
        elif kind == "TrailingStop":
            out["trailingStop"] = m.fmt_price(a.trail_distance)
            out["activePrice"] = m.fmt_price(a.activate_price) if a.activate_price else "0"
    return out


def _position(engine: Engine, symbol: str, amt: Decimal, entry: Decimal, upnl: str,
              realized: str, tpsl: dict, now_ms: int) -> dict:
    m = engine.markets[symbol]
    lev = engine.ledger.leverage_of(symbol)
    size = abs(amt)
    value = size * entry
    p = engine.ledger.positions.get(symbol)
    return {
        "category": "linear", "symbol": symbol,
        "side": "" if not amt else ("Buy" if amt > 0 else "Sell"), "size": m.fmt_qty(size),
        "positionIdx": 0, "tradeMode": 0, "entryPrice": m.fmt_price(entry) if amt else "0",
        "breakEvenPrice": m.fmt_price(entry) if amt else "0", "sessionAvgPrice": "",
        "markPrice": m.fmt_price(engine.marks[symbol]), "positionValue": _plain(value),
        "positionBalance": _plain(value / lev), "leverage": str(lev),
        "unrealisedPnl": upnl, "curRealisedPnl": realized, "cumRealisedPnl": realized,
        "positionIM": _plain(value / lev), "positionMM": _plain(value * MAINT_MARGIN_RATE),
        "liqPrice": "", "bustPrice": "", "takeProfit": "0",
        "stopLoss": tpsl.get("stopLoss", "0"), "trailingStop": tpsl.get("trailingStop", "0"),
        "activePrice": tpsl.get("activePrice", "0"), "tpslMode": "Full",
        "positionStatus": "Normal", "autoAddMargin": 0, "adlRankIndicator": 2 if amt else 0,
        "isReduceOnly": False, "riskId": 1, "riskLimitValue": "2000000",
        "mmrSysUpdatedTime": "", "leverageSysUpdatedTime": "",
        "createdTime": str(p.update_ms if p and p.update_ms else now_ms),
        "updatedTime": str(now_ms), "seq": engine_seq(engine)}


def position_row(engine: Engine, symbol: str, now_ms: int) -> dict:
    """The symbol's `position` row from the engine's current state."""
    p = engine.ledger.position(symbol)
    mark = engine.marks[symbol]
    upnl = (mark - p.entry) * p.amt if p.amt else ZERO
    return _position(engine, symbol, p.amt, p.entry if p.amt else ZERO, f"{upnl:.8f}",
                     f"{p.realized:.8f}", _engine_tpsl(engine, symbol), now_ms)


def wallet_row(engine: Engine, wallet: Decimal) -> dict:
    """The UNIFIED account's `wallet` row: USDT only, valued at the marks."""
    led, marks = engine.ledger, engine.marks
    upnl = led.unrealized(marks)
    im = led.initial_margin(marks)
    mm = sum((abs(p.amt) * marks[p.symbol] * MAINT_MARGIN_RATE
              for p in led.positions.values() if p.amt), ZERO)
    equity = wallet + upnl
    avail = max(equity - im, ZERO)
    realized = sum((p.realized for p in led.positions.values()), ZERO)
    coin = {"coin": "USDT", "equity": f"{equity:.8f}", "usdValue": f"{equity:.8f}",
            "walletBalance": f"{wallet:.8f}", "availableToWithdraw": "",
            "availableToBorrow": "", "borrowAmount": "0", "accruedInterest": "0",
            "totalOrderIM": "0", "totalPositionIM": f"{im:.8f}",
            "totalPositionMM": f"{mm:.8f}", "unrealisedPnl": f"{upnl:.8f}",
            "cumRealisedPnl": f"{realized:.8f}", "bonus": "0", "collateralSwitch": True,
            "marginCollateral": True, "locked": "0", "spotHedgingQty": "0"}
    rate = (im / equity) if equity > 0 else ZERO
    return {"accountType": "UNIFIED", "accountLTV": "0", "accountIMRate": f"{rate:.4f}",
            "accountMMRate": f"{(mm / equity) if equity > 0 else ZERO:.4f}",
            "totalEquity": f"{equity:.8f}", "totalWalletBalance": f"{wallet:.8f}",
            "totalMarginBalance": f"{equity:.8f}", "totalAvailableBalance": f"{avail:.8f}",
            "totalPerpUPL": f"{upnl:.8f}", "totalInitialMargin": f"{im:.8f}",
            "totalMaintenanceMargin": f"{mm:.8f}", "coin": [coin]}


def _account_frames(event: dict, engine: Engine) -> list[tuple[str, dict]]:
    acct = event["a"]
    tpsl = event.get("_tpsl", {})
    frames: list[tuple[str, dict]] = []
    for p in acct["P"]:
        sym = p["s"]
        amt = _dec(p["pa"])
        frames.append(("position", _position(
            engine, sym, amt, _dec(p["ep"]) if amt else ZERO, p["up"], p["cr"],
            tpsl.get(sym) or _engine_tpsl(engine, sym), event["T"])))
    usdt = next((b for b in acct["B"] if b["a"] == "USDT"), None)
    if usdt is not None:
        frames.append(("wallet", wallet_row(engine, _dec(usdt["wb"]))))
    return frames


def envelope(topic: str, rows: list[dict], now_ms: int) -> dict:
    """The push envelope `{"id","topic","creationTime","data"}` of bybit-linear.md."""
    return {"id": uuid.uuid4().hex, "topic": topic, "creationTime": now_ms, "data": rows}
