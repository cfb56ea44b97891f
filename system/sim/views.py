"""Account and position replies (fapi v2/v3 account, positionRisk)."""

from __future__ import annotations

from system.sim.engine import Engine


def _d8(x) -> str:
    return f"{x:.8f}"


def position_rows(engine: Engine, symbol: str | None) -> list[dict]:
    """positionRisk rows: open positions only (one flat row if a symbol was asked for)."""
    led = engine.ledger
    rows = []
    for sym, m in engine.markets.items():
        p = led.positions.get(sym)
        if symbol not in (None, sym) or (symbol is None and (p is None or p.amt == 0)):
            continue
        amt = p.amt if p else 0
        mark = engine.prices[sym]
        entry = p.entry if p else 0
        lev = led.leverage_of(sym)
        notional = amt * mark
        rows.append({
            "symbol": sym, "positionSide": "BOTH", "positionAmt": m.fmt_qty(amt),
            "entryPrice": m.fmt_price(entry) if amt else "0.0", "breakEvenPrice":
            m.fmt_price(entry) if amt else "0.0", "markPrice": m.fmt_price(mark),
            "unRealizedProfit": _d8((mark - entry) * amt), "liquidationPrice": "0",
            "isolatedMargin": "0", "notional": _d8(notional), "marginAsset": "USDT",
            "isolatedWallet": "0", "initialMargin": _d8(abs(notional) / lev),
            "maintMargin": _d8(abs(notional) * 4 / 1000), "positionInitialMargin":
            _d8(abs(notional) / lev), "openOrderInitialMargin": "0", "adl": 0,
            "bidNotional": "0", "askNotional": "0", "leverage": str(lev),
            "marginType": "cross", "maxNotionalValue": "50000000",
            "isAutoAddMargin": "false", "updateTime": p.update_ms if p else 0,
        })
    return rows


def account(engine: Engine) -> dict:
    """GET /fapi/v3/account (also served as v2)."""
    led = engine.ledger
    now = engine.clock.now_ms()
    upnl = led.unrealized(engine.prices)
    im = led.initial_margin(engine.prices)
    avail = led.available(engine.prices)
    asset = {
        "asset": "USDT", "walletBalance": _d8(led.wallet), "unrealizedProfit": _d8(upnl),
        "marginBalance": _d8(led.wallet + upnl), "maintMargin": "0.00000000",
        "initialMargin": _d8(im), "positionInitialMargin": _d8(im),
        "openOrderInitialMargin": "0.00000000", "crossWalletBalance": _d8(led.wallet),
        "crossUnPnl": _d8(upnl), "availableBalance": _d8(avail),
        "maxWithdrawAmount": _d8(max(avail, 0)), "marginAvailable": True,
        "updateTime": now,
    }
    positions = [{"symbol": r["symbol"], "positionSide": "BOTH",
                  "positionAmt": r["positionAmt"], "unrealizedProfit": r["unRealizedProfit"],
                  "isolatedMargin": "0", "notional": r["notional"], "isolatedWallet": "0",
                  "initialMargin": r["initialMargin"], "maintMargin": r["maintMargin"],
                  "updateTime": r["updateTime"]} for r in position_rows(engine, None)]
    return {
        "totalInitialMargin": _d8(im), "totalMaintMargin": "0.00000000",
        "totalWalletBalance": _d8(led.wallet), "totalUnrealizedProfit": _d8(upnl),
        "totalMarginBalance": _d8(led.wallet + upnl), "totalPositionInitialMargin": _d8(im),
        "totalOpenOrderInitialMargin": "0.00000000", "totalCrossWalletBalance":
        _d8(led.wallet), "totalCrossUnPnl": _d8(upnl), "availableBalance": _d8(avail),
        "maxWithdrawAmount": _d8(max(avail, 0)), "assets": [asset], "positions": positions,
    }
