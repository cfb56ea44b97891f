"""`posguard check` for a Bybit account: the same questions as Binance's, asked of Bybit v5.

Looked at, never touched: every call is a read (GET) and the sockets only authenticate,
subscribe and ping. The rules checked are Bybit's own (protocol/bybit-linear.md):
- clock: `server_time - recv_window <= timestamp < server_time + 1000` (the same rule as
  Binance's, so system/check.py's clock_verdict decides);
- key: a signed GET /v5/user/query-api answers (10003 bad key, 10004 bad signature, 10010 IP
  not whitelisted) and the wallet reads as a unified account (posguard trades UTA linear);
- permissions: the key is not read-only and ContractTrade holds Order and Position;
- position mode: one-way, `positionIdx` 0 on the position rows of the account's symbols
  (hedge mode returns a row per side, positionIdx 1 and 2);
- the private socket accepts `op: auth` and answers a ping; the public socket sends a ticker
  with a mark price; every symbol the config names is a linear perpetual in status Trading.
"""

from __future__ import annotations

import json
import time
from typing import Any

import ccxt
import websocket

from system.check import (
    STREAM_TIMEOUT_SECS,
    CheckFailed,
    Target,
    _binance_error,
    _connect,
    clock_verdict,
    symbols_verdict,
)
from venues.bybit import hosts as bybit_hosts
from venues.bybit import stream as bybit_stream

PROBE_SYMBOL = "BTCUSDT"
"""The symbol the position-mode and market checks read when the config names none."""
INSTRUMENTS_PAGE = 1000
"""instruments-info's largest page (market/instrument.mdx)."""
MAX_PAGES = 20
"""Enough pages for every linear contract many times over; a cursor loop stops here."""


def _error(e: Exception) -> str:
    return _binance_error(e)  # the same trimming: ccxt's "bybit {json}" text


def _result(reply: Any) -> dict:
    """The envelope's `result` (ccxt raises on retCode != 0, so this is a success)."""
    result = reply.get("result") if isinstance(reply, dict) else None
    return result if isinstance(result, dict) else {}


def check_clock(t: Target) -> str:
    """REST answers, and this machine's clock is within what Bybit accepts."""
    t0 = time.time() * 1000
    try:
        reply = _result(t.client.publicGetV5MarketTime())
    except ccxt.BaseError as e:
        raise CheckFailed(f"{t.hosts.rest_url} did not answer: {_error(e)}",
                          "check the network path to the venue (or exchange.rest_url)") from e
    t1 = time.time() * 1000
    server = int(reply.get("timeNano", 0)) / 1e6 or float(reply.get("timeSecond", 0)) * 1000
    ok, found = clock_verdict((t0 + t1) / 2 - server, t1 - t0, t.recv_window_ms)
    if not ok:
        raise CheckFailed(found, "synchronise this machine's clock (chrony / systemd-timesyncd)")
    return found


def check_key(t: Target) -> str:
    """A signed call succeeds, and the wallet is a unified trading account."""
    try:
        api = _result(t.client.privateGetV5UserQueryApi())
        wallet = _result(t.client.privateGetV5AccountWalletBalance({"accountType": "UNIFIED"}))
    except ccxt.BaseError as e:
        raise CheckFailed(f"the key was refused: {_error(e)}",
                          "check the key and secret variables, the key's IP whitelist and "
                          "that the account is a Unified Trading Account") from e
    rows = wallet.get("list") or [{}]
    usdt = next((c for c in rows[0].get("coin", []) if c.get("coin") == "USDT"), {})
    return (f"signed call accepted (key {api.get('note') or api.get('id', '?')}); USDT wallet "
            f"{usdt.get('walletBalance', '?')}, equity {rows[0].get('totalEquity', '?')}")


def check_permissions(t: Target) -> str:
    """The key may trade derivatives: not read-only, ContractTrade Order and Position."""
    try:
        api = _result(t.client.privateGetV5UserQueryApi())
    except ccxt.BaseError as e:
        raise CheckFailed(f"the key's permissions unreadable: {_error(e)}") from e
    contract = (api.get("permissions") or {}).get("ContractTrade") or []
    missing = [p for p in ("Order", "Position") if p not in contract]
    if api.get("readOnly") not in (0, "0") or missing:
        what = "read-only" if api.get("readOnly") not in (0, "0") else \
            f"ContractTrade lacks {', '.join(missing)}"
        raise CheckFailed(f"the key may not trade contracts ({what})",
                          "edit the API key: Read-Write, Contract - Orders and Positions")
    return f"read-write, ContractTrade {', '.join(contract)}"


def check_position_mode(t: Target) -> str:
    """One-way mode on the account's symbols: posguard keeps one position per symbol."""
    hedged = []
    read = (PROBE_SYMBOL, *(s for s in t.symbols if s != PROBE_SYMBOL))
    for sym in read:
        try:
            rows = _result(t.client.privateGetV5PositionList(
                {"category": "linear", "symbol": sym})).get("list", [])
        except ccxt.BaseError as e:
            raise CheckFailed(f"position mode of {sym} unreadable: {_error(e)}") from e
        if any(int(r.get("positionIdx", 0)) != 0 for r in rows):
            hedged.append(sym)
    if hedged:
        raise CheckFailed(f"hedge mode on {', '.join(hedged)} (positionIdx 1/2)",
                          "switch to one-way mode (Bybit: Derivatives > Preferences > Position "
                          "Mode, or POST /v5/position/switch-mode mode 0; it needs no open "
                          "position or order)")
    return f"one-way (positionIdx 0) on {', '.join(read)}"


def check_user_stream(t: Target) -> str:
    """The private socket accepts the key's `op: auth` and answers a ping."""
    url = bybit_hosts.user_stream_url(t.hosts.stream_base)
    ws = _connect(url, url)
    try:
        ws.send(bybit_stream.auth_frame(t.client.apiKey, t.client.secret,
                                        int(time.time() * 1000)))
        ack = _reply(ws, url, "auth")
        if ack.get("success") is not True:
            raise CheckFailed(f"{url} refused the auth: {ack.get('ret_msg')!r}",
                              "check the key and secret variables and the key's IP whitelist")
        t0 = time.monotonic()
        ws.send(bybit_stream.ping_frame(1))
        _reply(ws, url, "pong")
    except (OSError, ValueError, websocket.WebSocketException) as e:
        raise CheckFailed(f"{url} connected but did not answer: {e}") from e
    finally:
        ws.close()
    return f"{url} auth accepted, ping answered in {(time.monotonic() - t0) * 1000:.0f} ms"


def _reply(ws: websocket.WebSocket, url: str, op: str) -> dict:
    """The next frame answering `op` (others skipped) within the stream timeout."""
    deadline = time.monotonic() + STREAM_TIMEOUT_SECS
    while time.monotonic() < deadline:
        frame = json.loads(ws.recv())
        if isinstance(frame, dict) and frame.get("op") == op:
            return frame
    raise CheckFailed(f"{url}: no {op} answer within {STREAM_TIMEOUT_SECS:.0f} s")


def check_market_stream(t: Target) -> str:
    """The public linear socket takes a tickers subscription and sends a mark price."""
    sym = t.symbols[0] if t.symbols else PROBE_SYMBOL
    url = bybit_hosts.market_stream_url(t.hosts.stream_base)
    topic = bybit_stream.ticker_topic(sym)
    ws = _connect(url, url)
    try:
        [frame] = bybit_stream.ticker_subscriptions(True, [sym], 1)
        ws.send(frame)
        deadline = time.monotonic() + STREAM_TIMEOUT_SECS
        while time.monotonic() < deadline:
            got = json.loads(ws.recv())
            if not isinstance(got, dict):
                continue
            if got.get("op") == "subscribe" and got.get("success") is False:
                raise CheckFailed(f"{url} refused subscribe {topic}: {got.get('ret_msg')}")
            data = got.get("data")
            if got.get("topic") == topic and isinstance(data, dict) and data.get("markPrice"):
                return f"{url} {topic}: mark {data['markPrice']}"
        raise CheckFailed(f"{url}: no mark price for {topic} within {STREAM_TIMEOUT_SECS:.0f} s")
    except (OSError, ValueError, websocket.WebSocketException) as e:
        raise CheckFailed(f"{url}: {e}") from e
    finally:
        ws.close()


def check_symbols(t: Target) -> str:
    """Every symbol the config names is a linear perpetual Bybit lists as Trading."""
    listed: dict[str, str] = {}
    cursor = ""
    for _ in range(MAX_PAGES):
        params = {"category": "linear", "limit": INSTRUMENTS_PAGE}
        if cursor:
            params["cursor"] = cursor
        try:
            page = _result(t.client.publicGetV5MarketInstrumentsInfo(params))
        except ccxt.BaseError as e:
            raise CheckFailed(f"instruments-info unreadable: {_error(e)}",
                              "check the network path to the venue (or exchange.rest_url)") \
                from e
        listed.update({r.get("symbol"): r.get("status") for r in page.get("list", [])
                       if r.get("contractType") == "LinearPerpetual"})
        cursor = page.get("nextPageCursor") or ""
        if not cursor:
            break
    trading = {s for s, status in listed.items() if status == "Trading"}
    return symbols_verdict(t, trading, set(listed))


CHECKS = (
    ("clock", check_clock, ()),
    ("key", check_key, ("clock",)),
    ("permissions", check_permissions, ("key",)),
    ("position mode", check_position_mode, ("key",)),
    ("user stream", check_user_stream, ("key",)),
    ("market stream", check_market_stream, ()),
    ("symbols", check_symbols, ()),
)
"""(name, check, the checks it needs to have passed): Binance's "futures" (canTrade) is
Bybit's "permissions" (the key's ContractTrade rights)."""
