"""Bybit public market routes and the account probes ccxt makes. Pure of aiohttp.

Each handler takes (sim, BParams) and returns the envelope's `result` or raises BybitError.
"""

from __future__ import annotations

from system.sim.bybit import replies as R
from system.sim.bybit.errors import params_error

LINEAR = "linear"
EMPTY_CATEGORIES = ("inverse",)
"""Categories answered with empty lists: the simulator lists no inverse contracts (ccxt.pro's
watch_positions asks for inverse positions too, bybit-linear.md "Private WebSocket")."""


def category(p, allow_empty: bool = True) -> str:
    """The `category` parameter: linear, or (where a list is asked for) an empty category."""
    c = p.text("category")
    if c == LINEAR or (allow_empty and c in EMPTY_CATEGORIES):
        return c
    raise params_error(f"category {c} is not served by the simulator (linear only)")


def symbol(sim, p, required: bool = True) -> str | None:
    """A listed symbol (10001 "symbol invalid" otherwise)."""
    s = p.text("symbol", required)
    if s is not None and s not in sim.engine.markets:
        raise params_error("symbol invalid")
    return s


def h_time(sim, p):
    """GET /v5/market/time."""
    now = sim.clock.now_ms()
    return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}


def h_instruments(sim, p):
    """GET /v5/market/instruments-info: every linear perpetual (one page, no PreLaunch)."""
    c = category(p)
    sym = symbol(sim, p, required=False)
    status = p.text("status", required=False)
    rows = [] if c != LINEAR or status not in (None, "Trading") else [
        R.instrument(m) for s, m in sim.engine.markets.items() if sym in (None, s)]
    return {"category": c, "list": rows, "nextPageCursor": ""}


def h_tickers(sim, p):
    """GET /v5/market/tickers."""
    c = category(p)
    sym = symbol(sim, p, required=False)
    now = sim.clock.now_ms()
    rows = [] if c != LINEAR else [R.ticker(sim.engine, s, now)
                                   for s in sim.engine.markets if sym in (None, s)]
    return {"category": c, "list": rows}


def h_account_info(sim, p):
    """GET /v5/account/info: a UTA 2.0 account (unifiedMarginStatus 6), regular margin."""
    return {"unifiedMarginStatus": 6, "marginMode": "REGULAR_MARGIN", "isMasterTrader": False,
            "spotHedgingStatus": "OFF", "updatedTime": "1700000000000", "dcpStatus": "OFF",
            "timeWindow": 0, "smpGroup": 0}


def h_query_api(sim, p):
    """GET /v5/user/query-api: the key's own description (ccxt's UTA probe wants uta 1)."""
    return {"id": "1", "note": "posguard simulator", "apiKey": sim.settings.api_key,
            "readOnly": 0, "secret": "", "permissions": {
                "ContractTrade": ["Order", "Position"], "Spot": [], "Wallet": [],
                "Options": [], "Derivatives": [], "Exchange": [], "NFT": [],
                "CopyTrading": [], "BlockTrade": [], "Affiliate": [], "Earn": []},
            "ips": ["*"], "type": 1, "deadlineDay": -1, "expiredAt": "",
            "createdAt": "2024-01-01T00:00:00Z", "unified": 0, "uta": 1, "userID": 1,
            "inviterID": 0, "vipLevel": "No VIP", "mktMakerLevel": "0", "affiliateID": 0,
            "rsaPublicKey": "", "isMaster": True, "parentUid": "0",
            "kycLevel": "LEVEL_DEFAULT", "kycRegion": ""}


def h_wallet(sim, p):
    """GET /v5/account/wallet-balance?accountType=UNIFIED."""
    t = p.text("accountType")
    if t != "UNIFIED":
        raise params_error(f"accountType {t} invalid: the simulated account is UNIFIED")
    return R.wallet(sim.engine)
