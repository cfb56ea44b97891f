"""`posguard check`: can this config trade on its venue? Looked at, never touched.

It reads and connects; it places, changes and cancels nothing, and it leaves the listenKey
alone (POST hands back the account's live key, which a running posguard may be reading, so a
DELETE here would cut that engine's user stream). Each check says what it found; a failed
one says why and what to do. Checks that need an earlier one (a signed call needs the key)
are reported as skipped, naming what they waited for, rather than failing twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import ccxt
import websocket

from system.config import Config, ExchangeConfig
from venue.hosts import VenueHosts, simulator
from venues.binance import hosts as binance_hosts

STREAM_TIMEOUT_SECS = 5.0
TIME_AHEAD_LIMIT_MS = 1000
"""Binance refuses a request whose timestamp is 1 s or more ahead of its clock."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's outcome."""

    name: str
    """What was checked (rest, clock, key, futures, position mode, user stream, ...)."""
    status: str
    """ok | FAIL | skipped."""
    detail: str
    """What was found."""
    remedy: str = ""
    """On FAIL: what to do about it."""


class CheckFailed(Exception):
    """A check failed; carries the finding's detail and remedy."""

    def __init__(self, detail: str, remedy: str = "") -> None:
        super().__init__(detail)
        self.detail, self.remedy = detail, remedy


@dataclass(frozen=True, slots=True)
class Target:
    """What `check` talks to: the venue's hosts and a ccxt client with the keys."""

    hosts: VenueHosts
    """The account's REST and stream bases."""
    client: Any
    """A blocking ccxt client of the account's exchange, with its keys."""
    recv_window_ms: int
    """The signed requests' recvWindow (how old a request the venue still takes)."""
    exchange: str = "binanceusdm"
    """The adapter's name (venues/): picks the checks."""
    account: str = "main"
    """The account checked (named in every failure)."""
    symbols: tuple[str, ...] = ()
    """The symbols the config names (protection.symbols): each must be listed."""


def clock_verdict(skew_ms: float, rtt_ms: float, recv_window_ms: int) -> tuple[bool, str]:
    """Would signed requests stamped by this clock be accepted? (ok, what was found).

    Binance accepts a request when timestamp < serverTime + 1000 and serverTime - timestamp
    <= recvWindow; a request arrives about half a round trip after it was stamped.
    `skew_ms` is local minus server (positive: the local clock is ahead).
    """
    ahead = skew_ms + rtt_ms / 2
    behind = -skew_ms + rtt_ms / 2
    found = (f"local clock {skew_ms:+.0f} ms against the exchange (round trip {rtt_ms:.0f} ms, "
             f"recvWindow {recv_window_ms} ms)")
    if ahead >= TIME_AHEAD_LIMIT_MS:
        return False, found + f"; requests would arrive {ahead:.0f} ms ahead (limit 1000 ms)"
    if behind >= recv_window_ms:
        return False, found + f"; requests would arrive {behind:.0f} ms old (limit " \
            f"{recv_window_ms} ms)"
    return True, found


def _binance_error(e: Exception) -> str:
    # websocket-client appends the handshake's headers after " -+-+- "; the status and
    # the body before them are what says why.
    text = " ".join(str(e).split(" -+-+- ")[::2])
    return text if len(text) <= 200 else text[:197] + "..."


def check_clock(t: Target) -> str:
    """REST answers, and this machine's clock is within what Binance accepts."""
    t0 = time.time() * 1000
    try:
        reply = t.client.fapiPublicGetTime()
    except ccxt.BaseError as e:
        raise CheckFailed(f"{t.hosts.rest_url} did not answer: {_binance_error(e)}",
                          "check the network path to the venue (or exchange.rest_url)") from e
    t1 = time.time() * 1000
    server = float(reply["serverTime"])
    ok, found = clock_verdict((t0 + t1) / 2 - server, t1 - t0, t.recv_window_ms)
    if not ok:
        raise CheckFailed(found, "synchronise this machine's clock (chrony / systemd-timesyncd)")
    return found


def check_key(t: Target) -> str:
    """A signed call succeeds: the key, its secret and its IP whitelist are accepted."""
    try:
        account = t.client.fapiPrivateV3GetAccount()
    except ccxt.BaseError as e:
        raise CheckFailed(f"the key was refused: {_binance_error(e)}",
                          "check the key and secret variables, the key's IP whitelist and "
                          "that 'Enable Futures' is ticked for it") from e
    assets = {a.get("asset"): a for a in account.get("assets", [])}
    usdt = assets.get("USDT", {})
    return (f"signed call accepted; USDT wallet {usdt.get('walletBalance', '?')}, available "
            f"{usdt.get('availableBalance', '?')}; {len(account.get('positions', []))} open "
            "position(s)")


def check_futures(t: Target) -> str:
    """The account may trade futures (`canTrade` of GET /fapi/v1/accountConfig)."""
    try:
        config = t.client.fapiPrivateGetAccountConfig()
    except ccxt.BaseError as e:
        raise CheckFailed(f"account configuration unreadable: {_binance_error(e)}",
                          "the key needs futures permission ('Enable Futures')") from e
    if config.get("canTrade") is not True:
        raise CheckFailed(f"canTrade is {config.get('canTrade')!r}: this account may not "
                          "trade futures", "enable futures trading on the account and key")
    return f"canTrade true (fee tier {config.get('feeTier', '?')})"


def check_position_mode(t: Target) -> str:
    """One-way mode: posguard keeps one position per symbol (positionSide BOTH)."""
    try:
        reply = t.client.fapiPrivateGetPositionSideDual()
    except ccxt.BaseError as e:
        raise CheckFailed(f"position mode unreadable: {_binance_error(e)}") from e
    dual = reply.get("dualSidePosition")
    if dual in (True, "true"):
        raise CheckFailed("hedge mode (dualSidePosition true)",
                          "switch the account to one-way mode (Binance: Preferences > "
                          "Position Mode; it needs no open positions or orders)")
    return "one-way (dualSidePosition false)"


def _connect(url: str, shown: str) -> websocket.WebSocket:
    """A WebSocket to `url`, or CheckFailed naming `shown` and why it was refused."""
    try:
        return websocket.create_connection(url, timeout=STREAM_TIMEOUT_SECS)
    except (OSError, websocket.WebSocketException) as e:
        raise CheckFailed(f"{shown} refused the connection: {_binance_error(e)}",
                          "check exchange.stream_url / the network path to the stream host") \
            from e


def check_user_stream(t: Target) -> str:
    """A listenKey is issued and the private entry point accepts it (a ping is answered)."""
    try:
        key = t.client.fapiPrivatePostListenKey()["listenKey"]
    except (ccxt.BaseError, KeyError, TypeError) as e:
        raise CheckFailed(f"no listenKey: {e}", "the key needs futures permission") from e
    url = binance_hosts.user_stream_url(t.hosts.stream_base, key)
    shown = url.split("?")[0]  # the listenKey is a credential: never printed
    ws = _connect(url, shown)
    try:
        t0 = time.monotonic()
        ws.ping(b"posguard-check")
        while True:
            opcode, _ = ws.recv_data_frame(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_PONG:
                break
    except (OSError, websocket.WebSocketException) as e:
        raise CheckFailed(f"{shown} connected but did not answer a ping: {e}") from e
    finally:
        ws.close()
    return f"{shown} connected, ping answered in {(time.monotonic() - t0) * 1000:.0f} ms"


def check_symbols(t: Target) -> str:
    """Every symbol the config names is a USDT-M perpetual Binance lists as TRADING."""
    try:
        info = t.client.fapiPublicGetExchangeInfo()
    except ccxt.BaseError as e:
        raise CheckFailed(f"exchangeInfo unreadable: {_binance_error(e)}",
                          "check the network path to the venue (or exchange.rest_url)") from e
    listed = {s.get("symbol"): s for s in info.get("symbols", [])
              if s.get("contractType") == "PERPETUAL"}
    return symbols_verdict(t, {k for k, s in listed.items() if s.get("status") == "TRADING"},
                           set(listed))


def symbols_verdict(t: Target, trading: set[str], listed: set[str]) -> str:
    """What the symbols check says of the config's symbols against the venue's list."""
    if not t.symbols:
        return f"no symbol named in protection.symbols; {len(trading)} perpetual(s) trading"
    missing = [s for s in t.symbols if s not in listed]
    halted = [s for s in t.symbols if s in listed and s not in trading]
    if missing or halted:
        said = [f"{', '.join(missing)} not listed" if missing else "",
                f"{', '.join(halted)} not trading" if halted else ""]
        raise CheckFailed(f"account {t.account!r} ({t.exchange}): "
                          f"{'; '.join(x for x in said if x)}",
                          "fix the symbol in protection.symbols, or leave this account's "
                          "positions in it unprotected knowingly")
    return f"{', '.join(t.symbols)} listed and trading"


def check_market_stream(t: Target, symbol: str = "BTCUSDT") -> str:
    """The market entry point takes a SUBSCRIBE and sends a mark price within 5 s."""
    url = binance_hosts.market_stream_url(t.hosts.stream_base)
    stream = binance_hosts.mark_price_stream(symbol)
    ws = _connect(url, url)
    try:
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": [stream], "id": 1}))
        deadline = time.monotonic() + STREAM_TIMEOUT_SECS
        while time.monotonic() < deadline:
            frame = json.loads(ws.recv())
            data = frame.get("data", frame) if isinstance(frame, dict) else {}
            if isinstance(data, dict) and data.get("e") == "markPriceUpdate":
                return f"{url} {stream}: mark {data.get('p')}"
            if isinstance(frame, dict) and frame.get("error"):
                raise CheckFailed(f"{url} refused SUBSCRIBE {stream}: {frame['error']}")
        raise CheckFailed(f"{url}: no mark price for {stream} within {STREAM_TIMEOUT_SECS:.0f} s")
    except (OSError, ValueError, websocket.WebSocketException) as e:
        raise CheckFailed(f"{url}: {e}") from e
    finally:
        ws.close()


CHECKS: tuple[tuple[str, Callable[[Target], str], tuple[str, ...]], ...] = (
    ("clock", check_clock, ()),
    ("key", check_key, ("clock",)),
    ("futures", check_futures, ("key",)),
    ("position mode", check_position_mode, ("key",)),
    ("user stream", check_user_stream, ("key",)),
    ("market stream", check_market_stream, ()),
    ("symbols", check_symbols, ()),
)
"""(name, check, the checks it needs to have passed)."""


def checks_for(exchange: str) -> tuple[tuple[str, Callable[[Target], str], tuple[str, ...]],
                                        ...]:
    """The checks of an exchange's accounts (UncheckedVenue if it has none)."""
    if exchange == "binanceusdm":
        return CHECKS
    if exchange == "bybit":
        from system.check_bybit import CHECKS as BYBIT_CHECKS
        return BYBIT_CHECKS
    raise UncheckedVenue(f"posguard check covers {', '.join(CHECKED_VENUES)} only so far; "
                         f"{exchange} was not checked")


def run_checks(target: Target) -> list[Finding]:
    """Every check in order; one whose prerequisite failed is skipped, naming it."""
    findings: list[Finding] = []
    passed: set[str] = set()
    for name, fn, needs in checks_for(target.exchange):
        missing = [n for n in needs if n not in passed]
        if missing:
            findings.append(Finding(name, "skipped", f"needs {', '.join(missing)}"))
            continue
        try:
            findings.append(Finding(name, "ok", fn(target)))
            passed.add(name)
        except CheckFailed as e:
            findings.append(Finding(name, "FAIL", e.detail, e.remedy))
    return findings


CHECKED_VENUES = ("binanceusdm", "bybit")
"""The exchanges whose accounts `posguard check` knows how to look at."""


class UncheckedVenue(RuntimeError):
    """The account's exchange is one `posguard check` does not cover yet (nothing checked)."""


def make_target(config: Config, sim_url: str | None = None,
                ex: ExchangeConfig | None = None) -> Target:
    """Account `ex`'s (default: the first's) venue hosts and a ccxt client with its keys
    (paper: its simulator)."""
    ex = config.exchange if ex is None else ex
    if ex.name not in CHECKED_VENUES:
        raise UncheckedVenue(f"account {ex.account!r} is on {ex.name}: posguard check covers "
                         f"{', '.join(CHECKED_VENUES)} only so far; nothing was checked")
    if config.mode == "paper":
        if sim_url is None:
            raise ValueError("paper mode needs the simulator's URL")
        hosts, base = simulator(sim_url), sim_url
    else:
        hosts = config.venue_hosts(ex)
        base = hosts.rest_url if ex.rest_url else None
    key, secret = config.api_keys(ex=ex)
    if ex.name == "bybit":
        from venues.bybit.gateway import build_client
    else:
        from venues.binance.gateway import build_client
    client = build_client(venue=hosts.venue, base_url=base, api_key=key, secret=secret,
                          timeout_ms=ex.request_timeout_ms)
    return Target(hosts, client, int(client.options.get("recvWindow", 5000)), ex.name,
                  ex.account, tuple(config.protection.symbols))


def report(target: Target, findings: list[Finding], as_json: bool) -> str:
    """The text (or JSON) `posguard check` prints."""
    ok = all(f.status == "ok" for f in findings)
    h = target.hosts
    if as_json:
        return json.dumps({"ok": ok, "account": target.account, "exchange": target.exchange,
                           "venue": h.venue, "rest_url": h.rest_url,
                           "stream_base": h.stream_base, "orders_placed": 0,
                           "checks": [asdict(f) for f in findings]})
    lines = [f"{target.exchange} venue {h.venue}: REST {h.rest_url}, streams {h.stream_base}"]
    for f in findings:
        line = f"{f.status:<7} {f.name}: {f.detail}"
        lines.append(line + (f"\n        -> {f.remedy}" if f.remedy else ""))
    failed = [f.name for f in findings if f.status != "ok"]
    lines.append("posguard check: all checks passed; no order was placed" if ok else
                 f"posguard check: FAILED ({', '.join(failed)}); no order was placed")
    return "\n".join(lines)
