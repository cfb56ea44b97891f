"""Account, position and configuration replies, v2 and v3, in the SDK's shapes.

v3 (`/fapi/v3/account`, `/fapi/v3/positionRisk`) lists only live symbols: a position or an
open order, algo orders included; the configuration fields (leverage, marginType,
isAutoAddMargin, maxNotionalValue) are gone from it and served by `/fapi/v1/symbolConfig`.
v2 lists every symbol, flat ones as zero rows, with its own field set. Unrealized PnL,
notional and margins are valued at the mark price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from system.sim.engine import Engine

MAINT_MARGIN_RATE = Decimal("0.004")
"""The single bracket's maintMarginRatio (see markets.leverage_bracket)."""
MAX_NOTIONAL = "50000000"
"""The single bracket's notionalCap: the maxNotionalValue at any leverage."""


def _d8(x) -> str:
    return f"{x:.8f}"


@dataclass(frozen=True, slots=True)
class _Figures:
    """One symbol's position valued at its mark."""

    symbol: str
    amt: str
    entry: str
    mark: str
    upnl: str
    notional: str
    initial: str
    maint: str
    leverage: int
    update_ms: int


def _figures(engine: Engine, symbol: str) -> _Figures:
    m = engine.markets[symbol]
    p = engine.ledger.positions.get(symbol)
    amt = p.amt if p else Decimal(0)
    entry = p.entry if p and amt else Decimal(0)
    mark = engine.marks[symbol]
    lev = engine.ledger.leverage_of(symbol)
    notional = amt * mark
    return _Figures(symbol, m.fmt_qty(amt), m.fmt_price(entry) if amt else "0.0",
                    m.fmt_price(mark), _d8((mark - entry) * amt if amt else 0),
                    _d8(notional), _d8(abs(notional) / lev),
                    _d8(abs(notional) * MAINT_MARGIN_RATE), lev, p.update_ms if p else 0)


def _symbols(engine: Engine, symbol: str | None, live_only: bool) -> list[str]:
    """Symbols to list, in market order; an asked-for symbol that is not live is absent."""
    live = engine.live_symbols() if live_only else None
    return [s for s in engine.markets
            if symbol in (None, s) and (live is None or s in live)]


def position_rows(engine: Engine, symbol: str | None) -> list[dict]:
    """GET /fapi/v3/positionRisk: live symbols only (PositionInformationV3Response)."""
    rows = []
    for s in _symbols(engine, symbol, live_only=True):
        f = _figures(engine, s)
        rows.append({
            "symbol": s, "positionSide": "BOTH", "positionAmt": f.amt,
            "entryPrice": f.entry, "breakEvenPrice": f.entry, "markPrice": f.mark,
            "unRealizedProfit": f.upnl, "liquidationPrice": "0", "isolatedMargin": "0",
            "notional": f.notional, "marginAsset": "USDT", "isolatedWallet": "0",
            "initialMargin": f.initial, "maintMargin": f.maint,
            "positionInitialMargin": f.initial, "openOrderInitialMargin": "0", "adl": 0,
            "bidNotional": "0", "askNotional": "0", "updateTime": f.update_ms,
        })
    return rows


def position_rows_v2(engine: Engine, symbol: str | None) -> list[dict]:
    """GET /fapi/v2/positionRisk: every symbol, flat ones as zero rows."""
    rows = []
    for s in _symbols(engine, symbol, live_only=False):
        f = _figures(engine, s)
        rows.append({
            "entryPrice": f.entry, "breakEvenPrice": f.entry, "marginType": "cross",
            "isAutoAddMargin": "false", "isolatedMargin": "0.00000000",
            "leverage": str(f.leverage), "liquidationPrice": "0", "markPrice": f.mark,
            "maxNotionalValue": MAX_NOTIONAL, "positionAmt": f.amt, "notional": f.notional,
            "isolatedWallet": "0", "symbol": s, "unRealizedProfit": f.upnl,
            "positionSide": "BOTH", "updateTime": f.update_ms,
        })
    return rows


def _totals(engine: Engine) -> tuple[dict, dict]:
    """(account totals, the USDT asset row) shared by v2 and v3."""
    led = engine.ledger
    upnl = led.unrealized(engine.marks)
    im = led.initial_margin(engine.marks)
    avail = led.available(engine.marks)
    maint = sum((abs(p.amt) * engine.marks[p.symbol] * MAINT_MARGIN_RATE
                 for p in led.positions.values() if p.amt), Decimal(0))
    totals = {
        "totalInitialMargin": _d8(im), "totalMaintMargin": _d8(maint),
        "totalWalletBalance": _d8(led.wallet), "totalUnrealizedProfit": _d8(upnl),
        "totalMarginBalance": _d8(led.wallet + upnl), "totalPositionInitialMargin": _d8(im),
        "totalOpenOrderInitialMargin": "0.00000000",
        "totalCrossWalletBalance": _d8(led.wallet), "totalCrossUnPnl": _d8(upnl),
        "availableBalance": _d8(avail), "maxWithdrawAmount": _d8(max(avail, 0)),
    }
    asset = {
        "asset": "USDT", "walletBalance": _d8(led.wallet), "unrealizedProfit": _d8(upnl),
        "marginBalance": _d8(led.wallet + upnl), "maintMargin": _d8(maint),
        "initialMargin": _d8(im), "positionInitialMargin": _d8(im),
        "openOrderInitialMargin": "0.00000000", "crossWalletBalance": _d8(led.wallet),
        "crossUnPnl": _d8(upnl), "availableBalance": _d8(avail),
        "maxWithdrawAmount": _d8(max(avail, 0)),
    }
    return totals, asset


def account(engine: Engine) -> dict:
    """GET /fapi/v3/account (AccountInformationV3Response): live symbols only."""
    totals, asset = _totals(engine)
    positions = []
    for s in _symbols(engine, None, live_only=True):
        f = _figures(engine, s)
        positions.append({
            "symbol": s, "positionSide": "BOTH", "positionAmt": f.amt,
            "unrealizedProfit": f.upnl, "isolatedMargin": "0", "notional": f.notional,
            "isolatedWallet": "0", "initialMargin": f.initial, "maintMargin": f.maint,
            "updateTime": f.update_ms})
    return {**totals, "assets": [{**asset, "updateTime": engine.clock.now_ms()}],
            "positions": positions}


def account_v2(engine: Engine, can_trade: bool) -> dict:
    """GET /fapi/v2/account (AccountInformationV2Response): every symbol."""
    totals, asset = _totals(engine)
    positions = []
    for s in _symbols(engine, None, live_only=False):
        f = _figures(engine, s)
        positions.append({
            "symbol": s, "initialMargin": f.initial, "maintMargin": f.maint,
            "unrealizedProfit": f.upnl, "positionInitialMargin": f.initial,
            "openOrderInitialMargin": "0", "leverage": str(f.leverage), "isolated": False,
            "entryPrice": f.entry, "maxNotional": MAX_NOTIONAL, "bidNotional": "0",
            "askNotional": "0", "positionSide": "BOTH", "positionAmt": f.amt,
            "updateTime": f.update_ms})
    return {**account_config(engine, can_trade, keys=_V2_CONFIG_KEYS), **totals,
            "assets": [{**asset, "marginAvailable": True,
                        "updateTime": engine.clock.now_ms()}],
            "positions": positions}


_V2_CONFIG_KEYS = ("feeTier", "feeBurn", "canTrade", "canDeposit", "canWithdraw",
                   "updateTime", "multiAssetsMargin", "tradeGroupId")


def account_config(engine: Engine, can_trade: bool,
                   keys: tuple[str, ...] | None = None) -> dict:
    """GET /fapi/v1/accountConfig (FuturesAccountConfigurationResponse)."""
    full = {"feeTier": 0, "feeBurn": False, "canTrade": can_trade, "canDeposit": True,
            "canWithdraw": True, "dualSidePosition": engine.dual_side, "updateTime": 0,
            "multiAssetsMargin": False, "tradeGroupId": -1}
    keys = keys or ("feeTier", "canTrade", "canDeposit", "canWithdraw", "dualSidePosition",
                    "updateTime", "multiAssetsMargin", "tradeGroupId")
    return {k: full[k] for k in keys}


def symbol_config(engine: Engine, symbol: str | None) -> list[dict]:
    """GET /fapi/v1/symbolConfig: one row per symbol (or the one asked for)."""
    return [{"symbol": s, "marginType": "CROSSED", "isAutoAddMargin": False,
             "leverage": engine.ledger.leverage_of(s), "maxNotionalValue": MAX_NOTIONAL}
            for s in engine.markets if symbol in (None, s)]
